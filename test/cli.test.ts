// The `alexnet` command end to end, as a user runs it: the built binary in a child process.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as errors from '../src/errors.js';
import { readNpy, readSafetensors, writeNpy, writeSafetensors } from '../src/io/index.js';
import { tensor } from '../src/tensor.js';
import { webgpuUnderTest } from './backends.js';
import { oracleAlexnet } from './oracle-net.js';
import { fromF32, randomData, relErr } from './oracle.js';

const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

function alexnet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const SMALL = ['--arch', 'paper', '--width', '0.25', '--classes', '10'];
let dir: string;
let weights: string;
let input: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'alexnet-cli-'));
  weights = path.join(dir, 'w.safetensors');
  input = path.join(dir, 'x.npy');
  const r = alexnet('init', ...SMALL, '--seed', '1', '--out', weights);
  expect(r.stderr).toMatch(/wrote .*w\.safetensors/);
  expect(r.status).toBe(0);
  writeFileSync(input, writeNpy(tensor([2, 3, 227, 227], randomData(2 * 3 * 227 * 227, 9, -120, 135))));
});

describe('alexnet info', () => {
  it('reports the published parameter counts', () => {
    for (const [arch, params] of [['paper', 60_965_224], ['bvlc', 60_965_224], ['torchvision', 61_100_840]] as const) {
      const r = alexnet('info', '--arch', arch, '--json');
      expect(r.status).toBe(0);
      const info = JSON.parse(r.stdout) as { params: number; layers: { name: string; params: number }[] };
      expect(info.params).toBe(params);
      expect(info.layers.reduce((s, l) => s + l.params, 0)).toBe(params);
    }
  });

  it('prints a table with every layer and the total', () => {
    const r = alexnet('info');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/conv1\s+conv2d\s+\[96, 55, 55\]\s+34,944/);
    expect(r.stdout).toMatch(/total\s+60,965,224/);
  });
});

describe('alexnet info --devices', () => {
  it('places every layer and counts the bytes each receives from the other tower', () => {
    const r = alexnet('info', '--arch', 'paper', '--devices', '2', '--json');
    expect(r.status).toBe(0);
    const info = JSON.parse(r.stdout) as { transfer_bytes_per_image: number; layers: { name: string; placement: string; receives: { bytes: number; reason: string }[] }[] };
    const layer = (name: string) => info.layers.find((l) => l.name === name)!;
    expect(layer('conv2').placement).toBe('d0 d1');
    expect(layer('prob').placement).toBe('d0');
    expect(layer('conv3').receives).toEqual([{ from: 1, to: 0, bytes: 86528, reason: 'all-gather' }, { from: 0, to: 1, bytes: 86528, reason: 'all-gather' }].map(({ bytes, reason }) => expect.objectContaining({ bytes, reason })));
    expect(layer('conv2').receives).toEqual([]);
    expect(info.transfer_bytes_per_image).toBe(info.layers.reduce((s, l) => s + l.receives.reduce((a, t) => a + t.bytes, 0), 0));
    expect(alexnet('info', '--arch', 'paper', '--devices', '2').stdout).toMatch(/conv3\s+conv2d.*d0 d1\s+173,056 \(all-gather\)/);
  });
});

describe('alexnet init', () => {
  it('is repeatable byte for byte for a seed, and the seed matters', () => {
    const again = path.join(dir, 'again.safetensors');
    const other = path.join(dir, 'other.safetensors');
    expect(alexnet('init', ...SMALL, '--seed', '1', '--out', again).status).toBe(0);
    expect(alexnet('init', ...SMALL, '--seed', '2', '--out', other).status).toBe(0);
    expect(readFileSync(again).equals(readFileSync(weights))).toBe(true);
    expect(readFileSync(other).equals(readFileSync(weights))).toBe(false);
  });
});

