// Resize, crop, mirror, ten crops and mean subtraction: properties that hold for any image, and
// values computed here from their definitions.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Image } from '../src/data/image.js';
import { image } from '../src/data/image.js';
import { centerCrop, crop, flipHorizontal, normalize, prepare, resize, resizeShorter, stackImages, tenCrops } from '../src/data/preprocess.js';
import { ShapeError } from '../src/errors.js';

const at = (img: Image, c: number, y: number, x: number): number => img.data[(c * img.height + y) * img.width + x];
const side = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.constantFrom(11, 13, 17, 31, 64));
const imageArb = fc.record({ c: fc.integer({ min: 1, max: 3 }), h: side, w: side, seed: fc.integer() }).map(({ c, h, w, seed }) => {
  let s = seed >>> 0;
  return image(c, h, w, Float32Array.from({ length: c * h * w }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % 256));
});

describe('resize', () => {
  it('makes the shorter side `side` and keeps the aspect ratio', () => {
    fc.assert(
      fc.property(imageArb, fc.integer({ min: 1, max: 40 }), (img, s) => {
        const out = resizeShorter(img, s);
        expect(Math.min(out.height, out.width)).toBe(s);
        const long = Math.max(img.height, img.width) / Math.min(img.height, img.width);
        expect(Math.abs(Math.max(out.height, out.width) - long * s)).toBeLessThanOrEqual(0.5);
        expect(out.channels).toBe(img.channels);
      }),
    );
  });

  it('keeps a constant image constant, shrinking or growing', () => {
    fc.assert(
      fc.property(side, side, side, side, fc.double({ min: 0, max: 255, noNaN: true }), (h, w, oh, ow, v) => {
        const out = resize(image(2, h, w, new Float32Array(2 * h * w).fill(v)), oh, ow);
        for (const x of out.data) expect(Math.abs(x - v)).toBeLessThanOrEqual(1e-4 * Math.max(1, v));
      }),
    );
  });

  it('shrinking by a whole factor is the mean of each block', () => {
    fc.assert(
      fc.property(imageArb, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), (small, fy, fx) => {
        const [oh, ow] = [small.height, small.width];
        const big = image(small.channels, oh * fy, ow * fx, Float32Array.from({ length: small.channels * oh * fy * ow * fx }, (_, i) => (i * 7919) % 251));
        const out = resize(big, oh, ow);
        for (let c = 0; c < big.channels; c++)
          for (let y = 0; y < oh; y++)
            for (let x = 0; x < ow; x++) {
              let sum = 0;
              for (let dy = 0; dy < fy; dy++) for (let dx = 0; dx < fx; dx++) sum += at(big, c, y * fy + dy, x * fx + dx);
              expect(at(out, c, y, x)).toBeCloseTo(sum / (fy * fx), 3);
            }
      }),
    );
  });

  it('shrinking by any factor keeps the mean (area averaging weighs every source pixel equally)', () => {
    fc.assert(
      fc.property(imageArb, fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), (img, oh, ow) => {
        fc.pre(oh <= img.height && ow <= img.width);
        const mean = (a: Float32Array): number => a.reduce((s, v) => s + v, 0) / a.length;
        expect(Math.abs(mean(resize(img, oh, ow).data) - mean(img.data))).toBeLessThanOrEqual(1e-3 * Math.max(1, mean(img.data)));
      }),
    );
  });

  it('growing is bilinear: an affine image stays affine, flat past the clamped border', () => {
    // per axis: grow by any amount, or shrink by a whole factor (a block mean of an affine ramp is
    // its value at the block centre); either way output i samples source (i + 0.5) · in / out − 0.5
    const axis = fc.oneof(
      fc.record({ from: side, extra: fc.integer({ min: 0, max: 40 }) }).map(({ from, extra }) => ({ from, to: from + extra })),
      fc.record({ to: side, k: fc.integer({ min: 2, max: 4 }) }).map(({ to, k }) => ({ from: to * k, to })),
    );
    const slope = fc.double({ min: -3, max: 3, noNaN: true });
    fc.assert(
      fc.property(axis, axis, slope, slope, (ys, xs, b, c) => {
        const f = (y: number, x: number): number => 100 + b * x + c * y;
        const img = image(1, ys.from, xs.from, Float32Array.from({ length: ys.from * xs.from }, (_, i) => f(Math.floor(i / xs.from), i % xs.from)));
        const src = (i: number, { from, to }: { from: number; to: number }): number => Math.min(Math.max(((i + 0.5) * from) / to - 0.5, 0), from - 1);
        const out = resize(img, ys.to, xs.to);
        for (let y = 0; y < ys.to; y++) for (let x = 0; x < xs.to; x++) expect(Math.abs(at(out, 0, y, x) - f(src(y, ys), src(x, xs)))).toBeLessThan(1e-3);
      }),
    );
  });

  it('to the same size is the identity', () => {
    fc.assert(
      fc.property(imageArb, (img) => {
        expect(resize(img, img.height, img.width).data).toEqual(img.data);
      }),
    );
  });
});

