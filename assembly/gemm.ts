// The GEMM at the heart of conv and FC: C[rows x cols] = bias + A · B, one operand a weight matrix
// packed once at load, the other packed per call from the activations.
//
// A panel: MR rows of A stored k-major ([K x MR]); B panel: 8 columns of B stored k-major
// ([K x 8]); both padded with zeros. A weight panel starts with its biases: conv packs its weights
// as A panels (bias per row = output channel), FC as B panels (bias per column = output feature),
// so C is laid out as the output tensor wants in both cases and no transpose is ever needed.
//
// The micro-kernel keeps an MR x 8 tile of C in 2·MR f32x4 registers: per k it loads 8 B values
// (two vectors), broadcasts each of the MR A values, and does 2·MR multiply-adds. MR = 4 fits the
// 16 vector registers x64 engines give WASM with a separate multiply and add; with relaxed SIMD's
// fused multiply-add there is room for MR = 6 (52 vs 45 GFLOP/s here). V8 keeps the accumulators
// in registers only while the kernel stays this plain: any extra use of them after the loop (a
// ReLU, a partial store) makes it spill inside the loop and halves the speed. So the kernels only
// compute and store whole tiles; gemmTile does edges and ReLU around them, and they are exported
// so that Binaryen never inlines them into a bigger function.
// Every output is the same sum in the same order whichever thread computes it, so results do not
// depend on the thread count.

export const NR: i32 = 8;
/** Rows per A panel in this build. */
export const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 4;

/** Bytes of each thread's small buffer: a partial MR x 8 tile, or 6 x 6 vectors of Winograd temporaries. */
export const EDGE_BYTES: usize = 1024;

/** 8 zero floats: the bias of an operand that has none. */
export const ZEROS: usize = memory.data(32, 16);

/** acc + a·b, fused in relaxed builds. */
@inline
export function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(f32x4.mul(a, b), acc);
}

/** Floats in one packed weight panel of `mr` rows over `k` columns (biases first). */
@inline
export function panelFloats(mr: i32, k: i32): i32 {
  return mr * (k + 1);
}

/** C[4 x 8] at c (row stride ldc floats) = rowBias[r] + colBias[j] + Σ_k A[k][r] · B[k][j]. */
export function micro4x8(a: usize, b: usize, k: i32, c: usize, ldc: i32, rowBias: usize, colBias: usize): void {
  const lo = v128.load(colBias);
  const hi = v128.load(colBias, 16);
  let r = v128.load32_splat(rowBias);
  let c00 = f32x4.add(r, lo), c01 = f32x4.add(r, hi);
  r = v128.load32_splat(rowBias, 4);
  let c10 = f32x4.add(r, lo), c11 = f32x4.add(r, hi);
  r = v128.load32_splat(rowBias, 8);
  let c20 = f32x4.add(r, lo), c21 = f32x4.add(r, hi);
  r = v128.load32_splat(rowBias, 12);
  let c30 = f32x4.add(r, lo), c31 = f32x4.add(r, hi);
  for (let i = 0; i < k; i++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let w = v128.load32_splat(a);
    c00 = madd(w, b0, c00);
    c01 = madd(w, b1, c01);
    w = v128.load32_splat(a, 4);
    c10 = madd(w, b0, c10);
    c11 = madd(w, b1, c11);
    w = v128.load32_splat(a, 8);
    c20 = madd(w, b0, c20);
    c21 = madd(w, b1, c21);
    w = v128.load32_splat(a, 12);
    c30 = madd(w, b0, c30);
    c31 = madd(w, b1, c31);
    a += 16;
    b += 32;
  }
  const step = <usize>ldc << 2;
  v128.store(c, c00);
  v128.store(c, c01, 16);
  c += step;
  v128.store(c, c10);
  v128.store(c, c11, 16);
  c += step;
  v128.store(c, c20);
  v128.store(c, c21, 16);
  c += step;
  v128.store(c, c30);
  v128.store(c, c31, 16);
}

