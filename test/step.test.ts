// The notebook's terminal twin, `alexnet step`: the files it promises, each layer's shape as the
// graph has it, statistics equal to ones computed here from the reference backend's activations,
// pictures of the size their grids need, the top-5 `classify` gives for the same image, and the
// walkthrough's pieces against facts: formulas carry the preset's numbers, colours follow the sign.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { referenceBackend } from '../src/backends/reference/index.js';
import { decodeImage } from '../src/data/decode.js';
import { readStats } from '../src/data/stats.js';
import { testCrops } from '../src/data/pipeline.js';
import { stackImages } from '../src/data/preprocess.js';
import { alexnet } from '../src/models/index.js';
import { PREPROCESSING } from '../src/models/index.js';
import { colour, gridLayout, mapsGridPng } from '../src/notebook/render-png.js';
import { fittingConfigs } from '../src/model-file.js';
import { formulaOf, mapStats } from '../src/notebook/walkthrough.js';
import { readSafetensors } from '../src/io/index.js';
import { runGraph } from '../src/runtime/index.js';
import { tensor } from '../src/tensor.js';
import { paperInit } from '../src/train/index.js';

const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const MODEL = fileURLToPath(new URL('../models/mini-fashion/', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

/** A 28x28 grey PNG: a bright trapezoid on black, shoe-like enough to give a confident class. */
function drawing(file: string): void {
  const png = new PNG({ width: 28, height: 28, colorType: 0 });
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
    const v = y > 14 && y < 24 && x > 3 + (24 - y) / 2 && x < 25 ? 200 : 0;
    png.data.set([v, v, v, 255], 4 * (y * 28 + x));
  }
  writeFileSync(file, PNG.sync.write(png));
}

describe('alexnet step', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'alexnet-step-'));
  const image = path.join(dir, 'shoe.png');
  drawing(image);
  const out = path.join(dir, 'walk');
  const r = run('step', image, '--out', out, '--backend', 'reference');

  it('writes the walkthrough: every layer with its shape, statistics and picture, and classify\'s top-5', async () => {
    expect(r.status, r.stderr).toBe(0);
    const md = readFileSync(path.join(out, 'walkthrough.md'), 'utf8');
    const graph = alexnet({ preset: 'mini' });
    // the activations, independently of the walkthrough's own run: the reference backend, kept all
    const stats = readStats(readFileSync(path.join(MODEL, 'stats.safetensors')), 'stats');
    const spec = { preprocessing: { ...PREPROCESSING.mini }, channels: 1 as const, train: false, pcaStd: 0, stats };
    const x = stackImages(testCrops(decodeImage(readFileSync(image), { source: image, channels: 1 }), spec, 'center'));
    const weights = readSafetensors(readFileSync(path.join(MODEL, 'weights.safetensors')), 'weights').tensors;
    const ref = await runGraph(graph, referenceBackend, weights, x, { keep: 'all' });
    for (const node of graph.nodes.slice(1)) {
      const section = md.split(`\n## ${node.name}: ${node.op.type}\n`)[1]?.split('\n## ')[0];
      expect(section, node.name).toBeDefined();
      const row = section!.split('\n').find((l) => l.startsWith('| ['))!;
      const cells = row.split('|').map((c) => c.trim());
      expect(cells[2], node.name).toBe(`[${node.shape.join(', ')}]`);
      expect(cells[3], node.name).toBe(node.paramCount.toLocaleString('en-US'));
      const a = (node === graph.output ? ref.output : ref.activations.get(node.name)!).data;
      let [min, max] = [Infinity, -Infinity];
      for (const v of a) [min, max] = [Math.min(min, v), Math.max(max, v)];
      // the CLI ran the same reference backend: equal to the 4 digits shown
      expect(Number(cells[6]), `${node.name} min`).toBeCloseTo(Number(min.toPrecision(4)), 10);
      expect(Number(cells[7]), `${node.name} max`).toBeCloseTo(Number(max.toPrecision(4)), 10);
      const picture = /\]\((\d+-[a-z0-9]+\.png)\)/.exec(section!)?.[1];
      if (node.op.type === 'flatten' || node.op.type === 'dropout') continue;
      const png = PNG.sync.read(readFileSync(path.join(out, picture!)));
      if (node.shape.length === 3) {
        // every map a tile of a whole number of pixels per value, large enough to read (48 px or more)
        const [c, h, w] = node.shape;
        const fits = Array.from({ length: 128 }, (_, k) => k + 1).filter((k) => {
          const g = gridLayout(c, h * k, w * k);
          return g.width === png.width && g.height === png.height;
        });
        expect(fits, `${node.name}: ${png.width}x${png.height} is no grid of ${c} maps`).toHaveLength(1);
        expect(h * fits[0], node.name).toBeGreaterThanOrEqual(48);
      } else {
        // a vector as a near-square grid, or the classes as a chart: both legible, neither a strip
        expect(png.width, node.name).toBeGreaterThanOrEqual(200);
        expect(png.width / png.height, node.name).toBeLessThan(3);
        expect(png.height / png.width, node.name).toBeLessThan(3);
      }
    }
    expect(existsSync(path.join(out, 'conv1-filters.png'))).toBe(true);
    const classify = JSON.parse(run('classify', image, '--json').stdout) as { results: { top: { class: number; prob: number }[] }[] };
    const top = md.split('## The prediction')[1].split('\n').filter((l) => /^\| \d/.test(l));
    expect(top.map((l) => Number(/\((\d+)\)/.exec(l)![1]))).toEqual(classify.results[0].top.map((t) => t.class));
    // conv3 reads all 48 maps of pool2 (7x7): each device sends its 24 to the other, 4 bytes a value
    for (const way of ['0 → 1', '1 → 0']) expect(md).toContain(`| conv3 | ${way} | 4,704 | all-gather |`);
    // the split run: each sharded layer half the channels on each device, bit-identical to one device
    const split = md.split('against the one-device run')[1];
    for (const node of graph.nodes.slice(1, -1)) {
      const half = `[${[node.shape[0] / 2, ...node.shape.slice(1)].join(', ')}]`;
      expect(split, node.name).toContain(`| ${node.name} | ${half} | ${half} | 0 (bit-identical) |`);
    }
  });

  it('on wasm, checks every layer against the reference backend', () => {
    const wasm = run('step', image, '--out', path.join(dir, 'wasm'), '--backend', 'wasm');
    expect(wasm.status, wasm.stderr).toBe(0);
    const md = readFileSync(path.join(dir, 'wasm', 'walkthrough.md'), 'utf8');
    const check = md.split('## wasm against the reference backend')[1].split('\n## ')[0];
    const rows = check.split('\n').filter((l) => /^\| [a-z]/.test(l) && !l.startsWith('| layer'));
    expect(rows.map((l) => l.split('|')[1].trim())).toEqual(alexnet({ preset: 'mini' }).nodes.slice(1).map((node) => node.name));
    for (const l of rows) expect(Number(l.split('|')[2]), l).toBeLessThan(1e-4); // the wasm backend's stated tolerance
    expect(readFileSync(path.join(out, 'walkthrough.md'), 'utf8')).not.toContain('against the reference backend');
  });

  it('--interactive prints the cells one at a time, each after an Enter', () => {
    const walked = spawnSync(process.execPath, [BIN, 'step', image, '--out', path.join(dir, 'walked'), '--interactive'], { encoding: 'utf8', input: '\n'.repeat(100) });
    expect(walked.status, walked.stderr).toBe(0);
    const md = readFileSync(path.join(dir, 'walked', 'walkthrough.md'), 'utf8');
    const sections = md.trim().split(/\n(?=## )/).length;
    const prompts = walked.stdout.match(/\[(\d+)\/(\d+)\] Enter for the next cell/g)!;
    // a prompt between cells: one fewer than the cells; each cell printed in order
    expect(prompts.length).toBe(Number(/\/(\d+)\]/.exec(prompts[0])![1]) - 1);
    expect(walked.stdout.indexOf('## conv1: conv2d')).toBeLessThan(walked.stdout.indexOf('## fc8: linear'));
    expect(walked.stdout.indexOf('## fc8: linear')).toBeLessThan(walked.stdout.indexOf('## The prediction'));
    expect(sections).toBeGreaterThan(20);
  });

  it('refuses an existing folder and a broken image by name, leaving nothing behind', () => {
    const again = run('step', image, '--out', out);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/UsageError \[OUT_EXISTS\]/);
    const bad = path.join(dir, 'bad.png');
    writeFileSync(bad, readFileSync(image).subarray(0, 60));
    const broken = run('step', bad, '--out', path.join(dir, 'broken'));
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/ImageError \[TRUNCATED\]/);
    expect(readdirSync(dir).filter((f) => f !== 'walked' && f !== 'wasm').sort()).toEqual(['bad.png', 'shoe.png', 'walk']);
  });
});

