// What training adds to the kernels: a general GEMM (either operand transposed, overwrite or
// accumulate) on the same micro-kernels, and im2col / col2im, so a convolution's forward and both
// of its gradients are GEMMs: Y = W·col, dW = dY·colᵀ, dcol = Wᵀ·dY then col2im. Each kernel
// takes its share (part of parts) of the work; packing and tiles are separate calls.
import { EDGE_BYTES, micro4x8, micro6x8, MR, NR, shareBegin, ZEROS } from './gemm';
import { rsqrt34 } from './lrn';

/** Floats sgemmPack writes: the packed copies of A and B. */
export function sgemmPackFloats(m: i32, n: i32, k: i32): i32 {
  return ((m + MR - 1) / MR) * MR * k + ((n + NR - 1) / NR) * NR * k;
}

/**
 * Rows of a rows x k matrix M into panels of `width` rows stored k-major ([k x width]), zero rows
 * past the end; M[i][p] is at p·rows + i when `transposed`, else at i·k + p. A share of the panels.
 */
function packPanels(src: usize, dst: usize, rows: i32, k: i32, width: i32, transposed: bool, part: i32, parts: i32): void {
  const panels = (rows + width - 1) / width;
  for (let panel = shareBegin(panels, part, parts); panel < shareBegin(panels, part + 1, parts); panel++) {
    const i0 = panel * width;
    const out = dst + (<usize>i0 * k << 2);
    for (let p = 0; p < k; p++) {
      for (let r = 0; r < width; r++) {
        const i = i0 + r;
        const v: f32 = i < rows ? load<f32>(src + ((transposed ? <usize>p * rows + i : <usize>i * k + p) << 2)) : 0;
        store<f32>(out + ((<usize>p * width + r) << 2), v);
      }
    }
  }
}

/**
 * For C[m x n] = A·B: A (m x k, or k x m when transA) into MR-row panels and B (k x n, or n x k when
 * transB) into 8-column panels, both [k x panel width], into `pack`. B's column panels are row
 * panels of Bᵀ, whose layout is B's with the transposition flipped.
 */
export function sgemmPack(a: usize, b: usize, m: i32, n: i32, k: i32, transA: bool, transB: bool, pack: usize, part: i32, parts: i32): void {
  packPanels(a, pack, m, k, MR, transA, part, parts);
  packPanels(b, pack + (<usize>(((m + MR - 1) / MR) * MR * k) << 2), n, k, NR, !transB, part, parts);
}

/**
 * C = A·B (or C += A·B when `accumulate`) from sgemmPack's panels; this thread's share of the
 * 8-column panels, with its own MR x 8 `edge` tile at edges + part·EDGE_BYTES.
 */
export function sgemmTiles(c: usize, m: i32, n: i32, k: i32, accumulate: bool, pack: usize, edges: usize, part: i32, parts: i32): void {
  const packedB = pack + (<usize>(((m + MR - 1) / MR) * MR * k) << 2);
  const edge = edges + <usize>part * EDGE_BYTES;
  const panels = (n + NR - 1) / NR;
  const last = shareBegin(panels, part + 1, parts);
  for (let panel = shareBegin(panels, part, parts); panel < last; panel++) {
    const j0 = panel * NR;
    const pb = packedB + (<usize>j0 * k << 2);
    const cols = min(NR, n - j0);
    for (let i0 = 0; i0 < m; i0 += MR) {
      const pa = pack + (<usize>i0 * k << 2);
      const rows = min(MR, m - i0);
      const direct = !accumulate && rows == MR && cols == NR;
      const target = direct ? c + ((<usize>i0 * n + j0) << 2) : edge;
      if (ASC_FEATURE_RELAXED_SIMD) micro6x8(pa, pb, k, target, direct ? n : NR, ZEROS, ZEROS);
      else micro4x8(pa, pb, k, target, direct ? n : NR, ZEROS, ZEROS);
      if (direct) continue;
      for (let r = 0; r < rows; r++) {
        const row = c + ((<usize>(i0 + r) * n + j0) << 2);
        const tile = edge + (<usize>r * NR << 2);
        for (let t = 0; t < cols; t++) {
          const at = row + (<usize>t << 2);
          store<f32>(at, (accumulate ? load<f32>(at) : 0) + load<f32>(tile + (<usize>t << 2)));
        }
      }
    }
  }
}

