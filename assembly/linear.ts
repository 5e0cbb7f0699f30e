// Fully connected: y [n, o] = bias + x [n, k] · Wᵀ. W is packed once as B panels of 8 output
// features ([8 biases][k x 8]), so a GEMM row of C is a row of y.
import { EDGE_BYTES, gemmTile, madd, MR, NR, panelFloats, reluInPlace, shareBegin, ZEROS } from './gemm';

/** Floats packRows writes for n rows of k. */
export function packedRowsFloats(n: i32, k: i32): i32 {
  return ((n + MR - 1) / MR) * MR * k;
}

/** Packs x [n, k] into ceil(n / MR) A panels [k x MR] at dst (no bias head), zero rows past n. */
export function packRows(x: usize, dst: usize, n: i32, k: i32): void {
  for (let r0 = 0; r0 < n; r0 += MR) {
    for (let r = 0; r < MR; r++) {
      const row = x + (<usize>(r0 + r) * k << 2);
      for (let i = 0; i < k; i++) store<f32>(dst + ((<usize>i * MR + r) << 2), r0 + r < n ? load<f32>(row + (<usize>i << 2)) : 0);
    }
    dst += <usize>MR * k << 2;
  }
}

/**
 * A batch through the GEMM: x packed by packRows; the ceil(o/8) feature panels are split into
 * `parts` shares, and each thread uses the part-th EDGE_BYTES block of edges.
 */
export function linearGemm(xPacked: usize, packed: usize, y: usize, edges: usize, n: i32, k: i32, o: i32, relu: bool, part: i32, parts: i32): void {
  const panels = (o + NR - 1) / NR;
  const edge = edges + <usize>part * EDGE_BYTES;
  const end = shareBegin(panels, part + 1, parts);
  for (let f = shareBegin(panels, part, parts); f < end; f++) {
    const b = packed + (<usize>f * panelFloats(NR, k) << 2); // [8 biases][k x 8]
    const cols = min(NR, o - f * NR);
    for (let r0 = 0; r0 < n; r0 += MR) {
      gemmTile(xPacked + (<usize>r0 * k << 2), b + (<usize>NR << 2), k, y + ((<usize>r0 * o + f * NR) << 2), o, min(MR, n - r0), cols, ZEROS, b, relu, edge);
    }
  }
}

/**
 * One sample (x [k]) through the weights, streaming each feature panel once. At batch 1 an FC layer
 * is bound by memory bandwidth (fc6 alone is 151 MB), so this reads the panels front to back and
 * keeps two independent accumulator pairs to hide the multiply-add latency.
 */
export function linearGemv(x: usize, packed: usize, y: usize, edges: usize, k: i32, o: i32, relu: bool, part: i32, parts: i32): void {
  const panels = (o + NR - 1) / NR;
  const edge = edges + <usize>part * EDGE_BYTES;
  const end = shareBegin(panels, part + 1, parts);
  for (let f = shareBegin(panels, part, parts); f < end; f++) {
    let b = packed + (<usize>f * panelFloats(NR, k) << 2);
    let lo0 = v128.load(b);
    let hi0 = v128.load(b, 16);
    let lo1 = f32x4.splat(0);
    let hi1 = f32x4.splat(0);
    b += 32;
    let i = 0;
    for (; i + 1 < k; i += 2) {
      const x0 = v128.load32_splat(x + (<usize>i << 2));
      const x1 = v128.load32_splat(x + (<usize>i << 2), 4);
      lo0 = madd(x0, v128.load(b), lo0);
      hi0 = madd(x0, v128.load(b, 16), hi0);
      lo1 = madd(x1, v128.load(b, 32), lo1);
      hi1 = madd(x1, v128.load(b, 48), hi1);
      b += 64;
    }
    if (i < k) {
      const x0 = v128.load32_splat(x + (<usize>i << 2));
      lo0 = madd(x0, v128.load(b), lo0);
      hi0 = madd(x0, v128.load(b, 16), hi0);
    }
    const out = y + (<usize>f * NR << 2);
    const cols = min(NR, o - f * NR);
    v128.store(edge, f32x4.add(lo0, lo1));
    v128.store(edge, f32x4.add(hi0, hi1), 16);
    memory.copy(out, edge, <usize>cols << 2);
    if (relu) reluInPlace(out, cols);
  }
}
