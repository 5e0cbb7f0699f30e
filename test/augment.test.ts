// Random crops with mirrors, and PCA colour noise: the eigen-decomposition recovers a covariance
// built here from a known rotation and known variances, and the colour shift follows its formula.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addColour, drawPcaCoefficients, eigenSymmetric, pcaColourOffset, pixelMoments, randomCrop } from '../src/data/augment.js';
import { image } from '../src/data/image.js';
import { crop, flipHorizontal } from '../src/data/preprocess.js';
import { createRng, uniform } from '../src/random.js';

/** An orthonormal basis (rows) from three vectors by Gram-Schmidt. */
function basis(vectors: number[][]): number[][] {
  const out: number[][] = [];
  for (const v of vectors) {
    let u = [...v];
    for (const b of out) {
      const d = u.reduce((s, x, i) => s + x * b[i], 0);
      u = u.map((x, i) => x - d * b[i]);
    }
    const n = Math.hypot(...u);
    out.push(u.map((x) => x / n));
  }
  return out;
}

describe('random crops', () => {
  it('lie inside the image, repeat for a seed, and reach every position and both mirrors', () => {
    const img = image(2, 5, 5, Float32Array.from({ length: 50 }, (_, i) => i));
    const rng = createRng(3);
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const r = randomCrop(img, 3, rng);
      for (const v of [r.top, r.left]) expect(Number.isInteger(v) && v >= 0 && v <= 5 - 3).toBe(true);
      const plain = crop(img, r.top, r.left, 3, 3);
      expect(r.image.data).toEqual((r.flipped ? flipHorizontal(plain) : plain).data);
      seen.add(`${r.top},${r.left},${r.flipped}`);
    }
    expect(seen.size).toBe(18);
    const again = (seed: number) => randomCrop(img, 3, createRng(seed));
    expect(again(9)).toEqual(again(9));
  });

  it('draws top, then left, then the mirror, from the stream it is given', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), (seed, h, w, size) => {
        fc.pre(size <= h && size <= w);
        const rng = createRng(seed);
        const [u1, u2, u3] = [uniform(rng), uniform(rng), uniform(rng)];
        const r = randomCrop(image(1, h, w), size, createRng(seed));
        expect([r.top, r.left, r.flipped]).toEqual([Math.floor(u1 * (h - size + 1)), Math.floor(u2 * (w - size + 1)), u3 < 0.5]);
        expect([r.image.height, r.image.width]).toEqual([size, size]);
      }),
    );
    expect(() => randomCrop(image(1, 3, 5), 4, createRng(0))).toThrow(expect.objectContaining({ code: 'BAD_CROP' }));
  });
});

