// Datasets, the training/testing pipeline's determinism, prefetch workers and dataset statistics,
// on datasets the tests write themselves (and Debian's Fashion-MNIST where installed).
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, openDataset, resolveDataset } from '../src/data/datasets.js';
import type { DataStats, PipelineSpec } from '../src/data/pipeline.js';
import { epochOrder } from '../src/data/batches.js';
import { Prefetcher } from '../src/data/prefetch.js';
import type { Batch } from '../src/data/prefetch.js';
import { computeStats, readStats, writeStats } from '../src/data/stats.js';
import { DatasetError } from '../src/errors.js';
import { writeSafetensors } from '../src/io/index.js';
import { tensor } from '../src/tensor.js';
import { idx, writeIdxDataset } from './idx.js';

const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'alexnet-data-'));

/** An 8-bit RGB PNG whose pixel (x, y) has channel c = f(c, y, x). */
function png(width: number, height: number, f: (c: number, y: number, x: number) => number): Buffer {
  const p = new PNG({ width, height });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 4; c++) p.data[(y * width + x) * 4 + c] = c === 3 ? 255 : f(c, y, x);
  return PNG.sync.write(p);
}

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as DatasetError).code;
  }
  return undefined;
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: DatasetError) => (e instanceof DatasetError ? e.code : `not a DatasetError: ${String(e)}`),
  );
}

describe('image folder', () => {
  let root: string;
  beforeAll(() => {
    root = tmp();
    for (const [split, cls, files] of [['train', 'zebra', 3], ['train', 'ant', 2], ['test', 'ant', 1], ['test', 'zebra', 1]] as const) {
      mkdirSync(path.join(root, split, cls), { recursive: true });
      for (let i = 0; i < files; i++) writeFileSync(path.join(root, split, cls, `${i}.png`), png(5, 3, (c) => 10 * i + c));
    }
    writeFileSync(path.join(root, 'train', 'ant', 'notes.txt'), 'not an image');
  });

  it('takes classes from sorted subfolder names and splits from train/ and test/', async () => {
    const train = await openDataset(resolveDataset(root, 'train'));
    expect(train.classes).toEqual(['ant', 'zebra']);
    expect(train.length).toBe(5); // notes.txt is not an image
    expect(Array.from({ length: 5 }, (_, i) => train.label(i))).toEqual([0, 0, 1, 1, 1]);
    const img = await train.load(3, 3); // zebra/1.png
    expect([img.channels, img.height, img.width]).toEqual([3, 3, 5]);
    expect([img.data[0], img.data[15], img.data[30]]).toEqual([10, 11, 12]);
    expect((await openDataset(resolveDataset(root, 'test'))).length).toBe(2);
  });

  it('refuses a folder without classes, an empty class, a missing folder', async () => {
    const empty = tmp();
    expect(await codeOf(openDataset(resolveDataset(empty, 'train')))).toBe('NO_CLASSES');
    mkdirSync(path.join(empty, 'cat'));
    expect(await codeOf(openDataset(resolveDataset(empty, 'train')))).toBe('EMPTY_CLASS');
    expect(code(() => resolveDataset(path.join(empty, 'nope'), 'train'))).toBe('NOT_FOUND');
  });
});

