// Pooling over every map of [maps, h, w] -> [maps, oh, ow], no padding. Small next to the convs
// (pool1 is 0.6 M comparisons per image), so plain scalar loops.
import { shareBegin } from './gemm';

/** Largest value of each kernel x kernel window moved by stride; the maps are split into shares. */
export function maxpool(x: usize, y: usize, maps: i32, h: i32, w: i32, kernel: i32, stride: i32, oh: i32, ow: i32, part: i32, parts: i32): void {
  const end = shareBegin(maps, part + 1, parts);
  for (let m = shareBegin(maps, part, parts); m < end; m++) {
    const xm = x + (<usize>m * h * w << 2);
    let out = y + (<usize>m * oh * ow << 2);
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let best = load<f32>(xm + ((<usize>oy * stride * w + ox * stride) << 2));
        for (let ky = 0; ky < kernel; ky++) {
          const row = xm + ((<usize>(oy * stride + ky) * w + ox * stride) << 2);
          for (let kx = 0; kx < kernel; kx++) best = max(best, load<f32>(row + (<usize>kx << 2)));
        }
        store<f32>(out, best);
        out += 4;
      }
    }
  }
}

/**
 * Mean of each window, in float64. Fixed windows [o·stride, o·stride + kernel) or, when adaptive,
 * PyTorch's bins [floor(o·in/out), ceil((o+1)·in/out)).
 */
export function avgpool(x: usize, y: usize, maps: i32, h: i32, w: i32, oh: i32, ow: i32, kernel: i32, stride: i32, adaptive: bool, part: i32, parts: i32): void {
  const end = shareBegin(maps, part + 1, parts);
  for (let m = shareBegin(maps, part, parts); m < end; m++) {
    const xm = x + (<usize>m * h * w << 2);
    let out = y + (<usize>m * oh * ow << 2);
    for (let oy = 0; oy < oh; oy++) {
      const y0 = adaptive ? (oy * h) / oh : oy * stride;
      const y1 = adaptive ? ((oy + 1) * h + oh - 1) / oh : y0 + kernel;
      for (let ox = 0; ox < ow; ox++) {
        const x0 = adaptive ? (ox * w) / ow : ox * stride;
        const x1 = adaptive ? ((ox + 1) * w + ow - 1) / ow : x0 + kernel;
        let sum: f64 = 0;
        for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) sum += <f64>load<f32>(xm + ((<usize>iy * w + ix) << 2));
        store<f32>(out, <f32>(sum / <f64>((y1 - y0) * (x1 - x0))));
        out += 4;
      }
    }
  }
}