describe('alexnet forward', () => {
  it('dumps every layer, each matching an independent float64 network within 1e-5', () => {
    const dump = path.join(dir, 'dump');
    const r = alexnet('forward', ...SMALL, '--weights', weights, '--input', input, '--backend', 'reference', '--dump', dump);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^image 0: /m);
    expect(r.stdout).toMatch(/^image 1: /m);
    const { tensors } = readSafetensors(readFileSync(weights));
    const x = readNpy(readFileSync(input));
    const expected = oracleAlexnet('paper', tensors, fromF32(x.shape, x.data));
    for (const [layer, ref] of expected) {
      const mine = readNpy(readFileSync(path.join(dump, `${layer}.npy`)));
      expect(mine.shape, layer).toEqual(ref.shape);
      expect(relErr(mine.data, ref.data), layer).toBeLessThanOrEqual(1e-5);
    }
    // every layer of the preset, dropout included, and nothing half-written
    const files = readdirSync(dump).sort();
    expect(files).toContain('drop6.npy');
    expect(files).toContain('drop7.npy');
    expect(files.every((f) => f.endsWith('.npy'))).toBe(true);
  });

  it('runs the same network on the wasm backend within 1e-4 of the float64 network, and reports its memory', () => {
    const dump = path.join(dir, 'dump-wasm');
    const r = alexnet('forward', ...SMALL, '--weights', weights, '--input', input, '--backend', 'wasm', '--threads', '2', '--dump', dump);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^wasm \((relaxed SIMD|SIMD128), 2 threads\): [\d.]+ ms\/image/m);
    expect(r.stdout).toMatch(/^memory: [\d.]+ MiB weights/m);
    const { tensors } = readSafetensors(readFileSync(weights));
    const x = readNpy(readFileSync(input));
    for (const [layer, ref] of oracleAlexnet('paper', tensors, fromF32(x.shape, x.data))) {
      expect(relErr(readNpy(readFileSync(path.join(dump, `${layer}.npy`))).data, ref.data), layer).toBeLessThanOrEqual(1e-4);
    }
    const json = JSON.parse(alexnet('forward', ...SMALL, '--weights', weights, '--input', input, '--backend', 'wasm', '--json').stdout) as { memory_bytes: { weights: number; activations: number } };
    const { params } = JSON.parse(alexnet('info', ...SMALL, '--json').stdout) as { params: number };
    expect(json.memory_bytes.weights).toBeGreaterThanOrEqual(4 * params);
    expect(json.memory_bytes.activations).toBeGreaterThan(0);
  });

  it('--devices 2 writes the same layers as one device, bit for bit, on every backend', () => {
    const dump = (name: string, ...args: string[]): string => {
      const dir = path.join(dir0, name);
      const r = alexnet('forward', ...SMALL, '--weights', weights, '--input', input, '--dump', dir, ...args);
      expect(r.stderr).not.toMatch(/alexnet:/); // Dawn prints its own warnings there
      expect(r.status).toBe(0);
      return dir;
    };
    const dir0 = dir;
    for (const backend of ['reference', 'wasm', ...(webgpuUnderTest ? ['webgpu'] : [])]) {
      const one = dump(`one-${backend}`, '--backend', backend);
      const two = dump(`two-${backend}`, '--backend', backend, '--devices', '2');
      const files = readdirSync(one).sort();
      expect(readdirSync(two).sort()).toEqual(files);
      for (const f of files) expect(readFileSync(path.join(two, f)).equals(readFileSync(path.join(one, f))), `${backend} ${f}`).toBe(true);
    }
  }, 180_000);

  it('--json prints the top-5 per image and a positive median time per image', () => {
    const r = alexnet('forward', ...SMALL, '--weights', weights, '--input', input, '--repeat', '2', '--json');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { top5: { class: number; prob: number }[][]; ms_per_image: number; runs: number; batch: number };
    expect(out.batch).toBe(2);
    expect(out.runs).toBe(2);
    expect(out.ms_per_image).toBeGreaterThan(0);
    expect(out.top5).toHaveLength(2);
    for (const top of out.top5) {
      expect(top).toHaveLength(5);
      expect(new Set(top.map((t) => t.class)).size).toBe(5);
      for (let i = 1; i < 5; i++) expect(top[i].prob).toBeLessThanOrEqual(top[i - 1].prob);
    }
  });

  it('runs on built-in defaults (paper initialisation and a random image) and says so', () => {
    const r = alexnet('forward', ...SMALL);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/no --weights: the paper's initialisation of paper with seed 1, an untrained network/);
    expect(r.stdout).toMatch(/^image 0: /m);
  });

  it('accepts a single [C, H, W] image as a batch of one', () => {
    const single = path.join(dir, 'single.npy');
    writeFileSync(single, writeNpy(tensor([3, 227, 227], randomData(3 * 227 * 227, 4, -100, 100))));
    const r = alexnet('forward', ...SMALL, '--weights', weights, '--input', single, '--json');
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { batch: number }).batch).toBe(1);
  });
});

