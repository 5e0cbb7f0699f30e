// Training: the SGD update against the paper's formula worked by hand, the schedules, error rates,
// the whole network's gradient against finite differences (dropout masks included), a tiny model
// overfitting a tiny batch on each kernel set, and `alexnet train` killed mid-epoch and resumed to
// the same weights, bit for bit, as a run never interrupted.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { alexnet } from '../src/models/index.js';
import { createRng } from '../src/random.js';
import { tensor } from '../src/tensor.js';
import { paperInit } from '../src/train/index.js';
import { referenceTrainKernels, wasmTrainKernels } from '../src/train/kernels.js';
import { topErrors } from '../src/train/metrics.js';
import { TrainingNetwork } from '../src/train/network.js';
import { afterEpoch, startSchedule } from '../src/train/schedule.js';
import { sgdStep, zeroVelocity } from '../src/train/sgd.js';
import { writeIdxDataset } from './idx.js';
import { randomData } from './oracle.js';

const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

describe('SGD as in the paper', () => {
  it('v ← 0.9v − 0.0005·ε·w − ε·g; w ← w + v, no decay on biases', () => {
    const w0 = [0.5, -1.25, 2];
    const b0 = [0.1, -0.3];
    const params = new Map([['fc.weight', tensor([3], Float32Array.from(w0))], ['fc.bias', tensor([2], Float32Array.from(b0))]]);
    const velocity = new Map([['fc.weight', tensor([3], Float32Array.of(0.01, 0, -0.02))], ['fc.bias', tensor([2], Float32Array.of(0.5, 0))]]);
    const grads = new Map([['fc.weight', tensor([3], Float32Array.of(1, -2, 0.25))], ['fc.bias', tensor([2], Float32Array.of(-1, 3))]]);
    sgdStep(params, grads, velocity, 0.1);
    const vw = [0.01, 0, -0.02].map((v, i) => Math.fround(0.9 * v - 0.0005 * 0.1 * w0[i] - 0.1 * [1, -2, 0.25][i]));
    const vb = [0.5, 0].map((v, i) => Math.fround(0.9 * v - 0.1 * [-1, 3][i]));
    expect(Array.from(velocity.get('fc.weight')!.data)).toEqual(vw);
    expect(Array.from(velocity.get('fc.bias')!.data)).toEqual(vb);
    expect(Array.from(params.get('fc.weight')!.data)).toEqual(w0.map((w, i) => Math.fround(Math.fround(w) + vw[i])));
    expect(Array.from(params.get('fc.bias')!.data)).toEqual(b0.map((b, i) => Math.fround(Math.fround(b) + vb[i])));
  });
});

describe('schedules and error rates', () => {
  it('plateau: ÷10 after `patience` epochs without an improvement above the threshold', () => {
    const s = { kind: 'plateau', patience: 2, threshold: 0.01 } as const;
    let st = startSchedule(0.01);
    const lrs: number[] = [];
    for (const [e, err] of [0.5, 0.4, 0.395, 0.39, 0.3, 0.3, 0.3].entries()) {
      st = afterEpoch(s, st, e, err);
      lrs.push(st.lr);
    }
    // 0.395 and 0.39 improve on 0.4 by < 0.01: two stale epochs, then ÷10; 0.3 improves; two more stale
    expect(lrs).toEqual([0.01, 0.01, 0.01, 0.001, 0.001, 0.001, 0.0001]);
  });

  it('step: ÷10 every n epochs', () => {
    let st = startSchedule(1);
    const lrs = [0, 1, 2, 3, 4, 5].map((e) => (st = afterEpoch({ kind: 'step', every: 2 }, st, e, 0.5)).lr);
    expect(lrs).toEqual([1, 0.1, 0.1, 0.01, 0.01, 0.001]);
  });

  it('top-1 / top-5 error count ties against the true class', () => {
    const prob = Float32Array.from([0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, /* row 2 */ 0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125]);
    const e = topErrors(prob, Int32Array.of(0, 0), 8);
    expect(e).toEqual({ top1: 0.5, top5: 0.5 }); // row 2: seven classes tie with the label
    expect(topErrors(prob, Int32Array.of(6, 2), 8)).toEqual({ top1: 1, top5: 1 });
  });
});

describe('the whole network', () => {
  it('gradients equal finite differences of the loss, with the same dropout masks', () => {
    const g = alexnet({ preset: 'mini', width: 0.25, classes: 4 });
    const net = new TrainingNetwork(g, referenceTrainKernels);
    const params = paperInit(g, { seed: 1, std: 'fan-in', unitBiases: new Set() });
    const x = tensor([3, 1, 28, 28], randomData(3 * 784, 5));
    const labels = Int32Array.of(0, 3, 1);
    const { grads } = net.step(x, labels, params, createRng(7));
    let checked = 0;
    // the loss is float32 arithmetic and ReLUs have kinks: a coarse step, a loose bound (each op's
    // gradient is checked tightly in gradients.test.ts); this checks the chain and the masks
    for (const name of ['fc8.weight', 'fc7.bias', 'fc6.weight', 'conv5.weight', 'conv3.weight']) {
      const w = params.get(name)!;
      const gr = grads.get(name)!;
      for (let i = 0; i < w.data.length && checked < 40; i += Math.max(1, Math.floor(w.data.length / 6))) {
        const old = w.data[i];
        const h = 1e-2;
        w.data[i] = old + h;
        const plus = net.step(x, labels, params, createRng(7)).loss;
        w.data[i] = old - h;
        const minus = net.step(x, labels, params, createRng(7)).loss;
        w.data[i] = old;
        expect(Math.abs((plus - minus) / (2 * h) - gr.data[i]), `${name}[${i}]`).toBeLessThan(5e-3 + 0.05 * Math.abs(gr.data[i]));
        checked++;
      }
    }
  });

  for (const kernels of ['reference', 'wasm'] as const) {
    it(`a tiny model overfits a tiny batch (${kernels})`, async () => {
      const g = alexnet({ preset: 'mini', width: 0.25, classes: 4 });
      const net = new TrainingNetwork(g, kernels === 'wasm' ? await wasmTrainKernels() : referenceTrainKernels);
      const params = paperInit(g, { seed: 1, std: 'fan-in', unitBiases: new Set() });
      const velocity = zeroVelocity(params);
      const x = tensor([8, 1, 28, 28], randomData(8 * 784, 11));
      const labels = Int32Array.of(0, 1, 2, 3, 0, 1, 2, 3);
      let loss = Infinity;
      // dropout off (no PRNG): a model this narrow cannot memorise through it in a few steps
      for (let s = 0; s < 60; s++) {
        const r = net.step(x, labels, params);
        sgdStep(params, r.grads, velocity, 0.01);
        loss = r.loss;
      }
      expect(loss).toBeLessThan(0.05);
    });
  }
});

