// The GEMM ladder of the benchmark (bench/gemm-ladder.ts): C[m x n] = A[m x k] · B[k x n], row-major,
// three ways, each a step up from the last, plus a probe of this engine's multiply-add ceiling.
// Built separately from the kernels (build/ladder.<build>.wasm); the packed rung drives the very
// micro-kernels the conv uses.
import { madd, micro4x8, micro6x8, MR, NR, ZEROS } from './gemm';

/** Rung 1: the textbook triple loop, one scalar multiply-add at a time, B walked down its columns. */
export function gemmNaive(a: usize, b: usize, c: usize, m: i32, n: i32, k: i32): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc: f32 = 0;
      for (let p = 0; p < k; p++) acc += load<f32>(a + ((<usize>i * k + p) << 2)) * load<f32>(b + ((<usize>p * n + j) << 2));
      store<f32>(c + ((<usize>i * n + j) << 2), acc);
    }
  }
}

/**
 * Rung 2: loops reordered (i, p, j) so B and C are read along rows, vectorised over 4 columns of C,
 * and blocked over k so a block of B rows stays in cache for every row of A. No packing.
 */
export function gemmBlocked(a: usize, b: usize, c: usize, m: i32, n: i32, k: i32): void {
  const KB = 128;
  memory.fill(c, 0, <usize>m * n << 2);
  for (let p0 = 0; p0 < k; p0 += KB) {
    const p1 = min(k, p0 + KB);
    for (let i = 0; i < m; i++) {
      const crow = c + (<usize>i * n << 2);
      for (let p = p0; p < p1; p++) {
        const av = v128.load32_splat(a + ((<usize>i * k + p) << 2));
        const brow = b + (<usize>p * n << 2);
        let j = 0;
        for (; j + 4 <= n; j += 4) v128.store(crow + (<usize>j << 2), madd(av, v128.load(brow + (<usize>j << 2)), v128.load(crow + (<usize>j << 2))));
        const as = f32x4.extract_lane(av, 0);
        for (; j < n; j++) store<f32>(crow + (<usize>j << 2), load<f32>(crow + (<usize>j << 2)) + as * load<f32>(brow + (<usize>j << 2)));
      }
    }
  }
}

/** Floats packA / packB write for these sizes (panels padded to MR rows and NR columns). */
export function packedAFloats(m: i32, k: i32): i32 {
  return ((m + MR - 1) / MR) * MR * k;
}
export function packedBFloats(k: i32, n: i32): i32 {
  return ((n + NR - 1) / NR) * NR * k;
}

/** A (row-major) into MR-row panels [k x MR], zero rows past m. */
export function packA(a: usize, dst: usize, m: i32, k: i32): void {
  for (let i0 = 0; i0 < m; i0 += MR) {
    for (let p = 0; p < k; p++) {
      for (let r = 0; r < MR; r++) store<f32>(dst + ((<usize>p * MR + r) << 2), i0 + r < m ? load<f32>(a + ((<usize>(i0 + r) * k + p) << 2)) : 0);
    }
    dst += <usize>MR * k << 2;
  }
}

/** B (row-major) into 8-column panels [k x 8], zero columns past n. */
export function packB(b: usize, dst: usize, k: i32, n: i32): void {
  for (let j0 = 0; j0 < n; j0 += NR) {
    for (let p = 0; p < k; p++) {
      for (let j = 0; j < NR; j++) store<f32>(dst + ((<usize>p * NR + j) << 2), j0 + j < n ? load<f32>(b + ((<usize>p * n + j0 + j) << 2)) : 0);
    }
    dst += <usize>NR * k << 2;
  }
}

/**
 * Rung 3: both operands packed (A once, as weights are at load; B per call, as im2col does), then
 * the register-blocked micro-kernel over every MR x 8 tile. `edge` is an MR x 8 float buffer for
 * the partial tiles at the borders; c's rows are n floats apart.
 */
