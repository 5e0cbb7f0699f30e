// Independent float64 implementations of every op, written for the tests and deliberately unlike
// the reference backend's code: conv scatters each input value into the outputs it touches over an
// explicitly zero-padded copy, LRN tests group membership per neighbour, max-pool is separable (rows
// then columns), linear accumulates by input. They share no code with src/backends.
// Arrays are plain number[] in float64; shapes include the batch.

export interface Arr {
  shape: number[];
  data: Float64Array;
}

const arr = (shape: number[]): Arr => ({ shape, data: new Float64Array(shape.reduce((a, b) => a * b, 1)) });

export function fromF32(shape: readonly number[], data: Float32Array): Arr {
  return { shape: [...shape], data: Float64Array.from(data) };
}

/** A size per axis, [height, width], or one for both; padding [top, left, bottom, right], or one for all. */
export type Pair = number | readonly [number, number];
export type Pads = number | readonly [number, number, number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);
const pads = (v: Pads): [number, number, number, number] => (typeof v === 'number' ? [v, v, v, v] : [v[0], v[1], v[2], v[3]]);

/** A copy of every map with `fill` around it: `t` rows above, `b` below, `l` columns left, `r` right. */
function padded(x: Arr, [t, l, b, r]: [number, number, number, number], fill: number): { data: Float64Array; hp: number; wp: number } {
  const [n, c, h, w] = x.shape;
  const hp = h + t + b;
  const wp = w + l + r;
  const data = new Float64Array(n * c * hp * wp).fill(fill);
  for (let i = 0; i < n * c; i++) for (let row = 0; row < h; row++) for (let q = 0; q < w; q++) data[(i * hp + row + t) * wp + q + l] = x.data[(i * h + row) * w + q];
  return { data, hp, wp };
}

/**
 * Window start positions along an axis of `size` padded to `total`: in floor mode every window fits
 * in the padded axis; in ceil mode one more may hang over its end, if it starts inside the input or
 * its leading padding (`inputEnd`).
 */
function starts(total: number, inputEnd: number, kernel: number, stride: number, ceil: boolean): number[] {
  const out: number[] = [];
  for (let s = 0; ceil ? s < total - kernel + stride && s < inputEnd : s + kernel <= total; s += stride) out.push(s);
  return out;
}

export function conv2d(x: Arr, w: Arr, b: Arr, stride: Pair, pad: Pads, groups: number): Arr {
  const [n, c] = x.shape;
  const [o, cg, kh, kw] = w.shape;
  const [sh, sw] = pair(stride);
  const { data: xp, hp, wp } = padded(x, pads(pad), 0);
  const oh = starts(hp, hp, kh, sh, false).length;
  const ow = starts(wp, wp, kw, sw, false).length;
  const y = arr([n, o, oh, ow]);
  const og = o / groups;
  for (let s = 0; s < n; s++) {
    for (let f = 0; f < o; f++) {
      const g = Math.floor(f / og);
      for (let p = 0; p < oh * ow; p++) y.data[(s * o + f) * oh * ow + p] = b.data[f];
      // scatter: every weight tap adds a shifted, strided view of its input map to the output map
      for (let ci = 0; ci < cg; ci++) {
        const inMap = s * c + g * cg + ci;
        for (let ky = 0; ky < kh; ky++)
          for (let kx = 0; kx < kw; kx++) {
            const wt = w.data[((f * cg + ci) * kh + ky) * kw + kx];
            for (let r = 0; r < oh; r++)
              for (let q = 0; q < ow; q++) y.data[((s * o + f) * oh + r) * ow + q] += wt * xp[(inMap * hp + r * sh + ky) * wp + q * sw + kx];
          }
      }
    }
  }
  return y;
}

export function relu(x: Arr): Arr {
  return { shape: x.shape, data: x.data.map((v) => (v < 0 ? 0 : v)) };
}

export function lrn(x: Arr, size: number, alpha: number, beta: number, k: number, alphaOverSize: boolean, groups: number): Arr {
  const [n, c, h, w] = x.shape;
  const per = c / groups;
  const y = arr(x.shape);
  const half = (size - 1) / 2;
  for (let s = 0; s < n; s++)
    for (let ch = 0; ch < c; ch++)
      for (let p = 0; p < h * w; p++) {
        let sq = 0;
        for (let j = ch - half; j <= ch + half; j++) {
          if (j < 0 || j >= c || Math.floor(j / per) !== Math.floor(ch / per)) continue; // outside the group
          sq += x.data[(s * c + j) * h * w + p] ** 2;
        }
        const v = x.data[(s * c + ch) * h * w + p];
        y.data[(s * c + ch) * h * w + p] = v * (k + (alphaOverSize ? alpha / size : alpha) * sq) ** -beta;
      }
  return y;
}

/**
 * Separable, over a copy padded with -∞ (and, in ceil mode, -∞ past the padding as far as the last
 * window reaches): max over each window's columns in every row, then over the rows of those maxima.
 */
