// The ONNX export the benchmark's peers run: onnxruntime (native) must compute what the reference
// backend computes from the same graph and weights.
import { describe, expect, it } from 'vitest';
import { referenceBackend } from '../src/backends/reference/index.js';
import { UsageError } from '../src/errors.js';
import { Graph } from '../src/graph/index.js';
import { writeOnnx } from '../src/io/index.js';
import { alexnet } from '../src/models/index.js';
import { runGraph } from '../src/runtime/index.js';
import { sizeOf, tensor } from '../src/tensor.js';
import { randomData, relErr } from './oracle.js';

describe('ONNX export', () => {
  it.each(['bvlc', 'torchvision'] as const)('runs %s in onnxruntime like the reference backend', async (preset) => {
    const graph = alexnet({ preset, width: 0.125, classes: 10 });
    const weights = new Map(graph.params().map((p, i) => [p.name, tensor(p.shape, randomData(sizeOf(p.shape), i, -0.1, 0.1))]));
    const input = tensor([2, ...graph.input.shape], randomData(2 * sizeOf(graph.input.shape), 99, -100, 100));
    const expected = await runGraph(graph, referenceBackend, weights, input);
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(writeOnnx(graph, weights));
    const out = await session.run({ [graph.input.name]: new ort.Tensor('float32', input.data, [...input.shape]) });
    const prob = out[session.outputNames[0]].data as Float32Array;
    await session.release();
    expect(Array.from(out[session.outputNames[0]].dims)).toEqual([2, 10]);
    expect(relErr(prob, expected.output.data)).toBeLessThanOrEqual(1e-4);
  });

  it('rescales the paper form of LRN (alpha not divided by n) to ONNX\'s', async () => {
    const graph = new Graph([
      { name: 'x', op: { type: 'input', shape: [7, 3, 3] } },
      { name: 'n', op: { type: 'lrn', size: 5, alpha: 0.05, beta: 0.75, k: 2, alphaOverSize: false, groups: 1 } },
      { name: 'f', op: { type: 'flatten' } },
    ]);
    const input = tensor([1, 7, 3, 3], randomData(63, 5, -4, 4));
    const expected = await runGraph(graph, referenceBackend, new Map(), input);
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(writeOnnx(graph, new Map()));
    const out = await session.run({ x: new ort.Tensor('float32', input.data, [1, 7, 3, 3]) });
    await session.release();
    expect(relErr(out[session.outputNames[0]].data as Float32Array, expected.output.data)).toBeLessThanOrEqual(1e-5);
  });

  it('refuses an LRN with groups (the paper preset), naming the node', () => {
    const graph = alexnet({ preset: 'paper', width: 0.125, classes: 10 });
    const weights = new Map(graph.params().map((p) => [p.name, tensor(p.shape)]));
    expect(() => writeOnnx(graph, weights)).toThrow(UsageError);
    expect(() => writeOnnx(graph, weights)).toThrow(/node "norm1" \(lrn\) cannot be exported to ONNX/);
  });
});
