// What a newcomer meets first (issue 15), on the built CLI as child processes: fast defaults, the
// main command on the built-in samples, the warning for an image the built-in model was not made
// for, a short training run whose folder every command takes alone, a quiet end on a closed pipe,
// grey data recognised by `stats`, and help texts that state the real defaults.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR } from '../src/data/datasets.js';

const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const SAMPLES = fileURLToPath(new URL('../models/mini-fashion/samples/', import.meta.url));
const alexnet = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
const dir = mkdtempSync(path.join(tmpdir(), 'alexnet-first-'));

const skip = !existsSync(FASHION_MNIST_DIR) && !process.env.CI;
if (skip) console.warn(`first-minutes tests skipped: ${FASHION_MNIST_DIR} is missing (Debian package dataset-fashion-mnist)`);

/** A photo-like PNG: a colour gradient with a red disc on a light background, 320x240. */
function photo(file: string): string {
  const png = new PNG({ width: 320, height: 240 });
  for (let y = 0; y < 240; y++) {
    for (let x = 0; x < 320; x++) {
      const disc = (x - 160) ** 2 + (y - 120) ** 2 < 60 ** 2;
      png.data.set(disc ? [200, 40, 30, 255] : [230 - y / 4, 220, 200 + x / 8, 255], 4 * (y * 320 + x));
    }
  }
  writeFileSync(file, PNG.sync.write(png));
  return file;
}

