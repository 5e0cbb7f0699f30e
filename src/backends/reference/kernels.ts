// The reference kernels: the oracle every other backend is checked against. Each is the op's
// definition written as plain loops over the output, accumulating in float64 (JS numbers) and
// rounding once to float32 on store. No im2col, no blocking, no reuse of partial results: a
// reader should be able to check each one against the formula by eye.
import type { OpOf } from '../../graph/index.js';
import { windowOf } from '../../graph/index.js';
import type { Shape, Tensor } from '../../tensor.js';
import { sizeOf, tensor } from '../../tensor.js';

/** x [N, C, H, W], w [O, C/g, KH, KW], b [O] -> y [N, O, OH, OW]; y = b + Σ x·w over each group's C/g maps. */
export function conv2d(op: OpOf<'conv2d'>, x: Tensor, w: Tensor, b: Tensor, outShape: Shape): Tensor {
  const [n, c, h, wd] = x.shape;
  const [, o, oh, ow] = outShape;
  const { kh, kw, sh, sw, top, left } = windowOf(op);
  const { groups } = op;
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
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * sh - top + ky;
              if (iy < 0 || iy >= h) continue; // zero padding
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * sw - left + kx;
                if (ix < 0 || ix >= wd) continue;
                acc += x.data[((ni * c + c0 + ci) * h + iy) * wd + ix] * w.data[((oc * cg + ci) * kh + ky) * kw + kx];
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

/**
 * Slides a window over every map and reduces the input values it covers; `rows` and `cols` give an
 * output position's window as [start, end) on each axis, already clipped to the input.
 */
function pool2d(
  x: Tensor,
  outShape: Shape,
  rows: (o: number) => [start: number, end: number],
  cols: (o: number) => [start: number, end: number],
  reduce: (values: number[], oy: number, ox: number) => number,
): Tensor {
  const [n, c, h, w] = x.shape;
  const [, , oh, ow] = outShape;
  const y = tensor(outShape);
  for (let m = 0; m < n * c; m++) {
    for (let oy = 0; oy < oh; oy++) {
      const [y0, y1] = rows(oy);
      for (let ox = 0; ox < ow; ox++) {
        const [x0, x1] = cols(ox);
        const values: number[] = [];
        for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) values.push(x.data[(m * h + iy) * w + ix]);
        y.data[(m * oh + oy) * ow + ox] = reduce(values, oy, ox);
      }
    }
  }
  return y;
}

/** Output o's window [o·stride − before, o·stride − before + kernel), clipped to [0, size) (padding holds no input). */
const clipped =
  (kernel: number, stride: number, before: number, size: number) =>
  (o: number): [number, number] => [Math.max(0, o * stride - before), Math.min(size, o * stride - before + kernel)];
const max = (v: number[]): number => Math.max(...v);

/** x [N, C, H, W] -> y [N, C, OH, OW]: the largest input value in each window (padding never wins). */
export function maxpool2d(op: OpOf<'maxpool2d'>, x: Tensor, outShape: Shape): Tensor {
  const { kh, kw, sh, sw, top, left } = windowOf(op);
  const [, , h, w] = x.shape;
  return pool2d(x, outShape, clipped(kh, sh, top, h), clipped(kw, sw, left, w), max);
}

/**
 * x [N, C, H, W] -> y [N, C, OH, OW]: the mean of each window. The divisor is the number of input
 * values in it, or with countIncludePad the window's size within the padded input (PyTorch's rule:
 * a ceil-mode window's overhang past the padding is never counted).
 */
export function avgpool2d(op: OpOf<'avgpool2d'>, x: Tensor, outShape: Shape): Tensor {
  const { kh, kw, sh, sw, top, left, bottom, right } = windowOf(op);
  const [, , h, w] = x.shape;
  const padded = (o: number, kernel: number, stride: number, before: number, after: number, size: number): number => Math.min(o * stride - before + kernel, size + after) - (o * stride - before);
  return pool2d(x, outShape, clipped(kh, sh, top, h), clipped(kw, sw, left, w), (values, oy, ox) => {
    const count = op.countIncludePad ? padded(oy, kh, sh, top, bottom, h) * padded(ox, kw, sw, left, right, w) : values.length;
    return values.reduce((a, b) => a + b, 0) / count;
  });
}

/** PyTorch's adaptive bins: output o of `out` averages input [floor(o·in/out), ceil((o+1)·in/out)). */
export function adaptiveavgpool2d(x: Tensor, outShape: Shape): Tensor {
  const bin =
    (inSize: number, outSize: number) =>
    (o: number): [number, number] => [Math.floor((o * inSize) / outSize), Math.ceil(((o + 1) * inSize) / outSize)];
  return pool2d(x, outShape, bin(x.shape[2], outShape[2]), bin(x.shape[3], outShape[3]), (v) => v.reduce((a, b) => a + b, 0) / v.length);
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
