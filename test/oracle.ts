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

export function conv2d(x: Arr, w: Arr, b: Arr, stride: number, pad: number, groups: number): Arr {
  const [n, c, h, wd] = x.shape;
  const [o, cg, k] = w.shape;
  const hp = h + 2 * pad;
  const wp = wd + 2 * pad;
  // padded copy of the input
  const xp = new Float64Array(n * c * hp * wp);
  for (let i = 0; i < n * c; i++)
    for (let r = 0; r < h; r++) for (let q = 0; q < wd; q++) xp[(i * hp + r + pad) * wp + q + pad] = x.data[(i * h + r) * wd + q];
  const oh = Math.floor((hp - k) / stride) + 1;
  const ow = Math.floor((wp - k) / stride) + 1;
  const y = arr([n, o, oh, ow]);
  const og = o / groups;
  for (let s = 0; s < n; s++) {
    for (let f = 0; f < o; f++) {
      const g = Math.floor(f / og);
      for (let p = 0; p < oh * ow; p++) y.data[(s * o + f) * oh * ow + p] = b.data[f];
      // scatter: every weight tap adds a shifted, strided view of its input map to the output map
      for (let ci = 0; ci < cg; ci++) {
        const inMap = s * c + g * cg + ci;
        for (let ky = 0; ky < k; ky++)
          for (let kx = 0; kx < k; kx++) {
            const wt = w.data[((f * cg + ci) * k + ky) * k + kx];
            for (let r = 0; r < oh; r++)
              for (let q = 0; q < ow; q++) y.data[((s * o + f) * oh + r) * ow + q] += wt * xp[(inMap * hp + r * stride + ky) * wp + q * stride + kx];
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

/** Separable: max over each window's columns in every row, then over the rows of those maxima. */
export function maxpool2d(x: Arr, kernel: number, stride: number): Arr {
  const [n, c, h, w] = x.shape;
  const oh = Math.floor((h - kernel) / stride) + 1;
  const ow = Math.floor((w - kernel) / stride) + 1;
  const y = arr([n, c, oh, ow]);
  for (let m = 0; m < n * c; m++) {
    const rows = new Float64Array(h * ow).fill(-Infinity);
    for (let r = 0; r < h; r++)
      for (let q = 0; q < ow; q++)
        for (let t = 0; t < kernel; t++) rows[r * ow + q] = Math.max(rows[r * ow + q], x.data[(m * h + r) * w + q * stride + t]);
    for (let r = 0; r < oh; r++)
      for (let q = 0; q < ow; q++) {
        let best = -Infinity;
        for (let t = 0; t < kernel; t++) best = Math.max(best, rows[(r * stride + t) * ow + q]);
        y.data[(m * oh + r) * ow + q] = best;
      }
  }
  return y;
}

/** Average over [start, end) bins per axis; a fixed pool is bins [o·s, o·s + k). */
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
