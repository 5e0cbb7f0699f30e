// `alexnet classify` and `alexnet stats` end to end through the built CLI. The expected answer comes
// from another path: the test builds the network's input from the image's known pixels by the
// preprocessing formulas (no resize is needed at 256x256), runs `alexnet forward` on it, and
// classify must report the same classes and probabilities.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readStats } from '../src/data/stats.js';
import { readNpy, readSafetensors, writeNpy, writeSafetensors } from '../src/io/index.js';
import { tensor } from '../src/tensor.js';

const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
function alexnet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const PAPER = ['--arch', 'paper', '--width', '0.25', '--classes', '10'];
const TORCHVISION = ['--arch', 'torchvision', '--width', '0.25', '--classes', '10'];
const SIDE = 256;
type Top = { class: number; prob: number; label: string };

let dir: string;
let paperWeights: string;
let tvWeights: string;
let tvNamedWeights: string;
const pixels: Uint8Array[] = []; // two images, RGB interleaved, SIDE x SIDE
const images: string[] = [];

/** Deterministic pseudo-random bytes (an LCG: the test's own, independent of the project's PRNG). */
function bytes(n: number, seed: number): Uint8Array {
  let s = seed;
  return Uint8Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24));
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'alexnet-classify-'));
  paperWeights = path.join(dir, 'paper.safetensors');
  tvWeights = path.join(dir, 'tv.safetensors');
  tvNamedWeights = path.join(dir, 'tv-names.safetensors');
  expect(alexnet('init', ...PAPER, '--seed', '3', '--out', paperWeights).status).toBe(0);
  expect(alexnet('init', ...TORCHVISION, '--seed', '4', '--out', tvWeights).status).toBe(0);
  // the same weights under torchvision's state-dict names
  const names: Record<string, string> = { conv1: 'features.0', conv2: 'features.3', conv3: 'features.6', conv4: 'features.8', conv5: 'features.10', fc6: 'classifier.1', fc7: 'classifier.4', fc8: 'classifier.6' };
  const { tensors } = readSafetensors(readFileSync(tvWeights));
  writeFileSync(tvNamedWeights, writeSafetensors(new Map([...tensors].map(([k, t]) => [`${names[k.split('.')[0]]}.${k.split('.')[1]}`, t]))));
  for (let i = 0; i < 2; i++) {
    const rgb = bytes(SIDE * SIDE * 3, 11 + i);
    const png = new PNG({ width: SIDE, height: SIDE });
    for (let p = 0; p < SIDE * SIDE; p++) {
      png.data.set(rgb.subarray(3 * p, 3 * p + 3), 4 * p);
      png.data[4 * p + 3] = 255;
    }
    pixels.push(rgb);
    images.push(path.join(dir, `image${i}.png`));
    writeFileSync(images[i], PNG.sync.write(png));
  }
});

/** The crop at (top, left), mirrored or not, of image i, each value mapped by f(value, channel, y, x). */
function crop(i: number, size: number, top: number, left: number, mirror: boolean, f: (v: number, c: number, y: number, x: number) => number): Float32Array {
  const out = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const sx = left + (mirror ? size - 1 - x : x);
        out[(c * size + y) * size + x] = f(pixels[i][3 * ((top + y) * SIDE + sx) + c], c, top + y, sx);
      }
  return out;
}

/** `alexnet forward` on the given crops; the softmax of each row, averaged over the rows. */
function forwardMean(args: string[], weights: string, crops: Float32Array[], size: number): number[] {
  const input = path.join(dir, `in-${Math.random().toString(36).slice(2)}.npy`);
  const dump = `${input}.dump`;
  const data = new Float32Array(crops.length * crops[0].length);
  crops.forEach((c, j) => data.set(c, j * c.length));
  writeFileSync(input, writeNpy(tensor([crops.length, 3, size, size], data)));
  const r = alexnet('forward', ...args, '--weights', weights, '--input', input, '--dump', dump);
  expect(r.stderr).toBe('');
  const prob = readNpy(readFileSync(path.join(dump, 'prob.npy')));
  return Array.from({ length: 10 }, (_, k) => crops.reduce((s, _c, j) => s + prob.data[j * 10 + k], 0) / crops.length);
}

function classify(...args: string[]): { image: string; top: Top[] }[] {
  const r = alexnet('classify', ...args, '--json');
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { results: { image: string; top: Top[] }[] }).results;
}