describe('PCA of pixel colours', () => {
  // a rotation from Euler angles (z, y, z) and variances d1 > d2 > d3 with gaps of at least 10%
  const angle = (max: number) => fc.double({ min: 0, max, noNaN: true });
  const rotation = fc.tuple(angle(2 * Math.PI), angle(Math.PI), angle(2 * Math.PI)).map(([a, b, c]) => {
    const rz = (t: number) => [[Math.cos(t), -Math.sin(t), 0], [Math.sin(t), Math.cos(t), 0], [0, 0, 1]];
    const ry = (t: number) => [[Math.cos(t), 0, Math.sin(t)], [0, 1, 0], [-Math.sin(t), 0, Math.cos(t)]];
    const mul = (x: number[][], y: number[][]) => x.map((row) => y[0].map((_, j) => row.reduce((s, v, k) => s + v * y[k][j], 0)));
    return mul(mul(rz(a), ry(b)), rz(c)); // rows q_i: an orthonormal basis
  });
  const variances = fc
    .tuple(fc.double({ min: 1e-3, max: 4000, noNaN: true }), fc.double({ min: 0.05, max: 0.9, noNaN: true }), fc.double({ min: 0.05, max: 0.9, noNaN: true }))
    .map(([d1, f2, f3]) => [d1, d1 * f2, d1 * f2 * f3]);
  /** Six pixels at mean ± √(3 d_i) q_i: their mean is `mean`, their covariance (2 · 3 / 6) Σ d_i q_i q_iᵀ. */
  const sixPixels = (q: number[][], d: number[], mean: number[]): number[][] => q.flatMap((qi, i) => [1, -1].map((sign) => mean.map((m, c) => m + sign * Math.sqrt(3 * d[i]) * qi[c])));
  /** A 3 x 1 x n image of pixels (rows of `pixels`). */
  const asImage = (pixels: number[][]) => image(3, 1, pixels.length, Float32Array.from({ length: 3 * pixels.length }, (_, k) => pixels[k % pixels.length][Math.floor(k / pixels.length)]));
  /** Mean and population covariance by the two-pass definition, in float64. */
  const twoPass = (pixels: ArrayLike<number>[], channels: number) => {
    const mu = Array.from({ length: channels }, (_, c) => pixels.reduce((s, p) => s + p[c], 0) / pixels.length);
    const cov = Array.from({ length: channels * channels }, (_, k) => pixels.reduce((s, p) => s + (p[Math.floor(k / channels)] - mu[Math.floor(k / channels)]) * (p[k % channels] - mu[k % channels]), 0) / pixels.length);
    return { mu, cov };
  };

  it('eigenSymmetric recovers known eigenvalues and eigenvectors of Q diag(d) Qᵀ', () => {
    fc.assert(
      fc.property(rotation, variances, (q, d) => {
        const a = Float64Array.from({ length: 9 }, (_, k) => d.reduce((s, di, i) => s + di * q[i][Math.floor(k / 3)] * q[i][k % 3], 0));
        const { values, vectors } = eigenSymmetric(a, 3);
        values.forEach((v, i) => expect(Math.abs(v - d[i])).toBeLessThan(1e-9 * d[i]));
        for (let i = 0; i < 3; i++) {
          const dot = q[i].reduce((s, x, c) => s + x * vectors[3 * i + c], 0);
          expect(Math.abs(dot)).toBeGreaterThan(1 - 1e-9);
          q[i].forEach((x, c) => expect(Math.abs(vectors[3 * i + c] - Math.sign(dot) * x)).toBeLessThan(1e-7));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('pixelMoments: the mean and population covariance of every pixel added, over several images', () => {
    fc.assert(
      fc.property(rotation, variances, fc.array(fc.double({ min: 0, max: 255, noNaN: true }), { minLength: 3, maxLength: 3 }), (q, d, mean) => {
        const first = asImage(sixPixels(q, d, mean));
        const second = asImage(sixPixels(q, d.map((x) => x / 4), mean.map((m) => m + 1)));
        const moments = pixelMoments();
        moments.add(first);
        moments.add(second);
        moments.add(first);
        expect(moments.count).toBe(18);
        const pixels = [first, second, first].flatMap((img) => Array.from({ length: 6 }, (_, p) => [0, 1, 2].map((c) => img.data[c * 6 + p])));
        const { mu, cov } = twoPass(pixels, 3);
        const { mean: m, covariance } = moments.finish();
        m.forEach((v, c) => expect(Math.abs(v - mu[c])).toBeLessThan(1e-12 * 255));
        covariance.forEach((v, k) => expect(Math.abs(v - cov[k])).toBeLessThan(1e-12 * d[0] + 1e-12));
        // end to end from one image: float32 pixels perturb the covariance by ~1e-7 of the pixel scale
        const alone = pixelMoments();
        alone.add(first);
        const { values, vectors } = eigenSymmetric(alone.finish().covariance, 3);
        const spread = Math.sqrt(3 * d[0]); // float32 rounds pixels by 2^-24 of (mean + spread)
        values.forEach((v, i) => expect(Math.abs(v - d[i])).toBeLessThan(1e-6 * spread * (255 + spread)));
        for (let i = 0; i < 3; i++) expect(Math.abs(q[i].reduce((s, x, c) => s + x * vectors[3 * i + c], 0))).toBeGreaterThan(1 - 1e-2);
      }),
      { numRuns: 50 },
    );
  });

  it('pixelMoments keeps its precision over a million pixels near 255', () => {
    // E[x²] − E[x]² on raw sums would cancel ~62500 against ~0.1 and lose most of its digits
    const [images, plane] = [64, 128 * 128];
    const x = new Float64Array(images * plane);
    const y = new Float64Array(images * plane);
    let s = 12345;
    const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const moments = pixelMoments();
    for (let n = 0; n < images; n++) {
      const img = image(2, 128, 128);
      for (let p = 0; p < plane; p++) {
        img.data[p] = 250 + next();
        img.data[plane + p] = 260 - img.data[p] + 0.5 * next();
        [x[n * plane + p], y[n * plane + p]] = [img.data[p], img.data[plane + p]];
      }
      moments.add(img);
    }
    const mean = (v: Float64Array) => v.reduce((a, b) => a + b, 0) / v.length;
    const [mx, my] = [mean(x), mean(y)];
    const cov = (u: Float64Array, mu: number, v: Float64Array, mv: number) => u.reduce((a, b, i) => a + (b - mu) * (v[i] - mv), 0) / u.length;
    const expected = [cov(x, mx, x, mx), cov(x, mx, y, my), cov(y, my, x, mx), cov(y, my, y, my)];
    const result = moments.finish();
    expect(moments.count).toBe(images * plane);
    result.mean.forEach((v, c) => expect(Math.abs(v - [mx, my][c])).toBeLessThan(1e-12 * 255));
    result.covariance.forEach((v, k) => expect(Math.abs(v - expected[k])).toBeLessThan(1e-10 * Math.abs(expected[k])));
  });

  it('pixelMoments refuses mixed channel counts and an empty finish', () => {
    const moments = pixelMoments();
    expect(() => moments.finish()).toThrow(expect.objectContaining({ code: 'NO_PIXELS' }));
    moments.add(image(3, 2, 2));
    expect(() => moments.add(image(1, 2, 2))).toThrow(expect.objectContaining({ name: 'ShapeError', code: 'CHANNELS' }));
  });

  it('eigenSymmetric: A v = λ v, orthonormal vectors, values sorted, for any symmetric matrix', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }).chain((n) => fc.tuple(fc.constant(n), fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: n * n, maxLength: n * n }))), ([n, raw]) => {
        const a = new Float64Array(n * n);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = (raw[i * n + j] + raw[j * n + i]) / 2;
        const { values, vectors } = eigenSymmetric(a, n);
        const scale = Math.max(1, ...Array.from(a, Math.abs));
        for (let i = 0; i < n; i++) {
          if (i > 0) expect(values[i]).toBeLessThanOrEqual(values[i - 1]);
          for (let r = 0; r < n; r++) {
            let av = 0;
            for (let c = 0; c < n; c++) av += a[r * n + c] * vectors[i * n + c];
            expect(Math.abs(av - values[i] * vectors[i * n + r])).toBeLessThan(1e-9 * scale);
          }
          for (let j = 0; j < n; j++) {
            const dot = Array.from({ length: n }, (_, c) => vectors[i * n + c] * vectors[j * n + c]).reduce((s, x) => s + x, 0);
            expect(Math.abs(dot - (i === j ? 1 : 0))).toBeLessThan(1e-9);
          }
          const row = Array.from(vectors.subarray(i * n, (i + 1) * n));
          const largest = row.reduce((big, x) => (Math.abs(x) > Math.abs(big) ? x : big), 0);
          expect(largest).toBeGreaterThan(0);
        }
      }),
    );
  });

  it('eigenSymmetric: repeated and zero eigenvalues still give an orthonormal basis', () => {
    const q = basis([[1, 2, 2], [2, 1, -2], [0, 0, 1]]);
    for (const d of [[5, 5, 1], [0, 0, 0], [2, 2, 2], [3, 0, 0]]) {
      const a = Float64Array.from({ length: 9 }, (_, k) => d.reduce((s, di, i) => s + di * q[i][Math.floor(k / 3)] * q[i][k % 3], 0));
      const { values, vectors } = eigenSymmetric(a, 3);
      values.forEach((v, i) => expect(Math.abs(v - d[i])).toBeLessThan(1e-12 * 8));
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) expect(Math.abs([0, 1, 2].reduce((s, c) => s + vectors[3 * i + c] * vectors[3 * j + c], 0) - (i === j ? 1 : 0))).toBeLessThan(1e-12);
        for (let r = 0; r < 3; r++) expect(Math.abs([0, 1, 2].reduce((s, c) => s + a[3 * r + c] * vectors[3 * i + c], 0) - values[i] * vectors[3 * i + r])).toBeLessThan(1e-12 * 8);
      }
    }
  });

  it('one channel: the eigenvalue is the variance', () => {
    const moments = pixelMoments();
    moments.add(image(1, 1, 4, Float32Array.of(1, 2, 3, 6)));
    const { covariance } = moments.finish();
    expect(eigenSymmetric(covariance, 1).values[0]).toBeCloseTo(3.5, 12);
  });
});