describe('walkthrough pieces', () => {
  it('formulas carry the layer\'s own numbers', () => {
    const [lrn] = alexnet({ preset: 'paper' }).nodes.filter((n) => n.op.type === 'lrn');
    expect(formulaOf(lrn.op, lrn.inputShapes[0])).toBe('b[c] = a[c] / (2 + 0.0001 · Σ_{|j − c| ≤ 2} a[j]²)^0.75, j within c\'s group (2 groups)');
    const conv1 = alexnet({ preset: 'paper' }).node('conv1');
    expect(formulaOf(conv1.op, conv1.inputShapes[0])).toContain('x[c, 4i + u, 4j + v]');
  });

  it('statistics and colours by their definitions', () => {
    expect(mapStats([0, -2, 4, 0])).toEqual({ min: -2, max: 4, mean: 0.5, zeros: 0.5 });
    expect(colour(0, -1, 1)).toEqual([255, 255, 255]);
    expect(colour(-1, -1, 1)).toEqual([0, 0, 255]);
    expect(colour(1, -1, 1)).toEqual([255, 0, 0]);
    expect(colour(5, 0, 10)).toEqual([128, 128, 128]);
    // two 1x1 maps on [0, 1]: black then white, inside a mid-grey frame
    const png = PNG.sync.read(Buffer.from(mapsGridPng(tensor([2, 1, 1], Float32Array.of(0, 1)), [0, 1])));
    expect([png.width, png.height]).toEqual([5, 3]);
    const at = (x: number, y: number) => Array.from(png.data.subarray(4 * (y * png.width + x), 4 * (y * png.width + x) + 3));
    expect([at(1, 1), at(3, 1), at(0, 0), at(2, 1)]).toEqual([[0, 0, 0], [255, 255, 255], [128, 128, 128], [128, 128, 128]]);
  });
});

