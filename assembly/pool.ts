// Pooling over every map of [maps, h, w] -> [maps, oh, ow]. Max-pool reads windows that lie inside
// the maps (the host pads them with -∞ first when the op has padding or ceil mode); the average
// pool clips each window itself.
import { shareBegin } from './gemm';

/**
 * Largest value of each kh x kw window moved by (sh, sw); the maps are split into shares. Per output
 * row, the column maxima over the window's rows are taken first, four columns per vector op, into
 * this thread's `w`-float part of `rows`; then each output takes the max of `kw` of them, four
 * outputs per vector op. (WASM's max is NaN-propagating like the reference's Math.max, and costs a
 * few instructions in V8 even when scalar: so scalar max is what to avoid.)
 */
export function maxpool(x: usize, y: usize, rows: usize, maps: i32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, oh: i32, ow: i32, part: i32, parts: i32): void {
  const colMax = rows + (<usize>part * w << 2);
  const end = shareBegin(maps, part + 1, parts);
  for (let m = shareBegin(maps, part, parts); m < end; m++) {
    const xm = x + (<usize>m * h * w << 2);
    let out = y + (<usize>m * oh * ow << 2);
    for (let oy = 0; oy < oh; oy++) {
      const top = xm + (<usize>oy * sh * w << 2);
      let i = 0;
      for (; i + 4 <= w; i += 4) {
        let v = v128.load(top + (<usize>i << 2));
        for (let ky = 1; ky < kh; ky++) v = f32x4.max(v, v128.load(top + ((<usize>ky * w + i) << 2)));
        v128.store(colMax + (<usize>i << 2), v);
      }
      for (; i < w; i++) {
        let v = load<f32>(top + (<usize>i << 2));
        for (let ky = 1; ky < kh; ky++) v = max(v, load<f32>(top + ((<usize>ky * w + i) << 2)));
        store<f32>(colMax + (<usize>i << 2), v);
      }
      let ox = 0;
      for (; ox + 4 <= ow; ox += 4) {
        // four outputs at once: gather each window position's four column maxima into one vector
        const at = colMax + (<usize>ox * sw << 2);
        const s4 = <usize>sw << 2;
        let best = f32x4.splat(0);
        for (let kx = 0; kx < kw; kx++) {
          const p = at + (<usize>kx << 2);
          let v = f32x4.splat(load<f32>(p));
          v = f32x4.replace_lane(v, 1, load<f32>(p + s4));
          v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * s4));
          v = f32x4.replace_lane(v, 3, load<f32>(p + 3 * s4));
          best = kx == 0 ? v : f32x4.max(best, v);
        }
        v128.store(out, best);
        out += 16;
      }
      for (; ox < ow; ox++) {
        const at = colMax + (<usize>ox * sw << 2);
        let best = load<f32>(at);
        for (let kx = 1; kx < kw; kx++) best = max(best, load<f32>(at + (<usize>kx << 2)));
        store<f32>(out, best);
        out += 4;
      }
    }
  }
}

/**
 * Mean of each window, in float64: windows [o·stride − before, + kernel) clipped to the map, divided
 * by their input count, or with `countIncludePad` by their size within the padded map (PyTorch's
 * rule); or, when adaptive, PyTorch's bins [floor(o·in/out), ceil((o+1)·in/out)).
 */
export function avgpool(
  x: usize, y: usize, maps: i32, h: i32, w: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, top: i32, left: i32, bottom: i32, right: i32, countIncludePad: bool, adaptive: bool,
  part: i32, parts: i32,
): void {
  const end = shareBegin(maps, part + 1, parts);
  for (let m = shareBegin(maps, part, parts); m < end; m++) {
    const xm = x + (<usize>m * h * w << 2);
    let out = y + (<usize>m * oh * ow << 2);
    for (let oy = 0; oy < oh; oy++) {
      const a0 = adaptive ? (oy * h) / oh : oy * sh - top;
      const a1 = adaptive ? ((oy + 1) * h + oh - 1) / oh : min(a0 + kh, h + bottom);
      const y0 = max(a0, 0);
      const y1 = min(a1, h);
      for (let ox = 0; ox < ow; ox++) {
        const b0 = adaptive ? (ox * w) / ow : ox * sw - left;
        const b1 = adaptive ? ((ox + 1) * w + ow - 1) / ow : min(b0 + kw, w + right);
        const x0 = max(b0, 0);
        const x1 = min(b1, w);
        let sum: f64 = 0;
        for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) sum += <f64>load<f32>(xm + ((<usize>iy * w + ix) << 2));
        const count = countIncludePad ? (a1 - a0) * (b1 - b0) : (y1 - y0) * (x1 - x0);
        store<f32>(out, <f32>(sum / <f64>count));
        out += 4;
      }
    }
  }
}
