// The runtime: binding, kept intermediates, per-node timings, and the errors it owes its callers.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/backends/backend.js';
import { referenceBackend } from '../src/backends/reference/index.js';
import { ShapeError, WeightsError } from '../src/errors.js';
import { alexnet } from '../src/models/index.js';
import { runGraph } from '../src/runtime/index.js';
import { tensor } from '../src/tensor.js';
import { paperInit } from '../src/train/index.js';

const graph = alexnet({ preset: 'bvlc', width: 0.05, classes: 4, inputSize: 67 });
const weights = paperInit(graph, { seed: 1 });
const input = tensor([2, 3, 67, 67], new Float32Array(2 * 3 * 67 * 67).fill(1));

describe('runGraph', () => {
  it('keeps every node, some nodes or none, and times each node once, in order', async () => {
    const seen: string[] = [];
    const all = await runGraph(graph, referenceBackend, weights, input, { keep: 'all', onNode: (n) => seen.push(n.name) });
    const names = graph.nodes.map((n) => n.name);
    expect([...all.activations.keys()]).toEqual(names);
    expect(all.activations.get('data')).toBe(input);
    expect(all.timings.map((t) => t.name)).toEqual(names.slice(1));
    expect(seen).toEqual(names.slice(1));
    expect(all.timings.every((t) => t.ms >= 0)).toBe(true);
    for (const n of graph.nodes) expect(all.activations.get(n.name)!.shape).toEqual([2, ...n.shape]);

    const some = await runGraph(graph, referenceBackend, weights, input, { keep: ['conv3', 'fc7'] });
    expect([...some.activations.keys()]).toEqual(['conv3', 'fc7']);
    expect(Array.from(some.activations.get('conv3')!.data)).toEqual(Array.from(all.activations.get('conv3')!.data));
    expect(Array.from(some.output.data)).toEqual(Array.from(all.output.data));
    expect((await runGraph(graph, referenceBackend, weights, input)).activations.size).toBe(0);
  });

  it('refuses an input of the wrong shape', async () => {
    await expect(runGraph(graph, referenceBackend, weights, tensor([3, 67, 67]))).rejects.toThrow(ShapeError);
    await expect(runGraph(graph, referenceBackend, weights, tensor([1, 3, 66, 67]))).rejects.toThrow(/needs \[N, 3, 67, 67\]/);
  });

  it('refuses missing or misshapen parameters before running anything', async () => {
    let ran = 0;
    const counting: Backend = { name: 'counting', run: (...args) => (ran++, referenceBackend.run(...args)) };
    const missing = new Map(weights);
    missing.delete('fc8.bias');
    await expect(runGraph(graph, counting, missing, input)).rejects.toThrow(WeightsError);
    const misshapen = new Map(weights).set('conv1.weight', tensor([1, 1, 1, 1]));
    await expect(runGraph(graph, counting, misshapen, input)).rejects.toThrow(/conv1\.weight" has shape \[1, 1, 1, 1\]/);
    expect(ran).toBe(0);
  });

  it('names a backend that returns the wrong shape', async () => {
    const broken: Backend = { name: 'broken', run: (node, inputs, params) => (node.name === 'pool2' ? tensor([1]) : referenceBackend.run(node, inputs, params)) };
    await expect(runGraph(graph, broken, weights, input)).rejects.toThrow(/backend "broken" returned \[1\] for node "pool2" \(maxpool2d\); the graph says \[2, /);
  });
});