export function gemmPacked(aPacked: usize, bPacked: usize, c: usize, m: i32, n: i32, k: i32, edge: usize): void {
  for (let j0 = 0; j0 < n; j0 += NR) {
    const b = bPacked + (<usize>j0 * k << 2);
    const cols = min(NR, n - j0);
    for (let i0 = 0; i0 < m; i0 += MR) {
      const a = aPacked + (<usize>i0 * k << 2);
      const rows = min(MR, m - i0);
      const whole = rows == MR && cols == NR;
      const target = whole ? c + ((<usize>i0 * n + j0) << 2) : edge;
      if (ASC_FEATURE_RELAXED_SIMD) micro6x8(a, b, k, target, whole ? n : NR, ZEROS, ZEROS);
      else micro4x8(a, b, k, target, whole ? n : NR, ZEROS, ZEROS);
      if (!whole) for (let r = 0; r < rows; r++) memory.copy(c + ((<usize>(i0 + r) * n + j0) << 2), edge + (<usize>r * NR << 2), <usize>cols << 2);
    }
  }
}

/**
 * The ceiling: `iters` rounds of 12 independent vector multiply-adds on registers only (no memory),
 * enough chains to cover the multiply-add latency. Returns a value so the work is not optimised away.
 */
export function peak(iters: i32): f32 {
  const m = f32x4.splat(0.999);
  const d = f32x4.splat(0.001);
  let x0 = f32x4.splat(1), x1 = f32x4.splat(2), x2 = f32x4.splat(3), x3 = f32x4.splat(4);
  let x4 = f32x4.splat(5), x5 = f32x4.splat(6), x6 = f32x4.splat(7), x7 = f32x4.splat(8);
  let x8 = f32x4.splat(9), x9 = f32x4.splat(10), x10 = f32x4.splat(11), x11 = f32x4.splat(12);
  for (let i = 0; i < iters; i++) {
    x0 = madd(x0, m, d);
    x1 = madd(x1, m, d);
    x2 = madd(x2, m, d);
    x3 = madd(x3, m, d);
    x4 = madd(x4, m, d);
    x5 = madd(x5, m, d);
    x6 = madd(x6, m, d);
    x7 = madd(x7, m, d);
    x8 = madd(x8, m, d);
    x9 = madd(x9, m, d);
    x10 = madd(x10, m, d);
    x11 = madd(x11, m, d);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(x0, x1), f32x4.add(x2, x3)), f32x4.add(f32x4.add(x4, x5), f32x4.add(x6, x7)));
  return f32x4.extract_lane(f32x4.add(s, f32x4.add(f32x4.add(x8, x9), f32x4.add(x10, x11))), 0);
}

/** Flops per peak() round: 12 vectors x 4 lanes x 2 (a multiply and an add). */
export function peakFlopsPerIter(): i32 {
  return 96;
}

/**
 * Memory bandwidth, the other roof: `bytes` (a multiple of 64) read as vectors and summed, four
 * independent sums so the adds do not serialise. Returns a lane so the loads are not optimised away.
 */
export function streamRead(src: usize, bytes: usize): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  for (let at = src; at < src + bytes; at += 64) {
    s0 = f32x4.add(s0, v128.load(at));
    s1 = f32x4.add(s1, v128.load(at, 16));
    s2 = f32x4.add(s2, v128.load(at, 32));
    s3 = f32x4.add(s3, v128.load(at, 48));
  }
  return f32x4.extract_lane(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)), 0);
}

/** `bytes` (a multiple of 64) copied with vector loads and stores: read and write traffic. */
export function streamCopy(src: usize, dst: usize, bytes: usize): void {
  for (let at: usize = 0; at < bytes; at += 64) {
    v128.store(dst + at, v128.load(src + at));
    v128.store(dst + at, v128.load(src + at, 16), 16);
    v128.store(dst + at, v128.load(src + at, 32), 32);
    v128.store(dst + at, v128.load(src + at, 48), 48);
  }
}

export { micro4x8, micro6x8 } from './gemm';
export { abiVersion, heapBase, panelRows } from './index';