describe('alexnet train', () => {
  const data = mkdtempSync(path.join(tmpdir(), 'alexnet-train-data-'));
  writeIdxDataset(data, 600, 28, 28, true);
  const args = (out: string) => ['train', '--arch', 'mini', '--width', '0.25', '--data', data, '--batch', '20', '--workers', '1', '--seed', '3', '--epochs', '2', '--out', out];
  const run = (...a: string[]) => spawnSync(process.execPath, [BIN, ...a], { encoding: 'utf8' });

  it('killed mid-epoch and resumed, ends with the same weights, bit for bit, as an uninterrupted run', async () => {
    const whole = path.join(mkdtempSync(path.join(tmpdir(), 'alexnet-run-')), 'run');
    const r = run(...args(whole));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/epoch 2: train loss .* validation top-1/);
    const metrics = readFileSync(path.join(whole, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { epoch: number; val_top1_error: number });
    expect(metrics.map((m) => m.epoch)).toEqual([1, 2]); // counted from 1, as the console does
    const svg = readFileSync(path.join(whole, 'plot.svg'), 'utf8');
    for (const text of ['Loss (cross-entropy)', 'error (%)', 'validation top-1', '>epoch<']) expect(svg).toContain(text);
    expect(readFileSync(path.join(whole, 'plot.png')).subarray(1, 4).toString()).toBe('PNG');

    const killed = path.join(mkdtempSync(path.join(tmpdir(), 'alexnet-run-')), 'run');
    const child = spawn(process.execPath, [BIN, ...args(killed)], { stdio: 'ignore' });
    const first = path.join(killed, 'checkpoints', 'epoch-0001');
    while (!existsSync(first)) await new Promise((res) => setTimeout(res, 20));
    child.kill('SIGKILL');
    await new Promise((res) => child.once('exit', res));
    expect(existsSync(path.join(killed, 'checkpoints', 'epoch-0002')), 'the run finished before it was killed').toBe(false);
    const resumed = run('train', '--resume', killed, '--epochs', '2');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/from epoch 2 to 2/);
    expect(readFileSync(path.join(killed, 'weights.safetensors')).equals(readFileSync(path.join(whole, 'weights.safetensors'))), 'resumed weights differ').toBe(true);

    // a damaged newest checkpoint: a named error, and the one before it is still there
    truncateSync(path.join(killed, 'checkpoints', 'epoch-0002', 'weights.safetensors'), 100);
    const bad = run('train', '--resume', killed, '--epochs', '3');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/CheckpointError \[CORRUPT\]: checkpoint .*epoch-0002 cannot be read .*epoch 1 .* is intact/);
    expect(existsSync(path.join(killed, 'checkpoints', 'epoch-0001', 'weights.safetensors'))).toBe(true);
  });

  it('ten-crop validation gives the error `alexnet eval --tta ten-crop` computes on the same weights', () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'alexnet-run-')), 'run');
    const r = run(...args(out), '--epochs', '1', '--val-tta', 'ten-crop');
    expect(r.status, r.stderr).toBe(0);
    const [m] = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { val_top1_error: number; val_top5_error: number });
    const evalArgs = ['eval', '--arch', 'mini', '--width', '0.25', '--weights', path.join(out, 'weights.safetensors'), '--stats', path.join(out, 'stats.safetensors'), '--data', data, '--json'];
    const ten = JSON.parse(run(...evalArgs, '--tta', 'ten-crop').stdout) as { top1_error: number; top5_error: number; images: number };
    const centre = JSON.parse(run(...evalArgs).stdout) as { top1_error: number };
    // eval runs the inference backend on its own crops: float rounding may flip a near tie, no more
    expect(Math.abs(ten.top1_error - m.val_top1_error)).toBeLessThanOrEqual(1 / ten.images);
    expect(Math.abs(ten.top5_error - m.val_top5_error)).toBeLessThanOrEqual(1 / ten.images);
    expect(centre.top1_error, 'the ten crops made no difference: were they the centre crop ten times?').not.toBe(ten.top1_error);
  });

  it('refuses to overwrite a run, and a dataset whose classes do not match the model', () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'alexnet-run-')), 'run');
    expect(run(...args(out), '--epochs', '1').status).toBe(0);
    const again = run(...args(out));
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/UsageError \[RUN_EXISTS\]/);
    const wrong = run('train', '--arch', 'mini', '--width', '0.25', '--classes', '7', '--data', data, '--out', path.join(out, 'x'));
    expect(wrong.stderr).toMatch(/UsageError \[CLASSES\].*10 classes.*7 outputs/);
  });
});