/** As micro4x8 with 6 rows (relaxed-SIMD builds: 12 accumulators fit only with fused madd). */
export function micro6x8(a: usize, b: usize, k: i32, c: usize, ldc: i32, rowBias: usize, colBias: usize): void {
  const lo = v128.load(colBias);
  const hi = v128.load(colBias, 16);
  let r = v128.load32_splat(rowBias);
  let c00 = f32x4.add(r, lo), c01 = f32x4.add(r, hi);
  r = v128.load32_splat(rowBias, 4);
  let c10 = f32x4.add(r, lo), c11 = f32x4.add(r, hi);
  r = v128.load32_splat(rowBias, 8);
  let c20 = f32x4.add(r, lo), c21 = f32x4.add(r, hi);
  r = v128.load32_splat(rowBias, 12);
  let c30 = f32x4.add(r, lo), c31 = f32x4.add(r, hi);
  r = v128.load32_splat(rowBias, 16);
  let c40 = f32x4.add(r, lo), c41 = f32x4.add(r, hi);
  r = v128.load32_splat(rowBias, 20);
  let c50 = f32x4.add(r, lo), c51 = f32x4.add(r, hi);
  for (let i = 0; i < k; i++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let w = v128.load32_splat(a);
    c00 = madd(w, b0, c00);
    c01 = madd(w, b1, c01);
    w = v128.load32_splat(a, 4);
    c10 = madd(w, b0, c10);
    c11 = madd(w, b1, c11);
    w = v128.load32_splat(a, 8);
    c20 = madd(w, b0, c20);
    c21 = madd(w, b1, c21);
    w = v128.load32_splat(a, 12);
    c30 = madd(w, b0, c30);
    c31 = madd(w, b1, c31);
    w = v128.load32_splat(a, 16);
    c40 = madd(w, b0, c40);
    c41 = madd(w, b1, c41);
    w = v128.load32_splat(a, 20);
    c50 = madd(w, b0, c50);
    c51 = madd(w, b1, c51);
    a += 24;
    b += 32;
  }
  const step = <usize>ldc << 2;
  v128.store(c, c00);
  v128.store(c, c01, 16);
  c += step;
  v128.store(c, c10);
  v128.store(c, c11, 16);
  c += step;
  v128.store(c, c20);
  v128.store(c, c21, 16);
  c += step;
  v128.store(c, c30);
  v128.store(c, c31, 16);
  c += step;
  v128.store(c, c40);
  v128.store(c, c41, 16);
  c += step;
  v128.store(c, c50);
  v128.store(c, c51, 16);
}

/** y = max(0, y) over `count` floats, NaN -> 0 like the reference (pmax, not max, which keeps NaN). */
export function reluInPlace(y: usize, count: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(y + (<usize>i << 2), f32x4.pmax(zero, v128.load(y + (<usize>i << 2))));
  for (; i < count; i++) {
    const v = load<f32>(y + (<usize>i << 2));
    store<f32>(y + (<usize>i << 2), v > 0 ? v : 0);
  }
}

/**
 * C[rows <= MR][cols <= 8] at c (row stride ldc) = rowBias + colBias + A panel a · B panel b over k,
 * ReLU applied when asked. A partial tile is computed whole into `edge` (MR x 8 floats of this
 * worker's scratch) and its valid part copied out.
 */
export function gemmTile(a: usize, b: usize, k: i32, c: usize, ldc: i32, rows: i32, cols: i32, rowBias: usize, colBias: usize, relu: bool, edge: usize): void {
  const whole = rows == MR && cols == NR;
  const target = whole ? c : edge;
  const stride = whole ? ldc : NR;
  if (ASC_FEATURE_RELAXED_SIMD) micro6x8(a, b, k, target, stride, rowBias, colBias);
  else micro4x8(a, b, k, target, stride, rowBias, colBias);
  for (let r = 0; r < rows; r++) {
    const row = c + (<usize>r * ldc << 2);
    if (!whole) memory.copy(row, edge + (<usize>r * NR << 2), <usize>cols << 2);
    if (relu) reluInPlace(row, cols);
  }
}

/** This worker's share [begin, end) of `units` split into `parts` contiguous, near-equal ranges. */
@inline
export function shareBegin(units: i32, part: i32, parts: i32): i32 {
  return <i32>((<i64>units * part) / parts);
}
