// The reference kernels: the oracle every other backend is checked against. Each is the op's
// definition written as plain loops over the output, accumulating in float64 (JS numbers) and
// rounding once to float32 on store. No im2col, no blocking, no reuse of partial results: a
// reader should be able to check each one against the formula by eye.
import type { OpOf } from '../../graph/index.js';
import type { Shape, Tensor } from '../../tensor.js';
import { sizeOf, tensor } from '../../tensor.js';

/** x [N, C, H, W], w [O, C/g, K, K], b [O] -> y [N, O, OH, OW]; y = b + Σ x·w over each group's C/g maps. */
export function conv2d(op: OpOf<'conv2d'>, x: Tensor, w: Tensor, b: Tensor, outShape: Shape): Tensor {
  const [n, c, h, wd] = x.shape;
  const [, o, oh, ow] = outShape;
  const { kernel: k, stride: s, pad: p, groups } = op;
  const cg = c / groups; // input maps per group
  const og = o / groups; // output maps per group
  const y = tensor(outShape);
  for (let ni = 0; ni < n; ni++) {
    for (let oc = 0; oc < o; oc++) {
      const c0 = Math.floor(oc / og) * cg; // first input map of this output map's group
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          let acc = 0;
          for (let ci = 0; ci < cg; ci++) {
            for (let ky = 0; ky < k; ky++) {
              const iy = oy * s - p + ky;
              if (iy < 0 || iy >= h) continue; // zero padding
              for (let kx = 0; kx < k; kx++) {
                const ix = ox * s - p + kx;
                if (ix < 0 || ix >= wd) continue;
                acc += x.data[((ni * c + c0 + ci) * h + iy) * wd + ix] * w.data[((oc * cg + ci) * k + ky) * k + kx];
              }
            }
          }
          y.data[((ni * o + oc) * oh + oy) * ow + ox] = acc + b.data[oc];
        }
      }
    }
  }
  return y;
}

/** y = max(0, x), any shape. */
export function relu(x: Tensor): Tensor {
  const y = tensor(x.shape);
  for (let i = 0; i < x.data.length; i++) y.data[i] = x.data[i] > 0 ? x.data[i] : 0;
  return y;
}

/**
 * x [N, C, H, W] -> y, same shape. y[c] = x[c] / (k + s·Σ_j x[j]²)^β, j over the channels within
 * floor(n/2) of c inside c's group; s = α/n (alphaOverSize) or α (the 2012 paper).
 */
export function lrn(op: OpOf<'lrn'>, x: Tensor): Tensor {
  const [n, c, h, w] = x.shape;
  const hw = h * w;
  const half = Math.floor(op.size / 2);
  const perGroup = c / op.groups;
  const scale = op.alphaOverSize ? op.alpha / op.size : op.alpha;
  const y = tensor(x.shape);
  for (let ni = 0; ni < n; ni++) {
    for (let ci = 0; ci < c; ci++) {
      const lo = Math.floor(ci / perGroup) * perGroup;
      const hi = lo + perGroup - 1;
      const first = Math.max(lo, ci - half);
      const last = Math.min(hi, ci + half);
      for (let i = 0; i < hw; i++) {
        let sum = 0;
        for (let j = first; j <= last; j++) {
          const a = x.data[(ni * c + j) * hw + i];
          sum += a * a;
        }
        const at = (ni * c + ci) * hw + i;
        y.data[at] = x.data[at] / Math.pow(op.k + scale * sum, op.beta);
      }
    }
  }
  return y;
}