export function maxpool2d(x: Arr, kernel: Pair, stride: Pair, pad: Pads = 0, ceil = false): Arr {
  const [n, c, h, w] = x.shape;
  const [kh, kw] = pair(kernel);
  const [sh, sw] = pair(stride);
  const [t, l, b, r] = pads(pad);
  const ys = starts(h + t + b, h + t, kh, sh, ceil);
  const xs = starts(w + l + r, w + l, kw, sw, ceil);
  const { data, hp, wp } = padded(x, [t, l, b + kh, r + kw], -Infinity);
  const [oh, ow] = [ys.length, xs.length];
  const y = arr([n, c, oh, ow]);
  for (let m = 0; m < n * c; m++) {
    const rows = new Float64Array(hp * ow).fill(-Infinity);
    for (let row = 0; row < hp; row++)
      for (const [q, x0] of xs.entries()) for (let k = 0; k < kw; k++) rows[row * ow + q] = Math.max(rows[row * ow + q], data[(m * hp + row) * wp + x0 + k]);
    for (const [row, y0] of ys.entries())
      for (let q = 0; q < ow; q++) {
        let best = -Infinity;
        for (let k = 0; k < kh; k++) best = Math.max(best, rows[(y0 + k) * ow + q]);
        y.data[(m * oh + row) * ow + q] = best;
      }
  }
  return y;
}

/**
 * Windows over a zero-padded copy, with two masks marking the input and the padded map: the sum of
 * the values over the count of input positions, or with countIncludePad over the count of padded-map
 * positions (ceil mode's overhang past the padding counts in neither).
 */
export function avgpool2d(x: Arr, kernel: Pair, stride: Pair, pad: Pads = 0, ceil = false, countIncludePad = false): Arr {
  const [n, c, h, w] = x.shape;
  const [kh, kw] = pair(kernel);
  const [sh, sw] = pair(stride);
  const [t, l, b, r] = pads(pad);
  const ys = starts(h + t + b, h + t, kh, sh, ceil);
  const xs = starts(w + l + r, w + l, kw, sw, ceil);
  const grow: [number, number, number, number] = [t, l, b + kh, r + kw];
  const { data, hp, wp } = padded(x, grow, 0);
  const ones = (rows: number, cols: number): Arr => ({ shape: [1, 1, rows, cols], data: new Float64Array(rows * cols).fill(1) });
  const input = padded(ones(h, w), grow, 0).data;
  const region = padded(ones(h + t + b, w + l + r), [0, 0, kh, kw], 0).data;
  const y = arr([n, c, ys.length, xs.length]);
  let i = 0;
  for (let m = 0; m < n * c; m++)
    for (const y0 of ys)
      for (const x0 of xs) {
        let [sum, inside, within] = [0, 0, 0];
        for (let row = y0; row < y0 + kh; row++)
          for (let q = x0; q < x0 + kw; q++) {
            sum += data[(m * hp + row) * wp + q];
            inside += input[row * wp + q];
            within += region[row * wp + q];
          }
        y.data[i++] = sum / (countIncludePad ? within : inside);
      }
  return y;
}

/** Average over [start, end) bins per axis (adaptive pooling's bins). */
export function avgpoolBins(x: Arr, binsH: [number, number][], binsW: [number, number][]): Arr {
  const [n, c, h, w] = x.shape;
  const y = arr([n, c, binsH.length, binsW.length]);
  let i = 0;
  for (let m = 0; m < n * c; m++)
    for (const [y0, y1] of binsH)
      for (const [x0, x1] of binsW) {
        let sum = 0;
        for (let r = y0; r < y1; r++) for (let q = x0; q < x1; q++) sum += x.data[(m * h + r) * w + q];
        y.data[i++] = sum / ((y1 - y0) * (x1 - x0));
      }
  return y;
}

export function linear(x: Arr, w: Arr, b: Arr): Arr {
  const n = x.shape[0];
  const inF = x.data.length / n;
  const [o] = w.shape;
  const y = arr([n, o]);
  for (let s = 0; s < n; s++) {
    for (let f = 0; f < o; f++) y.data[s * o + f] = b.data[f];
    for (let i = 0; i < inF; i++) for (let f = 0; f < o; f++) y.data[s * o + f] += w.data[f * inF + i] * x.data[s * inF + i];
  }
  return y;
}

/** Via log-sum-exp rather than normalising exponentials. */
export function softmax(x: Arr): Arr {
  const [n, f] = x.shape;
  const y = arr(x.shape);
  for (let s = 0; s < n; s++) {
    const row = x.data.slice(s * f, (s + 1) * f);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    for (let i = 0; i < f; i++) y.data[s * f + i] = Math.exp(row[i] - lse);
  }
  return y;
}

export function flatten(x: Arr): Arr {
  return { shape: [x.shape[0], x.data.length / x.shape[0]], data: x.data };
}

/** Relative error of the design card: max|a - e| / max(max|e|, 1e-6). */
export function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let maxErr = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    maxErr = Number.isNaN(d) ? Infinity : Math.max(maxErr, d);
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  return maxErr / Math.max(maxRef, 1e-6);
}

/** Deterministic test data in [lo, hi) from a seed (mulberry32), independent of src/random.ts. */
export function randomData(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}
