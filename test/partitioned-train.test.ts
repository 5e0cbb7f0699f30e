// Training over the partition against TrainingNetwork on one device: on 2 devices the loss, the
// probabilities and every gradient bit for bit (mini and a narrow paper, batches of 1 and 3, on the
// reference and the wasm kernels); the same gradient to rounding where bits are not promised (bvlc's
// LRN halos, 4 devices); the bytes that crossed; the emulated memories refusing a tensor that did
// not cross; and `alexnet train --devices 2` ending with one device's weights.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartitionError } from '../src/errors.js';
import { Graph } from '../src/graph/index.js';
import type { OpOf } from '../src/graph/index.js';
import { alexnet } from '../src/models/index.js';
import type { AlexNetConfig } from '../src/models/index.js';
import { partition } from '../src/partition/index.js';
import { createRng } from '../src/random.js';
import type { Tensor } from '../src/tensor.js';
import { sizeOf, tensor } from '../src/tensor.js';
import { paperInit } from '../src/train/index.js';
import type { TrainKernels } from '../src/train/kernels.js';
import { referenceTrainKernels, wasmTrainKernels } from '../src/train/kernels.js';
import type { Params } from '../src/train/network.js';
import { layerBackward, TrainingNetwork } from '../src/train/network.js';
import { PartitionedTrainingNetwork } from '../src/train/partitioned.js';
import { writeIdxDataset } from './idx.js';
import { randomData, relErr } from './oracle.js';

const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

const MODELS = {
  mini: { preset: 'mini' },
  paper: { preset: 'paper', width: 0.0625, classes: 12, inputSize: 67 },
} satisfies Record<string, AlexNetConfig>;

/** Elements of `a` whose float32 bits differ from `b`'s (-0 and +0 differ, as do NaNs of other payloads). */
function differingBits(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const [x, y] = [new Uint32Array(a.data.buffer, a.data.byteOffset, a.data.length), new Uint32Array(b.data.buffer, b.data.byteOffset, b.data.length)];
  let count = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) count++;
  return count;
}

function problem(config: AlexNetConfig, batch: number, seed: number) {
  const graph = alexnet(config);
  const classes = graph.output.shape[0];
  const params = paperInit(graph, { seed, std: 'fan-in', unitBiases: new Set() });
  const x = tensor([batch, ...graph.input.shape], randomData(batch * sizeOf(graph.input.shape), seed));
  const labels = Int32Array.from({ length: batch }, (_, i) => (seed + 7 * i) % classes);
  return { graph, params, x, labels };
}

/** Both networks' step (same dropout seed) and predictions. */
function run(one: TrainingNetwork, split: PartitionedTrainingNetwork, x: Tensor, labels: Int32Array, params: Params, seed: number) {
  return {
    expected: one.step(x, labels, params, createRng(seed)),
    actual: split.step(x, labels, params, createRng(seed)),
    predicted: [one.predict(x, params), split.predict(x, params)],
  };
}

