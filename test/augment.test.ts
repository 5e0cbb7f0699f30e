// Random crops with mirrors, and PCA colour noise: the eigen-decomposition recovers a covariance
// built here from a known rotation and known variances, and the colour shift follows its formula.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addColour, drawPcaCoefficients, eigenSymmetric, pcaColourOffset, pixelMoments, randomCrop } from '../src/data/augment.js';
import { image } from '../src/data/image.js';
import { crop, flipHorizontal } from '../src/data/preprocess.js';
import { createRng } from '../src/random.js';

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
      expect(r.top).toBeGreaterThanOrEqual(0);
      expect(r.left).toBeLessThanOrEqual(2);
      const plain = crop(img, r.top, r.left, 3, 3);
      expect(r.image.data).toEqual((r.flipped ? flipHorizontal(plain) : plain).data);
      seen.add(`${r.top},${r.left},${r.flipped}`);
    }
    expect(seen.size).toBe(18);
    const again = (seed: number) => randomCrop(img, 3, createRng(seed));
    expect(again(9)).toEqual(again(9));
  });
});

describe('PCA of pixel colours', () => {
  it('recovers known eigenvalues and eigenvectors from pixels with that covariance', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }), fc.double({ min: 0, max: Math.PI, noNaN: true }), fc.double({ min: 0, max: 2 * Math.PI, noNaN: true })),
        fc.tuple(fc.double({ min: 1, max: 4000, noNaN: true }), fc.double({ min: 0.05, max: 0.9, noNaN: true }), fc.double({ min: 0.05, max: 0.9, noNaN: true })),
        ([a, b, c], [d1, f2, f3]) => {
          const d = [d1, d1 * f2, d1 * f2 * f3];
          // a rotation from Euler angles (z, y, z): its rows are an orthonormal basis
          const rz = (t: number) => [[Math.cos(t), -Math.sin(t), 0], [Math.sin(t), Math.cos(t), 0], [0, 0, 1]];
          const ry = (t: number) => [[Math.cos(t), 0, Math.sin(t)], [0, 1, 0], [-Math.sin(t), 0, Math.cos(t)]];
          const mul = (x: number[][], y: number[][]) => x.map((row) => y[0].map((_, j) => row.reduce((s, v, k) => s + v * y[k][j], 0)));
          const q = mul(mul(rz(a), ry(b)), rz(c));
          const mean = [120, 110, 100];
          // six pixels at mean ± sqrt(3 d_i) q_i: mean `mean`, covariance (2 · 3 / 6) Σ d_i q_i q_iᵀ
          const pixels = q.flatMap((qi, i) => [1, -1].map((sign) => mean.map((m, c) => m + sign * Math.sqrt(3 * d[i]) * qi[c])));
          const img = image(3, 1, pixels.length, Float32Array.from({ length: 3 * pixels.length }, (_, k) => pixels[k % pixels.length][Math.floor(k / pixels.length)]));
          const moments = pixelMoments();
          moments.add(img);
          moments.add(img);
          const { mean: m, covariance } = moments.finish();
          const pixelsF32 = pixels.map((p) => p.map(Math.fround)); // the image holds float32
          const mu = [0, 1, 2].map((c) => pixelsF32.reduce((s, p) => s + p[c], 0) / pixels.length);
          m.forEach((v, c) => expect(v).toBeCloseTo(mu[c], 9));
          const { values, vectors } = eigenSymmetric(covariance, 3);
          // float32 pixels perturb the covariance by ~1e-7 of the pixel scale
          values.forEach((v, i) => expect(Math.abs(v - d[i])).toBeLessThan(1e-3 * d[0]));
          for (let i = 0; i < 3; i++) {
            const dot = Math.abs(q[i].reduce((s, x, c) => s + x * vectors[3 * i + c], 0));
            expect(dot).toBeGreaterThan(1 - 1e-4);
          }
        },
      ),
      { numRuns: 50 },
    );
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
        }
      }),
    );
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