// The notebook's file picker takes weights alone: the preset, width, classes and channels come from their shapes.
describe('a model from its weights', () => {
  it('tells the preset and its options from the shapes, and lists every preset that fits', () => {
    const configs = (preset: 'paper' | 'torchvision' | 'mini', extra: object) => fittingConfigs(paperInit(alexnet({ preset, ...extra }), { seed: 1 }), 'w');
    expect(configs('torchvision', { width: 0.25, classes: 7 })).toEqual([{ preset: 'torchvision', width: 0.25, classes: 7, inChannels: 3 }]);
    expect(configs('mini', { width: 0.5, inChannels: 3 })).toEqual([{ preset: 'mini', width: 0.5, classes: 10, inChannels: 3 }]);
    // a width whose conv1 rounds away from it (96 · 0.3 = 28.8 → 28 maps, which alone would say 0.29)
    const [odd] = configs('paper', { width: 0.3 });
    expect(alexnet(odd).params()).toEqual(alexnet({ preset: 'paper', width: 0.3 }).params());
    // the LRN has no parameters: paper's weights are bvlc's too
    expect(configs('paper', { width: 0.125, classes: 10 }).map((c) => c.preset)).toEqual(['paper', 'bvlc']);
    // `alexnet init` names the preset and the input size in the file's metadata: that preset first, that size
    const small = paperInit(alexnet({ preset: 'bvlc', width: 0.125, inputSize: 99 }), { seed: 1 });
    expect(fittingConfigs(small, 'w', { preset: 'bvlc', inputSize: '99' }).map((c) => [c.preset, c.inputSize])).toEqual([['bvlc', 99], ['paper', 99]]);
    expect(() => fittingConfigs(small, 'w')).toThrow(/fit none of the presets at their own input sizes/);
    expect(() => fittingConfigs(new Map([['conv1.weight', tensor([4, 3, 5, 5])]]), 'odd.safetensors')).toThrow(/odd\.safetensors: no conv1\.weight .* and fc8\.weight/);
    // right ends, wrong middle: named per preset
    const wrong = new Map(paperInit(alexnet({ preset: 'mini' }), { seed: 1 })).set('conv3.weight', tensor([3, 3, 3, 3]));
    expect(() => fittingConfigs(wrong, 'w')).toThrow(/fit none of the presets .*mini: .*conv3\.weight/);
  });
});