function caught(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe.each(['reference', 'wasm'] as const)('on the %s kernels', (kind) => {
  let one: TrainKernels;
  let two: TrainKernels[];
  const made: { release(): Promise<void> }[] = [];
  beforeAll(async () => {
    const make = async (): Promise<TrainKernels> => {
      if (kind === 'reference') return referenceTrainKernels;
      const k = await wasmTrainKernels(1); // its own memory: one device
      made.push(k);
      return k;
    };
    one = await make();
    two = [await make(), await make()];
  });
  afterAll(async () => {
    await Promise.all(made.map((k) => k.release()));
  });

  it.each(['mini', 'paper'] as const)('2 devices give the loss, the probabilities and every gradient of one, bit for bit (%s, batches of 1 and 3)', (model) => {
    for (const batch of [1, 3]) {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
          const { graph, params, x, labels } = problem(MODELS[model], batch, seed);
          const { expected, actual, predicted } = run(new TrainingNetwork(graph, one), new PartitionedTrainingNetwork(graph, two), x, labels, params, seed ^ 0x9e37);
          expect(Object.is(actual.loss, expected.loss), `loss ${actual.loss} vs ${expected.loss}`).toBe(true);
          expect(differingBits(actual.prob, expected.prob), 'prob').toBe(0);
          expect(differingBits(predicted[1], predicted[0]), 'predict').toBe(0);
          expect([...actual.grads.keys()].sort()).toEqual(graph.params().map((p) => p.name).sort());
          for (const [name, g] of expected.grads) expect(differingBits(actual.grads.get(name)!, g), `${name}: elements whose bits differ`).toBe(0);
        }),
        { numRuns: 3, seed: 2012 + batch },
      );
    }
  });

  it('the comparison sees a change of summation order: a whole-input layer\'s input gradient from one kernel call is not the two halves added', () => {
    // mini's conv3 and fc6 shapes; TrainingNetwork and the partition both add halves
    const conv: OpOf<'conv2d'> = { type: 'conv2d', out: 64, kernel: 3, stride: 1, pad: 1, groups: 1 };
    const cases = [
      { op: conv, x: tensor([2, 48, 7, 7], randomData(2 * 48 * 49, 1)), w: tensor([64, 48, 3, 3], randomData(64 * 48 * 9, 2)), dy: tensor([2, 64, 7, 7], randomData(2 * 64 * 49, 3)) },
      { op: { type: 'linear', out: 512 } as OpOf<'linear'>, x: tensor([2, 576], randomData(2 * 576, 4)), w: tensor([512, 576], randomData(512 * 576, 5)), dy: tensor([2, 512], randomData(2 * 512, 6)) },
    ];
    for (const { op, x, w, dy } of cases) {
      const whole = op.type === 'conv2d' ? one.conv2dBackward(op, x, w, dy, true) : one.linearBackward(x, w, dy);
      const halves = layerBackward(one, op, x, w, dy, true);
      expect(differingBits(halves.dx!, whole.dx!), op.type).toBeGreaterThan(0);
      expect(relErr(halves.dx!.data, whole.dx!.data)).toBeLessThan(1e-5);
    }
  });
});

describe('where the bits are not promised', () => {
  it('bvlc (LRN across all maps: halos) on 2 devices and mini on 4 give the same gradients to 1e-5, the same loss bit for bit', () => {
    for (const [config, devices] of [
      [{ preset: 'bvlc', width: 0.0625, classes: 12, inputSize: 67 }, 2],
      [{ preset: 'mini', classes: 12 }, 4],
    ] as const) {
      const { graph, params, x, labels } = problem(config, 2, 11);
      const kernels = Array.from({ length: devices }, () => referenceTrainKernels);
      const { expected, actual } = run(new TrainingNetwork(graph, referenceTrainKernels), new PartitionedTrainingNetwork(graph, kernels), x, labels, params, 12);
      // the forward pass is bit-identical on any split (see src/partition/partition.ts)
      expect(Object.is(actual.loss, expected.loss)).toBe(true);
      for (const [name, g] of expected.grads) expect(relErr(actual.grads.get(name)!.data, g.data), `${config.preset} on ${devices}: ${name}`).toBeLessThan(1e-5);
    }
  });

  it('the wasm kernels on 2 devices give the gradients of the float64-accumulating reference kernels on one, to 1e-4', async () => {
    const devices = [await wasmTrainKernels(1), await wasmTrainKernels(1)];
    try {
      const { graph, params, x, labels } = problem(MODELS.mini, 2, 5);
      const { expected, actual } = run(new TrainingNetwork(graph, referenceTrainKernels), new PartitionedTrainingNetwork(graph, devices), x, labels, params, 6);
      expect(Math.abs(actual.loss - expected.loss)).toBeLessThan(1e-4 * Math.abs(expected.loss));
      for (const [name, g] of expected.grads) expect(relErr(actual.grads.get(name)!.data, g.data), name).toBeLessThan(1e-4);
    } finally {
      await Promise.all(devices.map((k) => k.release()));
    }
  });
});