describe('crops and mirrors', () => {
  it('ten crops: corners hold the corner pixels, the centre is centred, 5..9 mirror 0..4', () => {
    fc.assert(
      fc.property(imageArb, fc.integer({ min: 1, max: 64 }), (img, size) => {
        fc.pre(size <= img.height && size <= img.width);
        const crops = tenCrops(img, size);
        expect(crops).toHaveLength(10);
        for (const k of crops) expect([k.channels, k.height, k.width]).toEqual([img.channels, size, size]);
        const [H, W, s] = [img.height, img.width, size];
        for (let c = 0; c < img.channels; c++) {
          expect(at(crops[0], c, 0, 0)).toBe(at(img, c, 0, 0));
          expect(at(crops[1], c, 0, s - 1)).toBe(at(img, c, 0, W - 1));
          expect(at(crops[2], c, s - 1, 0)).toBe(at(img, c, H - 1, 0));
          expect(at(crops[3], c, s - 1, s - 1)).toBe(at(img, c, H - 1, W - 1));
          expect(at(crops[4], c, 0, 0)).toBe(at(img, c, Math.floor((H - s) / 2), Math.floor((W - s) / 2)));
        }
        for (let i = 0; i < 5; i++) expect(crops[5 + i].data).toEqual(flipHorizontal(crops[i]).data);
      }),
    );
  });

  it('mirroring twice is the identity, once reverses each row', () => {
    fc.assert(
      fc.property(imageArb, (img) => {
        const once = flipHorizontal(img);
        expect(flipHorizontal(once).data).toEqual(img.data);
        expect(at(once, img.channels - 1, img.height - 1, 0)).toBe(at(img, img.channels - 1, img.height - 1, img.width - 1));
      }),
    );
  });

  it('ten crops of a constant image are ten identical images', () => {
    const crops = tenCrops(image(3, 256, 256, new Float32Array(3 * 256 * 256).fill(42)), 227);
    const bytes = (k: Image): Buffer => Buffer.from(k.data.buffer, k.data.byteOffset, k.data.byteLength);
    for (const k of crops) expect(bytes(k).equals(bytes(crops[0]))).toBe(true);
    expect(crops[0].data[0]).toBe(42);
  });

  it('centre crop offsets round down; crops outside the image are refused', () => {
    const img = image(1, 256, 257, Float32Array.from({ length: 256 * 257 }, (_, i) => i));
    expect(centerCrop(img, 227, 227).data[0]).toBe(14 * 257 + 15);
    for (const [t, l, h, w] of [[0, 0, 257, 1], [-1, 0, 1, 1], [0, 250, 1, 8], [0, 0, 0, 1], [0.5, 0, 1, 1]]) {
      expect(() => crop(img, t, l, h, w)).toThrow(expect.objectContaining({ name: 'ShapeError', code: 'BAD_CROP' }));
    }
    expect(() => tenCrops(img, 257)).toThrow(expect.objectContaining({ code: 'BAD_CROP' }));
  });
});