describe('colour noise', () => {
  const values = Float64Array.of(900, 100, 4);
  const vectors = Float64Array.from(basis([[1, 1, 1], [1, 0, -1], [1, -2, 1]]).flat());

  it('is Σ a_i √λ_i p_i, the same for every pixel, and nothing when a = 0', () => {
    const a = [0.1, -0.2, 0.3];
    const offset = pcaColourOffset(values, vectors, a);
    for (let c = 0; c < 3; c++) expect(offset[c]).toBeCloseTo([0, 1, 2].reduce((s, i) => s + a[i] * Math.sqrt(values[i]) * vectors[3 * i + c], 0), 12);
    const img = image(3, 4, 5, Float32Array.from({ length: 60 }, (_, i) => (i * 31) % 256));
    const shifted = addColour(img, offset);
    for (let i = 0; i < 60; i++) expect(shifted.data[i] - img.data[i]).toBeCloseTo(offset[Math.floor(i / 20)], 4);
    expect(Array.from(pcaColourOffset(values, vectors, [0, 0, 0]))).toEqual([0, 0, 0]);
    expect(addColour(img, pcaColourOffset(values, vectors, [0, 0, 0])).data).toEqual(img.data);
  });

  it('clamps a round-off negative eigenvalue to no shift, works for one channel, refuses mismatched lengths', () => {
    expect(Array.from(pcaColourOffset(Float64Array.of(-1e-13), Float64Array.of(1), [0.5]))).toEqual([0]);
    expect(Array.from(pcaColourOffset(Float64Array.of(16), Float64Array.of(1), [0.5]))).toEqual([2]);
    expect(Array.from(addColour(image(1, 1, 2, Float32Array.of(1, 2)), [2]).data)).toEqual([3, 4]);
    const fault = (code: string) => expect.objectContaining({ name: 'ShapeError', code });
    expect(() => pcaColourOffset(values, vectors, [0.1, 0.1])).toThrow(fault('PCA_SHAPE'));
    expect(() => pcaColourOffset(values, vectors.subarray(0, 6), [0, 0, 0])).toThrow(fault('PCA_SHAPE'));
    expect(() => addColour(image(3, 1, 1), [1])).toThrow(fault('OFFSET_SHAPE'));
  });

  it('draws a_i ~ N(0, 0.1²), repeatably', () => {
    const rng = createRng(7);
    const draws = Array.from({ length: 4000 }, () => drawPcaCoefficients(rng)).flat();
    const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
    const sd = Math.sqrt(draws.reduce((s, x) => s + (x - mean) ** 2, 0) / draws.length);
    expect(Math.abs(mean)).toBeLessThan(0.005); // 4.5 standard errors
    expect(Math.abs(sd - 0.1)).toBeLessThan(0.004);
    expect(drawPcaCoefficients(createRng(1))).toEqual(drawPcaCoefficients(createRng(1)));
  });
});