describe('IDX (Fashion-MNIST format)', () => {
  it.each([false, true])('reads images and labels (gzip %s)', async (gz) => {
    const dir = tmp();
    writeIdxDataset(dir, 12, 4, 3, gz);
    const d = await openDataset(resolveDataset(dir, 'test'));
    expect(d.spec.kind).toBe('fashion-mnist');
    expect(d.length).toBe(12);
    expect(d.classes).toEqual(FASHION_MNIST_CLASSES);
    expect(d.label(11)).toBe(1);
    const img = await d.load(5, 3);
    expect([img.channels, img.height, img.width]).toEqual([3, 4, 3]);
    for (let c = 0; c < 3; c++) for (let j = 0; j < 12; j++) expect(img.data[c * 12 + j]).toBe((35 + j) % 256);
  });

  it('refuses corrupt files with named errors', async () => {
    const cases: [string, (dir: string) => void][] = [
      ['truncated images', (dir) => writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), idx([12, 4, 3], new Uint8Array(100)))],
      ['wrong magic', (dir) => writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), Buffer.from([0, 0, 9, 1, 0, 0, 0, 12, ...new Uint8Array(12)]))],
      ['labels count', (dir) => writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), idx([11], new Uint8Array(11)))],
      ['label out of range', (dir) => writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), idx([12], new Uint8Array(12).fill(10)))],
      ['not gzip', (dir) => writeFileSync(path.join(dir, 't10k-images-idx3-ubyte.gz'), 'plain text')],
    ];
    for (const [what, corrupt] of cases) {
      const dir = tmp();
      writeIdxDataset(dir, 12, 4, 3, what === 'not gzip');
      corrupt(dir);
      expect(await codeOf(openDataset(resolveDataset(dir, 'test'))), what).toBe('CORRUPT');
    }
  });

  it('reads Debian\'s Fashion-MNIST: 10,000 test images of 28x28, 1,000 per class', async (ctx) => {
    if (!existsSync(FASHION_MNIST_DIR)) {
      if (process.env.CI) throw new Error(`${FASHION_MNIST_DIR} is missing: CI installs Debian's dataset-fashion-mnist`);
      ctx.skip(`${FASHION_MNIST_DIR} is not installed (Debian package dataset-fashion-mnist)`);
    }
    const d = await openDataset(resolveDataset('fashion-mnist', 'test'));
    expect(d.length).toBe(10_000);
    const img = await d.load(0, 1);
    expect([img.channels, img.height, img.width]).toEqual([1, 28, 28]);
    const perClass = new Array<number>(10).fill(0);
    for (let i = 0; i < d.length; i++) perClass[d.label(i)]++;
    expect(perClass).toEqual(new Array(10).fill(1000));
  });
});

describe('prefetch', () => {
  let dir: string;
  let stats: DataStats;
  beforeAll(async () => {
    dir = tmp();
    writeIdxDataset(dir, 37, 9, 11, false);
    stats = await computeStats(await openDataset(resolveDataset(dir, 'train')), 10, 3);
  });
  const pipeline = (train: boolean): PipelineSpec => ({ preprocessing: { resize: 10, crop: 7, scale: 1, mean: 'image' }, channels: 3, train, pcaStd: 0.1, stats });

  async function collect(workers: number, seed: number, epoch: number, train = true): Promise<Batch[]> {
    const p = await Prefetcher.open({ dataset: resolveDataset(dir, 'train'), pipeline: pipeline(train), batch: 8, seed, workers, shuffle: train });
    try {
      const out: Batch[] = [];
      for await (const b of p.epoch(epoch)) out.push(b);
      return out;
    } finally {
      await p.close();
    }
  }
  const bits = (bs: Batch[]): number[][] => bs.map((b) => [...new Uint32Array(b.x.data.buffer, b.x.data.byteOffset, b.x.data.length), ...b.labels]);

  it('yields the same batches, bit for bit, with 0, 1 and 2 workers', async () => {
    const [none, one, two] = [await collect(0, 5, 1), await collect(1, 5, 1), await collect(2, 5, 1)];
    expect(none.map((b) => b.x.shape)).toEqual([...Array(4).fill([8, 3, 7, 7]), [5, 3, 7, 7]]);
    expect(bits(one)).toEqual(bits(none));
    expect(bits(two)).toEqual(bits(none));
  });

  it('visits every sample once per epoch, in a new order each epoch and seed', async () => {
    const a = await collect(2, 5, 1);
    const indices = a.flatMap((b) => [...b.indices]);
    expect([...indices].sort((x, y) => x - y)).toEqual(Array.from({ length: 37 }, (_, i) => i));
    expect(a.flatMap((b) => [...b.labels])).toEqual(indices.map((i) => i % 10));
    expect(indices).not.toEqual(Array.from({ length: 37 }, (_, i) => i));
    expect(bits(await collect(2, 5, 2))).not.toEqual(bits(a));
    expect(bits(await collect(2, 6, 1))).not.toEqual(bits(a));
    expect(epochOrder(37, 5, 1, true)).toEqual(epochOrder(37, 5, 1, true));
  });

  it('tests on centre crops in dataset order, the same every epoch', async () => {
    const a = await collect(1, 5, 1, false);
    expect(a.flatMap((b) => [...b.indices])).toEqual(Array.from({ length: 37 }, (_, i) => i));
    expect(bits(await collect(0, 9, 3, false))).toEqual(bits(a));
  });

  it('reports a sample that cannot be made with its named error', async () => {
    const bad = tmp();
    mkdirSync(path.join(bad, 'a'));
    writeFileSync(path.join(bad, 'a', 'x.png'), 'not a png');
    const p = await Prefetcher.open({ dataset: resolveDataset(bad, 'train'), pipeline: { ...pipeline(false), stats: undefined, preprocessing: { resize: 10, crop: 7, scale: 1, mean: [0, 0, 0] } }, batch: 1, seed: 1, workers: 1, shuffle: false });
    try {
      await expect(p.epoch(0).next()).rejects.toMatchObject({ name: 'ImageError' });
    } finally {
      await p.close();
    }
  });
});

