// The runtime: binding, kept intermediates, per-step timings, ReLU fusion, and the errors it owes its callers.
import { describe, expect, it } from 'vitest';
import type { Backend, Executor } from '../src/backends/backend.js';
import { referenceBackend } from '../src/backends/reference/index.js';
import { ShapeError, WeightsError } from '../src/errors.js';
import type { GraphNode } from '../src/graph/index.js';
import { alexnet } from '../src/models/index.js';
import { loadGraph, runGraph } from '../src/runtime/index.js';
import { backends } from './backends.js';
import type { Tensor } from '../src/tensor.js';
import { tensor } from '../src/tensor.js';
import { paperInit } from '../src/train/index.js';

const graph = alexnet({ preset: 'bvlc', width: 0.05, classes: 4, inputSize: 67 });
const weights = paperInit(graph, { seed: 1 });
const input = tensor([2, 3, 67, 67], new Float32Array(2 * 3 * 67 * 67).fill(1));

/** The reference backend seen through a hook on every run call. */
function wrapped(onRun: (node: GraphNode, reluAfter: boolean) => void, output?: (node: GraphNode, t: Tensor) => Tensor, fuse = false): Backend {
  return {
    name: 'wrapped',
    async load(g, params) {
      const inner = await referenceBackend.load(g, params);
      const exec: Executor<Tensor> = {
        place: (node, x) => inner.place(node, x) as Tensor,
        run: async (node, inputs, reluAfter) => {
          onRun(node, reluAfter);
          let y = (await inner.run(node, inputs, false)) as Tensor;
          if (reluAfter) y = tensor(y.shape, y.data.map((v) => (v > 0 ? v : 0)));
          return output ? output(node, y) : y;
        },
        read: (t) => t,
        canFuseRelu: fuse ? (node) => node.op.type === 'conv2d' || node.op.type === 'linear' : undefined,
        dispose() {},
      };
      return exec as Executor;
    },
  };
}

describe('runGraph', () => {
  it('keeps every node, some nodes or none, and times each step once, in order', async () => {
    const all = await runGraph(graph, referenceBackend, weights, input, { keep: 'all' });
    const names = graph.nodes.map((n) => n.name);
    expect([...all.activations.keys()]).toEqual(names);
    expect(all.activations.get('data')).toBe(input);
    expect(all.timings.map((t) => t.name)).toEqual(names.slice(1));
    expect(all.timings.every((t) => t.ms >= 0 && t.fused === undefined)).toBe(true);
    for (const n of graph.nodes) expect(all.activations.get(n.name)!.shape).toEqual([2, ...n.shape]);

    const some = await runGraph(graph, referenceBackend, weights, input, { keep: ['conv3', 'fc7'] });
    expect([...some.activations.keys()]).toEqual(['conv3', 'fc7']);
    expect(Array.from(some.activations.get('conv3')!.data)).toEqual(Array.from(all.activations.get('conv3')!.data));
    expect(Array.from(some.output.data)).toEqual(Array.from(all.output.data));
    expect((await runGraph(graph, referenceBackend, weights, input)).activations.size).toBe(0);
  });

  it('fuses each conv/FC with its ReLU when the backend can and the unfused output is not kept', async () => {
    const calls: string[] = [];
    const backend = wrapped((node, relu) => calls.push(relu ? `${node.name}+relu` : node.name), undefined, true);
    const fused = await runGraph(graph, backend, weights, input, { keep: ['conv2'] });
    // conv2 is kept, so it runs alone; every other conv and fc6/fc7 carry their ReLU
    expect(calls).toEqual(['conv1+relu', 'norm1', 'pool1', 'conv2', 'relu2', 'norm2', 'pool2', 'conv3+relu', 'conv4+relu', 'conv5+relu', 'pool5', 'flatten', 'fc6+relu', 'drop6', 'fc7+relu', 'drop7', 'fc8', 'prob']);
    expect(fused.timings.find((t) => t.name === 'relu1')).toMatchObject({ op: 'relu', fused: 'conv1' });
    expect(fused.timings.some((t) => t.name === 'conv1')).toBe(false);
    const plain = await runGraph(graph, referenceBackend, weights, input);
    expect(Array.from(fused.output.data)).toEqual(Array.from(plain.output.data));
  });

  it('refuses an input of the wrong shape', async () => {
    await expect(runGraph(graph, referenceBackend, weights, tensor([3, 67, 67]))).rejects.toThrow(ShapeError);
    await expect(runGraph(graph, referenceBackend, weights, tensor([1, 3, 66, 67]))).rejects.toThrow(/needs \[N, 3, 67, 67\]/);
  });

  it('refuses missing or misshapen parameters before loading anything', async () => {
    let loads = 0;
    const counting: Backend = { name: 'counting', load: (g, p) => (loads++, referenceBackend.load(g, p)) };
    const missing = new Map(weights);
    missing.delete('fc8.bias');
    await expect(runGraph(graph, counting, missing, input)).rejects.toThrow(WeightsError);
    const misshapen = new Map(weights).set('conv1.weight', tensor([1, 1, 1, 1]));
    await expect(runGraph(graph, counting, misshapen, input)).rejects.toThrow(/conv1\.weight" has shape \[1, 1, 1, 1\]/);
    expect(loads).toBe(0);
  });

  it('names a backend that returns the wrong shape', async () => {
    const broken = wrapped(() => {}, (node, t) => (node.name === 'pool2' ? tensor([1]) : t));
    await expect(runGraph(graph, broken, weights, input)).rejects.toThrow(/backend returned \[1\] for node "pool2" \(maxpool2d\); the graph says \[2, /);
  });

  // A session's runs differ in what they keep, so a ReLU is fused into its conv/FC in one run and
  // not in the next; nothing a backend caches per node may assume the node's input buffer is fixed.
  for (const { name, backend } of backends) {
    it(`${name}: one session gives a fresh session's outputs whatever earlier runs kept`, async () => {
      const x = tensor(input.shape, input.data.map((_, i) => Math.sin(i)));
      const session = await loadGraph(graph, backend, weights);
      const fresh = await loadGraph(graph, backend, weights);
      try {
        const fusedFirst = await session.run(x);
        const all = await session.run(x, { keep: 'all' });
        const expected = await fresh.run(x, { keep: 'all' });
        for (const [node, t] of expected.activations) expect(Array.from(all.activations.get(node)!.data), node).toEqual(Array.from(t.data));
        expect(Array.from((await session.run(x)).output.data)).toEqual(Array.from(fusedFirst.output.data));
      } finally {
        await session.dispose();
        await fresh.dispose();
      }
    });
  }
});