/** Slides a kernel x kernel window with `stride` (no padding) over every map, reducing each window. */
function pool2d(
  x: Tensor,
  outShape: Shape,
  windowOf: (o: number, inSize: number, outSize: number) => [start: number, end: number],
  reduce: (values: number[]) => number,
): Tensor {
  const [n, c, h, w] = x.shape;
  const [, , oh, ow] = outShape;
  const y = tensor(outShape);
  for (let m = 0; m < n * c; m++) {
    for (let oy = 0; oy < oh; oy++) {
      const [y0, y1] = windowOf(oy, h, oh);
      for (let ox = 0; ox < ow; ox++) {
        const [x0, x1] = windowOf(ox, w, ow);
        const values: number[] = [];
        for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) values.push(x.data[(m * h + iy) * w + ix]);
        y.data[(m * oh + oy) * ow + ox] = reduce(values);
      }
    }
  }
  return y;
}

const fixedWindow =
  (kernel: number, stride: number) =>
  (o: number): [number, number] => [o * stride, o * stride + kernel];
const max = (v: number[]): number => Math.max(...v);
const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

/** x [N, C, H, W] -> y [N, C, OH, OW]: the largest value in each window. */
export function maxpool2d(op: OpOf<'maxpool2d'>, x: Tensor, outShape: Shape): Tensor {
  return pool2d(x, outShape, fixedWindow(op.kernel, op.stride), max);
}

/** x [N, C, H, W] -> y [N, C, OH, OW]: the mean of each window. */
export function avgpool2d(op: OpOf<'avgpool2d'>, x: Tensor, outShape: Shape): Tensor {
  return pool2d(x, outShape, fixedWindow(op.kernel, op.stride), mean);
}

/** PyTorch's adaptive bins: output o of `out` averages input [floor(o·in/out), ceil((o+1)·in/out)). */
export function adaptiveavgpool2d(x: Tensor, outShape: Shape): Tensor {
  const bin = (o: number, inSize: number, outSize: number): [number, number] => [
    Math.floor((o * inSize) / outSize),
    Math.ceil(((o + 1) * inSize) / outSize),
  ];
  return pool2d(x, outShape, bin, mean);
}

/** x [N, ...] -> y [N, F], same values in C order (shares the buffer: tensors are not mutated). */
export function flatten(x: Tensor): Tensor {
  return tensor([x.shape[0], sizeOf(x.shape) / x.shape[0]], x.data);
}

/** x [N, I], w [O, I], b [O] -> y [N, O]; y = b + W·x. */
export function linear(x: Tensor, w: Tensor, b: Tensor): Tensor {
  const [n, inF] = x.shape;
  const [o] = w.shape;
  const y = tensor([n, o]);
  for (let ni = 0; ni < n; ni++) {
    for (let oi = 0; oi < o; oi++) {
      let acc = 0;
      for (let i = 0; i < inF; i++) acc += x.data[ni * inF + i] * w.data[oi * inF + i];
      y.data[ni * o + oi] = acc + b.data[oi];
    }
  }
  return y;
}

/** x [N, F] -> y [N, F]; y = exp(x - max x) / Σ exp(x - max x), per sample. */
export function softmax(x: Tensor): Tensor {
  const [n, f] = x.shape;
  const y = tensor(x.shape);
  for (let ni = 0; ni < n; ni++) {
    const row = x.data.subarray(ni * f, (ni + 1) * f);
    let top = -Infinity;
    for (const v of row) top = Math.max(top, v);
    const e = Array.from(row, (v) => Math.exp(v - top));
    const sum = e.reduce((a, b) => a + b, 0);
    for (let i = 0; i < f; i++) y.data[ni * f + i] = e[i] / sum;
  }
  return y;
}

/** x [N, C, ...] -> y [N, to - from, ...]: axis-0 entries [from, to) of every sample. */
export function slice(op: OpOf<'slice'>, x: Tensor, outShape: Shape): Tensor {
  const y = tensor(outShape);
  const n = x.shape[0];
  const inner = sizeOf(x.shape) / n / x.shape[1]; // floats per channel (or 1 per feature)
  const per = sizeOf(outShape) / n;
  for (let s = 0; s < n; s++) y.data.set(x.data.subarray((s * x.shape[1] + op.from) * inner, (s * x.shape[1] + op.to) * inner), s * per);
  return y;
}
