// The partition pass and the emulated devices: which layers talk across devices, the bytes they
// move, bit-identical results on every backend, and the errors that keep the emulation honest.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { referenceBackend } from '../src/backends/reference/index.js';
import { wasmDevicesBackend } from '../src/backends/wasm/devices.js';
import { PartitionError } from '../src/errors.js';
import { Graph } from '../src/graph/index.js';
import type { NodeSpec } from '../src/graph/index.js';
import { alexnet } from '../src/models/index.js';
import { assembleLayers, layerNodes, partition } from '../src/partition/index.js';
import { runGraph } from '../src/runtime/index.js';
import type { Tensor } from '../src/tensor.js';
import { sizeOf, tensor } from '../src/tensor.js';
import { backends } from './backends.js';
import { randomData } from './oracle.js';

const sameBits = (a: Tensor, b: Tensor): boolean => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength));
const randomWeights = (graph: Graph, seed: number): Map<string, Tensor> =>
  new Map(graph.params().map((p, i) => [p.name, tensor(p.shape, randomData(sizeOf(p.shape), seed + i, -0.2, 0.2))]));

describe('the 2012 split', () => {
  it('paper on 2 devices: only conv3, fc6, fc7 and fc8 receive the other tower\'s data, besides the input broadcast and the final gather', () => {
    const { transfers } = partition(alexnet({ preset: 'paper' }), { devices: 2 });
    const crossing = new Set(transfers.filter((t) => t.reason === 'all-gather' || t.reason === 'halo' || t.reason === 'scatter').map((t) => t.layer));
    expect([...crossing].sort()).toEqual(['conv3', 'fc6', 'fc7', 'fc8']);
    expect(transfers.filter((t) => t.reason === 'broadcast').map((t) => t.layer)).toEqual(['conv1']);
    expect(transfers.filter((t) => t.reason === 'gather').map((t) => t.layer)).toEqual(['prob']);
  });

  it('moves the bytes the shapes say, per image', () => {
    // input to device 1; each tower's pool2 (128x13x13), pool5 (128x6x6), relu6 and relu7 (2048) to the other; fc8's 500 to device 0
    const expected = 3 * 227 * 227 * 4 + 2 * 128 * 13 * 13 * 4 + 2 * 128 * 6 * 6 * 4 + 2 * 2048 * 4 + 2 * 2048 * 4 + 500 * 4;
    const { transfers } = partition(alexnet({ preset: 'paper' }), { devices: 2 });
    expect(transfers.reduce((s, t) => s + t.bytesPerSample, 0)).toBe(expected);
  });

  it('bvlc (LRN across all maps) needs a halo of floor(5/2) = 2 channels each way at norm1 and norm2; paper needs none', () => {
    const bvlc = partition(alexnet({ preset: 'bvlc' }), { devices: 2 }).transfers.filter((t) => t.reason === 'halo');
    expect(bvlc.map((t) => t.layer).sort()).toEqual(['norm1', 'norm1', 'norm2', 'norm2']);
    expect(bvlc.filter((t) => t.layer === 'norm1').map((t) => t.bytesPerSample)).toEqual([2 * 55 * 55 * 4, 2 * 55 * 55 * 4]);
    expect(partition(alexnet({ preset: 'paper' }), { devices: 2 }).transfers.some((t) => t.reason === 'halo')).toBe(false);
  });

  it('is the graph itself on one device', () => {
    const graph = alexnet({ preset: 'paper', width: 0.25 });
    const one = partition(graph, { devices: 1 });
    expect(one.graph.nodes.map((n) => [n.name, n.op])).toEqual(graph.nodes.map((n) => [n.name, n.op]));
    expect(one.transfers).toEqual([]);
  });

  it('holds half of every layer\'s kernels on each device', () => {
    const graph = alexnet({ preset: 'paper', width: 0.25, classes: 10 });
    const split = partition(graph, { devices: 2 });
    const onDevice = (d: number): number => split.graph.nodes.filter((n) => n.device === d).reduce((s, n) => s + n.paramCount, 0);
    expect(onDevice(0) + onDevice(1)).toBe(graph.paramCount());
    expect(onDevice(0)).toBe(onDevice(1));
  });
});