describe('the emulated devices', () => {
  const { graph, params, x, labels } = problem(MODELS.paper, 3, 3);
  const split = partition(graph, { devices: 2 });

  it('count 4 bytes per element that crossed: every transfer forward, and back the gradient of each that carries one', () => {
    const net = new PartitionedTrainingNetwork(graph, [referenceTrainKernels, referenceTrainKernels], split);
    const { transferred } = net.step(x, labels, params, createRng(1));
    const transfers = split.graph.nodes.filter((n) => n.op.type === 'transfer');
    // the input's broadcast carries no gradient back: the data has none
    const carrying = transfers.filter((t) => split.graph.node(t.inputs[0]).op.type !== 'input');
    const bytes = (nodes: typeof transfers): number => nodes.reduce((s, t) => s + 4 * 3 * sizeOf(t.shape), 0);
    expect(transferred.forward).toEqual({ count: transfers.length, bytes: bytes(transfers) });
    expect(transferred.forward.bytes).toBe(3 * split.transfers.reduce((s, t) => s + t.bytesPerSample, 0));
    expect(transferred.backward).toEqual({ count: carrying.length, bytes: bytes(carrying) });
    expect(carrying.length).toBe(transfers.length - 1);
  });

  it('refuse a node that reads a tensor living on another device, naming both', () => {
    // the gather of fc8 on device 0 made to read device 1's shard without its transfer
    const bypass = new Graph(
      split.graph.nodes
        .filter((n) => n.name !== 'fc8_d1_to_d0')
        .map((n) => ({ name: n.name, op: n.op, device: n.device, inputs: n.inputs.map((i) => (i === 'fc8_d1_to_d0' ? 'fc8_d1' : i)) })),
    );
    const net = new PartitionedTrainingNetwork(graph, [referenceTrainKernels, referenceTrainKernels], { ...split, graph: bypass });
    const e = caught(() => net.step(x, labels, params, createRng(1)));
    expect(e).toBeInstanceOf(PartitionError);
    expect(e).toMatchObject({ code: 'NOT_RESIDENT', message: expect.stringMatching(/node "prob_in_d0" on device 0 reads "fc8_d1", which lives on device 1: a transfer must bring it over/) });
  });

  it('refuse a partition over another number of devices than kernel sets', () => {
    const e = caught(() => new PartitionedTrainingNetwork(graph, [referenceTrainKernels], split));
    expect(e).toBeInstanceOf(PartitionError);
    expect(e).toMatchObject({ code: 'DEVICES', message: expect.stringMatching(/over 2 devices; 1 kernel sets/) });
  });
});

describe('alexnet train --devices 2', () => {
  it('ends an epoch with the weights and validation metrics of one device, bit for bit', () => {
    const data = mkdtempSync(path.join(tmpdir(), 'alexnet-train-data-'));
    writeIdxDataset(data, 200, 28, 28, true);
    const runs = [1, 2].map((devices) => {
      const out = path.join(mkdtempSync(path.join(tmpdir(), 'alexnet-run-')), 'run');
      const args = ['train', '--arch', 'mini', '--width', '0.25', '--data', data, '--batch', '20', '--workers', '1', '--threads', '1', '--seed', '3', '--epochs', '1', '--devices', String(devices), '--out', out];
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return { out, stderr: r.stderr };
    });
    expect(runs[1].stderr).toMatch(/wasm .* on each of 2 devices/);
    expect(readFileSync(path.join(runs[1].out, 'weights.safetensors')).equals(readFileSync(path.join(runs[0].out, 'weights.safetensors'))), 'weights differ').toBe(true);
    const metrics = runs.map(({ out }) => JSON.parse(readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')) as Record<string, number>);
    for (const key of ['train_loss', 'val_loss', 'val_top1_error']) expect(metrics[1][key], key).toBe(metrics[0][key]);
  });
});