describe.skipIf(skip)('the first minutes', () => {
  it('the main command: classify with no arguments names the built-in samples\' classes, on wasm, in seconds', () => {
    const start = performance.now();
    const r = alexnet('classify', '--top', '1', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/no images given: the built-in model's 10 samples/);
    const out = JSON.parse(r.stdout) as { backend: string; results: { image: string; top: { label: string }[] }[] };
    expect(out.backend).toBe('wasm');
    // the samples are named after their true class: a correct answer is the file's name
    const right = out.results.filter((res) => path.basename(res.image, '.png') === res.top[0].label.toLowerCase().replace(/[^a-z]+/g, '-'));
    expect(out.results).toHaveLength(10);
    expect(right.length).toBeGreaterThanOrEqual(8);
    expect(performance.now() - start).toBeLessThan(30_000); // a bound against the reference backend's minutes, not a benchmark
  });

  it('forward and eval default to the wasm backend, and forward says the network is untrained', () => {
    const forward = alexnet('forward');
    expect(forward.status, forward.stderr).toBe(0);
    expect(forward.stdout).toMatch(/^wasm \(/m);
    expect(forward.stderr).toMatch(/an untrained network/);
    const evaluated = alexnet('eval', '--limit', '64', '--json');
    expect(evaluated.status, evaluated.stderr).toBe(0);
    expect(JSON.parse(evaluated.stdout).images).toBe(64);
  });

  it('warns for a colour photo, naming what the built-in model knows; not for a Fashion-MNIST image', () => {
    const cat = alexnet('classify', photo(path.join(dir, 'photo.png')));
    expect(cat.status, cat.stderr).toBe(0);
    expect(cat.stderr).toMatch(/warning: .*photo\.png is in colour, 320x240 pixels and on a light background, but this model only knows Fashion-MNIST: 10 kinds of clothing/);
    expect(cat.stderr).toMatch(/ImageNet AlexNet weights/);
    const step = alexnet('step', path.join(dir, 'photo.png'), '--out', path.join(dir, 'photo-step'));
    expect(step.stderr).toMatch(/warning: .*only knows Fashion-MNIST/);
    expect(readFileSync(path.join(dir, 'photo-step', 'walkthrough.md'), 'utf8')).toMatch(/\*\*Warning:\*\* .*only knows Fashion-MNIST/);
    for (const file of readdirSync(SAMPLES).filter((f) => f.endsWith('.png'))) {
      const r = alexnet('classify', path.join(SAMPLES, file), '--top', '1');
      expect(r.stderr, file).not.toMatch(/warning/);
    }
  });

  it('a short training run with no model options gives a folder that classify, eval, step and forward take alone', () => {
    const run = path.join(dir, 'run');
    const trained = alexnet('train', '--data', 'fashion-mnist', '--limit', '256', '--batch', '64', '--epochs', '1', '--workers', '1', '--out', run);
    expect(trained.status, trained.stderr).toBe(0);
    expect(trained.stderr).toMatch(/from the data: --arch mini \(the built-in model's preset, for 28x28 images\), --classes 10, --in-channels 1 \(grey images\)/);
    expect(trained.stderr).toMatch(/the first 256 of 60,000 images/);
    const sample = path.join(SAMPLES, 'bag.png');
    for (const weights of [run, path.join(run, 'weights.safetensors'), path.join(run, 'checkpoints', 'epoch-0001')]) {
      const r = alexnet('classify', sample, '--weights', weights, '--json');
      expect(r.status, `${weights}: ${r.stderr}`).toBe(0);
      for (const t of (JSON.parse(r.stdout) as { results: { top: { label: string }[] }[] }).results[0].top) expect(FASHION_MNIST_CLASSES).toContain(t.label);
    }
    // the weights file alone, copied away from its run folder, is still the whole model
    const alone = path.join(dir, 'alone.safetensors');
    writeFileSync(alone, readFileSync(path.join(run, 'weights.safetensors')));
    const text = alexnet('classify', sample, '--weights', alone);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/%  (T-shirt\/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot) \(\d\)/);
    expect(text.stderr).not.toMatch(/warning|stats/i);
    const evaluated = alexnet('eval', '--weights', run, '--limit', '100', '--json');
    expect(evaluated.status, evaluated.stderr).toBe(0);
    const stepped = alexnet('step', sample, '--weights', run, '--out', path.join(dir, 'run-step'));
    expect(stepped.status, stepped.stderr).toBe(0);
    const forward = alexnet('forward', '--weights', alone, '--json');
    expect(forward.status, forward.stderr).toBe(0);
    expect(JSON.parse(forward.stdout).arch).toBe('mini');
  });

  it('a closed pipe ends a command quietly, with exit code 0', async () => {
    const child = spawn(process.execPath, [BIN, 'info', '--arch', 'paper'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.stdout.once('data', () => child.stdout.destroy()); // as `head -1` does
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('stats takes grey data as one channel, and never prints a negative eigenvalue', () => {
    const grey = alexnet('stats', 'fashion-mnist', '--split', 'test', '--resize', '28', '--out', path.join(dir, 'grey.safetensors'), '--json');
    expect(grey.status, grey.stderr).toBe(0);
    expect(grey.stderr).toMatch(/grey images: 1 channel/);
    expect(JSON.parse(grey.stdout).pca_eigenvalues).toHaveLength(1);
    const three = alexnet('stats', 'fashion-mnist', '--split', 'test', '--resize', '28', '--channels', '3', '--out', path.join(dir, 'three.safetensors'), '--json');
    expect(three.status, three.stderr).toBe(0);
    expect(three.stderr).toMatch(/the images are grey/);
    const values = JSON.parse(three.stdout).pca_eigenvalues as number[];
    expect(values).toHaveLength(3);
    for (const v of values) expect(v).toBeGreaterThanOrEqual(0);
  });
});

describe('help texts', () => {
  // as one line: commander wraps help at the terminal's width
  const help = (command: string): string => alexnet(command, '--help').stdout.replace(/\s+/g, ' ');

  it('state the real defaults: the backend, and the preset told from the weights', () => {
    for (const command of ['forward', 'classify', 'eval', 'step']) expect(help(command), command).toMatch(/--backend <name> .*\(choices: "auto", "reference", "wasm", "webgpu", default: "auto"\)/);
    for (const command of ['classify', 'eval', 'step']) expect(help(command), command).toMatch(/--arch <preset> AlexNet preset \(default: told from --weights; the built-in model is mini\)/);
    expect(help('forward')).toMatch(/default: paper; with --weights, told from them/);
    expect(help('train')).toMatch(/default: mini for images up to 64 pixels/);
  });

  it('offer only the options a command has', () => {
    for (const command of ['eval', 'step']) expect(help(command), command).not.toMatch(/--devices/);
    expect(help('classify')).toMatch(/--devices/);
  });
});