describe.each(backends)('partitioned runs on the $name backend', ({ backend, runsScale }) => {
  it.each([['paper', 2], ['bvlc', 2], ['paper', 4], ['bvlc', 4]] as const)('%s on %i devices is bit-identical to one device, layer by layer', async (preset, devices) => {
    const graph = alexnet({ preset, width: 0.125, classes: 8 });
    const weights = randomWeights(graph, 3);
    const input = tensor([2, ...graph.input.shape], randomData(2 * sizeOf(graph.input.shape), 8, -100, 100));
    const whole = await runGraph(graph, backend, weights, input, { keep: 'all' });
    const split = partition(graph, { devices });
    const parts = await runGraph(split.graph, backend, split.shardWeights(weights), input, { keep: layerNodes(split) });
    const layers = assembleLayers(split, parts.activations);
    for (const node of graph.nodes) expect(sameBits(layers.get(node.name)!, whole.activations.get(node.name)!), node.name).toBe(true);
    expect(sameBits(parts.output, whole.output)).toBe(true);
    expect(parts.transferred.bytes).toBe(2 * split.transfers.reduce((s, t) => s + t.bytesPerSample, 0));
  });

  it('random layer chains split over 1, 2 and 4 devices are bit-identical to the whole chain', async () => {
    // conv with random groups, LRN with groups 1 or 2 (and either alpha form), pools, ReLU, then FC layers
    const layerArb = fc.oneof(
      fc.record({ kind: fc.constant('conv' as const), groups: fc.constantFrom(1, 2, 4), out: fc.constantFrom(4, 8, 12), kernel: fc.constantFrom(1, 3, 5), stride: fc.constantFrom(1, 2) }),
      fc.record({ kind: fc.constant('lrn' as const), groups: fc.constantFrom(1, 2), size: fc.constantFrom(3, 5), alphaOverSize: fc.boolean() }),
      fc.record({ kind: fc.constant('pool' as const) }),
      fc.record({ kind: fc.constant('relu' as const) }),
    );
    const chainArb = fc.record({ layers: fc.array(layerArb, { minLength: 1, maxLength: 6 }), fcs: fc.array(fc.constantFrom(4, 8, 12), { maxLength: 2 }), batch: fc.constantFrom(1, 3), seed: fc.integer() });
    await fc.assert(
      fc.asyncProperty(chainArb, async ({ layers, fcs, batch, seed }) => {
        const specs: NodeSpec[] = [{ name: 'x', op: { type: 'input', shape: [8, 19, 19] } }];
        let size = 19;
        let channels = 8;
        layers.forEach((l, i) => {
          const name = `l${i}`;
          if (l.kind === 'conv' && size >= l.kernel) {
            const groups = channels % l.groups === 0 ? l.groups : 1;
            specs.push({ name, op: { type: 'conv2d', out: l.out, kernel: l.kernel, stride: l.stride, pad: l.kernel >> 1, groups } });
            size = Math.floor((size + 2 * (l.kernel >> 1) - l.kernel) / l.stride) + 1;
            channels = l.out;
          } else if (l.kind === 'lrn') specs.push({ name, op: { type: 'lrn', size: l.size, alpha: 0.01, beta: 0.75, k: 2, alphaOverSize: l.alphaOverSize, groups: l.groups } });
          else if (l.kind === 'pool' && size >= 3) {
            specs.push({ name, op: { type: 'maxpool2d', kernel: 3, stride: 2 } });
            size = Math.floor((size - 3) / 2) + 1;
          } else specs.push({ name, op: { type: 'relu' } });
        });
        specs.push({ name: 'flat', op: { type: 'flatten' } });
        fcs.forEach((out, i) => specs.push({ name: `fc${i}`, op: { type: 'linear', out } }));
        const graph = new Graph(specs);
        const weights = randomWeights(graph, seed);
        const input = tensor([batch, 8, 19, 19], randomData(batch * 8 * 19 * 19, seed, -3, 3));
        const whole = await runGraph(graph, backend, weights, input, { keep: 'all' });
        for (const devices of [1, 2, 4]) {
          let split;
          try {
            split = partition(graph, { devices });
          } catch (e) {
            // a halo wider than a device's channels (size 5 over 4 devices of 2 channels): refused, by name
            expect(e).toBeInstanceOf(PartitionError);
            expect((e as PartitionError).message).toMatch(/halo of 2 channels is wider than a device's 1/);
            continue;
          }
          const run = await runGraph(split.graph, backend, split.shardWeights(weights), input, { keep: layerNodes(split) });
          const assembled = assembleLayers(split, run.activations);
          for (const node of graph.nodes) expect(sameBits(assembled.get(node.name)!, whole.activations.get(node.name)!), `${node.name} on ${devices} devices`).toBe(true);
        }
      }),
      { numRuns: Math.max(3, Math.round(25 * runsScale)) },
    );
  });
});

describe('the emulated devices', () => {
  it('refuse a graph in which a node reads a tensor that lives on another device', async () => {
    const graph = new Graph([
      { name: 'x', op: { type: 'input', shape: [4] } },
      { name: 'a', op: { type: 'relu' }, device: 0 },
      { name: 'b', op: { type: 'relu' }, inputs: ['a'], device: 1 }, // no transfer: a is on device 0
    ]);
    await expect(runGraph(graph, referenceBackend, new Map(), tensor([1, 4]))).rejects.toThrow(PartitionError);
    await expect(runGraph(graph, referenceBackend, new Map(), tensor([1, 4]))).rejects.toThrow(/node "b" on device 1 reads "a", which lives on device 0/);
  });

  it('with a transfer in between, the same graph runs, and the bytes are counted', async () => {
    const graph = new Graph([
      { name: 'x', op: { type: 'input', shape: [4] } },
      { name: 'a', op: { type: 'relu' }, device: 0 },
      { name: 'a1', op: { type: 'transfer', from: 0, to: 1 }, inputs: ['a'], device: 1 },
      { name: 'b', op: { type: 'relu' }, inputs: ['a1'], device: 1 },
    ]);
    const result = await runGraph(graph, referenceBackend, new Map(), tensor([3, 4], Float32Array.from({ length: 12 }, (_, i) => i - 6)));
    expect(Array.from(result.output.data)).toEqual(Array.from({ length: 12 }, (_, i) => Math.max(0, i - 6)));
    expect(result.transferred).toEqual({ count: 1, bytes: 3 * 4 * 4 });
  });

  it('refuse splits the channel counts do not allow, naming the layer', () => {
    expect(() => partition(alexnet({ preset: 'paper', width: 0.125, classes: 10 }), { devices: 4 })).toThrow(/layer "fc8" \(linear\) cannot be split over 4 devices: its 10 output channels are not divisible by 4/);
    const odd = new Graph([{ name: 'x', op: { type: 'input', shape: [6, 5, 5] } }, { name: 'c', op: { type: 'conv2d', out: 6, kernel: 3, stride: 1, pad: 1, groups: 3 } }]);
    expect(() => partition(odd, { devices: 2 })).toThrow(/its 3 groups and 2 devices: one must divide the other/);
  });
});

describe('two devices on two wasm workers', () => {
  it('compute what one device computes, bit for bit, and report what crossed', async () => {
    const graph = alexnet({ preset: 'bvlc', width: 0.125, classes: 10 });
    const weights = randomWeights(graph, 5);
    const input = tensor([3, ...graph.input.shape], randomData(3 * sizeOf(graph.input.shape), 6, -100, 100));
    const whole = await runGraph(graph, backends[1].backend, weights, input);
    const split = partition(graph, { devices: 2 });
    const run = await runGraph(split.graph, wasmDevicesBackend({ build: 'simd128' }), split.shardWeights(weights), input, { keep: layerNodes(split) });
    expect(sameBits(run.output, whole.output)).toBe(true);
    expect(assembleLayers(split, run.activations).size).toBe(graph.nodes.length);
    expect(run.transferred.bytes).toBe(3 * split.transfers.reduce((s, t) => s + t.bytesPerSample, 0));
  });
});