function expectTop5(top5: Top[], probs: number[]): void {
  const order = probs.map((p, k) => [p, k]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  expect(top5.map((t) => t.class)).toEqual(order.slice(0, 5).map(([, k]) => k));
  top5.forEach((t) => expect(t.prob).toBeCloseTo(probs[t.class], 6));
}

const IMAGENET_MEAN_255 = [123.675, 116.28, 103.53];

describe('alexnet classify', () => {
  it('paper preset, centre crop: the image minus the mean, cropped at the centre, as forward sees it', () => {
    const results = classify(...PAPER, '--weights', paperWeights, ...images);
    expect(results.map((r) => r.image)).toEqual(images);
    for (let i = 0; i < 2; i++) {
      const off = Math.floor((SIDE - 227) / 2);
      const expected = forwardMean(PAPER, paperWeights, [crop(i, 227, off, off, false, (v, c) => v - IMAGENET_MEAN_255[c])], 227);
      expectTop5(results[i].top, expected);
    }
  });

  it('ten-crop: the softmax averaged over the four corners, the centre and their mirrors', () => {
    const [result] = classify(...PAPER, '--weights', paperWeights, '--tta', 'ten-crop', images[1]);
    const far = SIDE - 227;
    const at = [[0, 0], [0, far], [far, 0], [far, far], [far >> 1, far >> 1]];
    const crops = [false, true].flatMap((mirror) => at.map(([t, l]) => crop(1, 227, t, l, mirror, (v, c) => v - IMAGENET_MEAN_255[c])));
    expectTop5(result.top, forwardMean(PAPER, paperWeights, crops, 227));
  });

  it('torchvision state-dict names with torchvision preprocessing ([0, 1], ImageNet mean/std, crop 224)', () => {
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const [named] = classify(...TORCHVISION, '--weights', tvNamedWeights, images[0]);
    const [ours] = classify(...TORCHVISION, '--weights', tvWeights, images[0]);
    expect(named.top).toEqual(ours.top);
    const expected = forwardMean(TORCHVISION, tvWeights, [crop(0, 224, 16, 16, false, (v, c) => (v / 255 - mean[c]) / std[c])], 224);
    expectTop5(named.top, expected);
    const wrongArch = alexnet('classify', ...PAPER, '--weights', tvNamedWeights, images[0]);
    expect(wrongArch.status).toBe(1);
    expect(wrongArch.stderr).toMatch(/UsageError \[ARCH\].*torchvision/);
  });

  it('prints class names from --labels, the ImageNet names for 1000 classes', () => {
    const labels = path.join(dir, 'labels.txt');
    const names = Array.from({ length: 10 }, (_, k) => `thing number ${k}`);
    writeFileSync(labels, `${names.join('\n')}\n`);
    const [r] = classify(...PAPER, '--weights', paperWeights, '--labels', labels, images[0]);
    for (const t of r.top) expect(t.label).toBe(names[t.class]);
    const text = alexnet('classify', ...PAPER, '--weights', paperWeights, '--labels', labels, images[0]);
    expect(text.stdout).toContain(`%  ${names[r.top[0].class]} (${r.top[0].class})`);
    const imagenet = readFileSync(new URL('../src/data/imagenet-classes.txt', import.meta.url), 'utf8').trimEnd().split('\n');
    expect(imagenet).toHaveLength(1000);
    expect([imagenet[0], imagenet[281], imagenet[999]]).toEqual(['tench', 'tabby', 'toilet tissue']);
  });

  it('refuses bad input with named errors and exit code 1', () => {
    const short = path.join(dir, 'short.txt');
    writeFileSync(short, 'a\nb\n');
    const notImage = path.join(dir, 'notes.png');
    writeFileSync(notImage, 'hello');
    for (const [args, pattern] of [
      [[...PAPER, '--weights', paperWeights, '--labels', short, images[0]], /UsageError \[LABELS\].*2 lines.*10 classes/],
      [[...PAPER, images[0]], /UsageError \[NO_WEIGHTS\]/],
      [[...PAPER, '--weights', paperWeights, notImage], /ImageError \[UNSUPPORTED\].*notes\.png/],
      [[...PAPER, '--weights', paperWeights, path.join(dir, 'missing.png')], /UsageError \[READ\].*missing\.png: no such file/],
    ] as const) {
      const r = alexnet('classify', ...args);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(pattern);
    }
  });
});

describe('alexnet stats', () => {
  it('writes the mean image and pixel PCA of an image folder, which classify then subtracts', () => {
    const data = path.join(dir, 'folder');
    images.forEach((img, i) => {
      mkdirSync(path.join(data, `class${i}`), { recursive: true });
      writeFileSync(path.join(data, `class${i}`, 'a.png'), readFileSync(img));
    });
    const out = path.join(dir, 'stats.safetensors');
    const r = alexnet('stats', data, '--out', out, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ images: 2, resize: 256 });
    const stats = readStats(readFileSync(out), out);
    const meanAt = (c: number, y: number, x: number): number => (pixels[0][3 * (y * SIDE + x) + c] + pixels[1][3 * (y * SIDE + x) + c]) / 2;
    for (const [c, y, x] of [[0, 0, 0], [1, 100, 7], [2, 255, 255]]) expect(stats.meanImage.data[(c * SIDE + y) * SIDE + x]).toBe(meanAt(c, y, x));

    const [result] = classify(...PAPER, '--weights', paperWeights, '--stats', out, images[0]);
    const expected = forwardMean(PAPER, paperWeights, [crop(0, 227, 14, 14, false, (v, c, y, x) => v - meanAt(c, y, x))], 227);
    expectTop5(result.top, expected);
  });
});