/** im2col of group maps c0 .. c0+cg of every image of x [n, channels, h, w], image i at column i·oh·ow; a share of the images. */
export function im2colImages(x: usize, col: usize, n: i32, channels: i32, c0: i32, cg: i32, h: i32, w: i32, k: i32, s: i32, p: i32, oh: i32, ow: i32, part: i32, parts: i32): void {
  const last = shareBegin(n, part + 1, parts);
  for (let i = shareBegin(n, part, parts); i < last; i++) {
    im2col(x + (<usize>((i * channels + c0) * h * w) << 2), col + (<usize>(i * oh * ow) << 2), cg, h, w, k, s, p, oh, ow, n * oh * ow);
  }
}

/** col2im of every image's columns into its group maps (images are disjoint, so shares never collide). */
export function col2imImages(col: usize, x: usize, n: i32, channels: i32, c0: i32, cg: i32, h: i32, w: i32, k: i32, s: i32, p: i32, oh: i32, ow: i32, part: i32, parts: i32): void {
  const last = shareBegin(n, part + 1, parts);
  for (let i = shareBegin(n, part, parts); i < last; i++) {
    col2im(col + (<usize>(i * oh * ow) << 2), x + (<usize>((i * channels + c0) * h * w) << 2), cg, h, w, k, s, p, oh, ow, n * oh * ow);
  }
}

/**
 * One image's maps x [c, h, w] to columns: row (ci·k + ky)·k + kx, column oy·ow + ox holds the input
 * under that kernel tap for that output (0 in the padding); rows are `ld` floats apart.
 */