describe('normalize', () => {
  it('(x · scale − mean) / std per channel, or minus a mean image', () => {
    const img = image(3, 2, 2, Float32Array.from({ length: 12 }, (_, i) => 20 * i));
    const out = normalize(img, { resize: 2, crop: 2, scale: 1 / 255, mean: [0.5, 0.25, 0], std: [2, 4, 0.5] });
    for (let i = 0; i < 12; i++) expect(out.data[i]).toBeCloseTo((((20 * i) / 255 - [0.5, 0.25, 0][i >> 2]) / [2, 4, 0.5][i >> 2]), 6);
    const mean = image(3, 2, 2, Float32Array.from({ length: 12 }, (_, i) => i * i));
    expect(Array.from(normalize(img, { resize: 2, crop: 2, scale: 1, mean: 'image' }, mean).data)).toEqual(Array.from({ length: 12 }, (_, i) => 20 * i - i * i));
  });

  it('refuses means and deviations that do not fit the image', () => {
    const img = image(3, 2, 2);
    const p = { resize: 2, crop: 2, scale: 1 };
    const fault = (code: string) => expect.objectContaining({ name: 'ShapeError', code });
    expect(() => normalize(img, { ...p, mean: 'image' })).toThrow(fault('NO_MEAN_IMAGE'));
    expect(() => normalize(img, { ...p, mean: 'image' }, image(3, 2, 3))).toThrow(fault('MEAN_SHAPE'));
    expect(() => normalize(img, { ...p, mean: 'image' }, image(1, 2, 2))).toThrow(fault('MEAN_SHAPE'));
    expect(() => normalize(img, { ...p, mean: [1, 2] })).toThrow(fault('MEAN_SHAPE'));
    expect(() => normalize(image(1, 2, 2), { ...p, mean: [1, 2, 3] })).toThrow(fault('MEAN_SHAPE'));
    expect(() => normalize(img, { ...p, mean: [1, 2, 3], std: [1] })).toThrow(fault('STD_SHAPE'));
  });

  it('prepare: shorter side to `resize`, the centre square, then the mean', () => {
    // 4 x 8 → 2 x 4 by 2 x 2 block means, whose centre 2 x 2 are source columns 2..5
    const img = image(1, 4, 8, Float32Array.from({ length: 32 }, (_, i) => (i * i) % 97));
    const blockMean = (y: number, x: number): number => [0, 1].flatMap((dy) => [0, 1].map((dx) => img.data[(2 * y + dy) * 8 + 2 * x + dx])).reduce((a, v) => a + v, 0) / 4;
    const out = prepare(img, { resize: 2, crop: 1, scale: 0.5, mean: [3], std: [2] });
    expect([out.channels, out.height, out.width]).toEqual([1, 2, 2]);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) expect(at(out, 0, y, x)).toBeCloseTo((blockMean(y, x + 1) * 0.5 - 3) / 2, 5);
    const mean = image(1, 2, 2, Float32Array.of(1, 2, 3, 4));
    const withImage = prepare(img, { resize: 2, crop: 1, scale: 1, mean: 'image' }, mean);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) expect(at(withImage, 0, y, x)).toBeCloseTo(blockMean(y, x + 1) - (1 + 2 * y + x), 4);
  });

  it('stacks images into an NCHW batch, refusing mixed sizes', () => {
    const a = image(2, 3, 4, Float32Array.from({ length: 24 }, (_, i) => i));
    const b = image(2, 3, 4, Float32Array.from({ length: 24 }, (_, i) => -i));
    const x = stackImages([a, b]);
    expect(x.shape).toEqual([2, 2, 3, 4]);
    expect(x.data[24 + 5]).toBe(-5);
    expect(() => stackImages([a, image(2, 4, 3)])).toThrow(ShapeError);
    expect(() => stackImages([])).toThrow(ShapeError);
  });
});