describe('dataset statistics', () => {
  it('computes the mean image and pixel covariance of the rescaled images, and round-trips them', async () => {
    const dir = tmp();
    writeIdxDataset(dir, 6, 5, 5, false);
    const d = await openDataset(resolveDataset(dir, 'train'));
    const s = await computeStats(d, 5, 3); // 5x5 stays 5x5: the statistics of the raw pixels
    const pixels = Array.from({ length: 6 }, (_, i) => Array.from({ length: 25 }, (_, j) => (7 * i + j) % 256));
    for (let j = 0; j < 25; j++) expect(s.meanImage.data[50 + j]).toBeCloseTo(pixels.reduce((a, p) => a + p[j], 0) / 6, 4);
    const all = pixels.flat();
    const mean = all.reduce((a, b) => a + b, 0) / all.length;
    const variance = all.reduce((a, b) => a + (b - mean) ** 2, 0) / all.length;
    expect(s.pixelMean[1]).toBeCloseTo(mean, 9);
    // grey pixels copied to R, G and B: every covariance entry is the variance, one eigenvalue 3x it
    for (const v of s.covariance) expect(v).toBeCloseTo(variance, 6);
    expect(s.eigenvalues[0]).toBeCloseTo(3 * variance, 5);
    expect(Math.abs(s.eigenvalues[1]) + Math.abs(s.eigenvalues[2])).toBeLessThan(1e-6 * variance);
    for (const v of s.eigenvectors.subarray(0, 3)) expect(v).toBeCloseTo(1 / Math.sqrt(3), 9);

    const back = readStats(writeStats(s, dir), 'stats');
    expect(back.images).toBe(6);
    expect(back.meanImage.data).toEqual(s.meanImage.data);
    expect(Array.from(back.eigenvalues)).toEqual(Array.from(s.eigenvalues, Math.fround));
  });

  it('refuses a file that is not a stats file', () => {
    const weights = writeSafetensors(new Map([['conv1.weight', tensor([2, 2])]]));
    expect(code(() => readStats(weights, 'w.safetensors'))).toBe('BAD_STATS');
    const wrong = writeSafetensors(new Map([['mean_image', tensor([3, 2, 2])], ['pixel_mean', tensor([3])], ['pixel_covariance', tensor([3, 3])], ['pca_eigenvalues', tensor([1])], ['pca_eigenvectors', tensor([3, 3])]]));
    expect(code(() => readStats(wrong, 'stats'))).toBe('BAD_STATS');
  });
});