function im2col(x: usize, col: usize, c: i32, h: i32, w: i32, k: i32, s: i32, p: i32, oh: i32, ow: i32, ld: i32): void {
  for (let ci = 0; ci < c; ci++) {
    for (let ky = 0; ky < k; ky++) {
      for (let kx = 0; kx < k; kx++) {
        const row = col + (<usize>((ci * k + ky) * k + kx) * ld << 2);
        for (let oy = 0; oy < oh; oy++) {
          const iy = oy * s - p + ky;
          const out = row + (<usize>(oy * ow) << 2);
          if (iy < 0 || iy >= h) {
            memory.fill(out, 0, <usize>ow << 2);
            continue;
          }
          const src = x + (<usize>((ci * h + iy) * w) << 2);
          for (let ox = 0; ox < ow; ox++) {
            const ix = ox * s - p + kx;
            store<f32>(out + (<usize>ox << 2), ix >= 0 && ix < w ? load<f32>(src + (<usize>ix << 2)) : 0);
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: every column entry added back to the input it was read from. */
function col2im(col: usize, x: usize, c: i32, h: i32, w: i32, k: i32, s: i32, p: i32, oh: i32, ow: i32, ld: i32): void {
  for (let ci = 0; ci < c; ci++) {
    for (let ky = 0; ky < k; ky++) {
      for (let kx = 0; kx < k; kx++) {
        const row = col + (<usize>((ci * k + ky) * k + kx) * ld << 2);
        for (let oy = 0; oy < oh; oy++) {
          const iy = oy * s - p + ky;
          if (iy < 0 || iy >= h) continue;
          const dst = x + (<usize>((ci * h + iy) * w) << 2);
          const src = row + (<usize>(oy * ow) << 2);
          for (let ox = 0; ox < ow; ox++) {
            const ix = ox * s - p + kx;
            if (ix >= 0 && ix < w) store<f32>(dst + (<usize>ix << 2), load<f32>(dst + (<usize>ix << 2)) + load<f32>(src + (<usize>ox << 2)));
          }
        }
      }
    }
  }
}

/**
 * LRN's input gradient, x, dy, dx [n, c, hw], with `t` scratch of n·c·hw floats. With
 * D_c = k + s Σ_{j∈W(c)} x_j², y_c = x_c D_c^-β and symmetric windows:
 * dx_j = dy_j D_j^-β − 2sβ x_j Σ_{c∈W(j)} t_c, t_c = dy_c x_c D_c^(-β-1).
 * Pass 1 writes D^-β into dx and t; pass 2 finishes dx; a share of the images. Four pixels at a
 * time (the powers as square roots when β = 0.75, as the forward), the remainder one by one.
 */
export function lrnBackward(x: usize, dy: usize, dx: usize, t: usize, n: i32, c: i32, hw: i32, size: i32, scale: f32, beta: f32, k: f32, groups: i32, part: i32, parts: i32): void {
  const half = size >> 1;
  const perGroup = c / groups;
  const fast = beta == 0.75;
  const coef: f32 = 2 * scale * beta;
  const vk = f32x4.splat(k);
  const vscale = f32x4.splat(scale);
  const vcoef = f32x4.splat(coef);
  for (let image = shareBegin(n, part, parts); image < shareBegin(n, part + 1, parts); image++) {
    const base = <usize>image * c * hw;
    // pass 1: dx holds D^-β for now, t = dy·x·D^(-β-1); four pixels at a time, then the rest
    for (let ci = 0; ci < c; ci++) {
      const lo = (ci / perGroup) * perGroup;
      const first = max(lo, ci - half);
      const last = min(lo + perGroup - 1, ci + half);
      let i = 0;
      if (fast) {
        for (; i + 4 <= hw; i += 4) {
          let sum = f32x4.splat(0);
          for (let j = first; j <= last; j++) {
            const a = v128.load(x + ((base + <usize>j * hw + i) << 2));
            sum = f32x4.add(sum, f32x4.mul(a, a));
          }
          const d = f32x4.add(vk, f32x4.mul(vscale, sum));
          const p = rsqrt34(d);
          const at = (base + <usize>ci * hw + i) << 2;
          v128.store(dx + at, p);
          v128.store(t + at, f32x4.div(f32x4.mul(f32x4.mul(v128.load(dy + at), v128.load(x + at)), p), d));
        }
      }
      for (; i < hw; i++) {
        let sum: f32 = 0;
        for (let j = first; j <= last; j++) {
          const a = load<f32>(x + ((base + <usize>j * hw + i) << 2));
          sum += a * a;
        }
        const d: f32 = k + scale * sum;
        const p: f32 = fast ? <f32>1 / (Mathf.sqrt(d) * Mathf.sqrt(Mathf.sqrt(d))) : <f32>Math.pow(<f64>d, -<f64>beta);
        const at = (base + <usize>ci * hw + i) << 2;
        store<f32>(dx + at, p);
        store<f32>(t + at, (load<f32>(dy + at) * load<f32>(x + at) * p) / d);
      }
    }
    // pass 2: dx_j = dy_j·D_j^-β − 2sβ·x_j·Σ_{c∈W(j)} t_c
    for (let cj = 0; cj < c; cj++) {
      const lo = (cj / perGroup) * perGroup;
      const first = max(lo, cj - half);
      const last = min(lo + perGroup - 1, cj + half);
      let i = 0;
      for (; i + 4 <= hw; i += 4) {
        let cross = f32x4.splat(0);
        for (let ci = first; ci <= last; ci++) cross = f32x4.add(cross, v128.load(t + ((base + <usize>ci * hw + i) << 2)));
        const at = (base + <usize>cj * hw + i) << 2;
        v128.store(dx + at, f32x4.sub(f32x4.mul(v128.load(dy + at), v128.load(dx + at)), f32x4.mul(f32x4.mul(vcoef, v128.load(x + at)), cross)));
      }
      for (; i < hw; i++) {
        let cross: f32 = 0;
        for (let ci = first; ci <= last; ci++) cross += load<f32>(t + ((base + <usize>ci * hw + i) << 2));
        const at = (base + <usize>cj * hw + i) << 2;
        store<f32>(dx + at, load<f32>(dy + at) * load<f32>(dx + at) - coef * load<f32>(x + at) * cross);
      }
    }
  }
}

/**
 * Max-pool's input gradient: each output's gradient added to its window's first maximum (row-major,
 * as the forward's scan); dx [maps, h, w] must start zeroed. Maps are independent: a share of them.
 */
export function maxpoolBackward(x: usize, dy: usize, dx: usize, maps: i32, h: i32, w: i32, kernel: i32, stride: i32, oh: i32, ow: i32, part: i32, parts: i32): void {
  for (let m = shareBegin(maps, part, parts); m < shareBegin(maps, part + 1, parts); m++) {
    const xm = x + (<usize>m * h * w << 2);
    const dxm = dx + (<usize>m * h * w << 2);
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let best = oy * stride * w + ox * stride;
        let top = load<f32>(xm + (<usize>best << 2));
        for (let iy = oy * stride; iy < oy * stride + kernel; iy++) {
          for (let ix = ox * stride; ix < ox * stride + kernel; ix++) {
            const i = iy * w + ix;
            const v = load<f32>(xm + (<usize>i << 2));
            if (v > top) {
              top = v;
              best = i;
            }
          }
        }
        const at = dxm + (<usize>best << 2);
        store<f32>(at, load<f32>(at) + load<f32>(dy + ((<usize>(m * oh + oy) * ow + ox) << 2)));
      }
    }
  }
}