describe('bad input: a named error, a non-zero exit, nothing written', () => {
  const corrupt = (name: string, bytes: Uint8Array): string => {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    return file;
  };
  const good = (): Uint8Array => readFileSync(weights);
  const cases: [string, () => string[], RegExp][] = [
    ['truncated weights', () => ['--weights', corrupt('trunc.safetensors', good().subarray(0, 5000))], /SafetensorsError \[OFFSETS\]/],
    ['a header length beyond the file', () => ['--weights', corrupt('hlen.safetensors', (() => { const b = Buffer.from(good()); b.writeBigUInt64LE(10n ** 9n, 0); return b; })())], /SafetensorsError \[HEADER_LENGTH\]/],
    ['weights without most tensors', () => ['--weights', corrupt('partial.safetensors', writeSafetensors(new Map([['conv1.weight', tensor([48, 3, 11, 11])]])))], /WeightsError \[MISSING\]/],
    ['weights of another width', () => { const f = path.join(dir, 'wider.safetensors'); alexnet('init', '--arch', 'paper', '--width', '0.5', '--classes', '10', '--out', f); return ['--weights', f]; }, /WeightsError \[SHAPE\]: .*conv1\.weight is \[48, 3, 11, 11\], the model needs \[24, 3, 11, 11\]/],
    ['NaN weights', () => {
      const { tensors } = readSafetensors(good());
      tensors.get('fc7.weight')!.data[3] = NaN;
      return ['--weights', corrupt('nan.safetensors', writeSafetensors(tensors))];
    }, /WeightsError \[NONFINITE\]: .*fc7\.weight/],
    ['a missing weights file', () => ['--weights', path.join(dir, 'nope.safetensors')], /UsageError \[READ\]: cannot read --weights .*nope\.safetensors: no such file/],
    ['a float64 input', () => ['--input', corrupt('f8.npy', (() => { const b = Buffer.from(writeNpy(tensor([1, 3, 227, 227]))); b.write('<f8', b.indexOf('<f4'), 'latin1'); return b; })())], /NpyError \[DTYPE\]/],
    ['an input of the wrong size', () => ['--input', corrupt('small.npy', writeNpy(tensor([1, 3, 224, 224])))], /ShapeError \[INPUT\]: input has shape \[1, 3, 224, 224\]; the model needs \[N, 3, 227, 227\]/],
    ['an unknown backend', () => ['--backend', 'cuda'], /argument 'cuda' is invalid.*reference, wasm, webgpu/],
    ['a split the channels do not allow', () => ['--devices', '4'], /PartitionError \[UNSPLITTABLE\]: layer "fc8" \(linear\) cannot be split over 4 devices/],
    ['--threads on the reference backend', () => ['--backend', 'reference', '--threads', '2'], /UsageError \[THREADS\]/],
    ['a width that is not a number', () => ['--width', 'wide'], /expected a positive number, got "wide"/],
  ];
  it.each(cases)('%s', (_what, args, message) => {
    const dump = path.join(dir, `dump-${Math.random().toString(36).slice(2)}`);
    const extra = args();
    const base = ['forward', ...SMALL, '--weights', weights, '--input', input, '--dump', dump];
    const r = alexnet(...base, ...extra);
    expect(r.stderr).toMatch(message);
    expect(r.status).not.toBe(0);
    expect(existsSync(dump)).toBe(false);
  });

  it('init refuses a bad model option and writes nothing', () => {
    const out = path.join(dir, 'never.safetensors');
    const r = alexnet('init', '--arch', 'paper', '--size', '40', '--out', out);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/GraphError \[SHAPE\]: node "pool\d"/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).some((f) => f.includes('.tmp-'))).toBe(false);
  });
});

// The CLI and the notebook page print an error's name first; a bundle's minifier renames classes,
// so each name is spelled out and must be the class's own.
describe('error names', () => {
  it('each error class names itself', () => {
    for (const [name, ErrorClass] of Object.entries(errors)) {
      const e = new (ErrorClass as new (code: string, message: string) => Error)('CODE', 'message');
      expect(e.name, name).toBe(name);
      expect(String(e)).toBe(`${name}: message`);
    }
  });
});
