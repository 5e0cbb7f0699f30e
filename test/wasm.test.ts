// What is particular to the wasm backend: shapes that stress its tiling (against the reference
// backend), both builds, thread counts that must not change a single bit, the arena plan, and how
// a build is chosen.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { referenceBackend } from '../src/backends/reference/index.js';
import { WASM_BUILDS, wasmBackend } from '../src/backends/wasm/index.js';
import { chooseBuild } from '../src/backends/wasm/module.js';
import { planArena } from '../src/backends/wasm/plan.js';
import { winogradMatrices } from '../src/backends/wasm/winograd.js';
import { UsageError } from '../src/errors.js';
import { Graph } from '../src/graph/index.js';
import type { NodeSpec } from '../src/graph/index.js';
import { alexnet } from '../src/models/index.js';
import { runGraph } from '../src/runtime/index.js';
import type { Tensor } from '../src/tensor.js';
import { sizeOf, tensor } from '../src/tensor.js';
import { randomData, relErr } from './oracle.js';
import { convolvesAwkwardShapes } from './awkward-conv.js';
import { runOp } from './run-op.js';

const randomTensor = (shape: number[], seed: number): Tensor => tensor(shape, randomData(sizeOf(shape), seed));
/** Whether two tensors hold the same float32 bit patterns (fast enough for whole activations). */
const sameBits = (a: Tensor, b: Tensor): boolean => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength));

describe.each(WASM_BUILDS)('wasm %s build', (build) => {
  const wasm = wasmBackend({ build, threads: 2 });

  it('convolves shapes that stress the tiling like the reference', async () => {
    await convolvesAwkwardShapes(wasm, { batch: 5, maxOutPerGroup: 15, maxSize: 29, runs: 80 });
  });

  it('runs FC layers through the batch-1 GEMV and the batched GEMM like the reference', async () => {
    const linearCase = fc.record({ n: fc.constantFrom(1, 2, 5, 7, 13), in: fc.integer({ min: 1, max: 300 }), out: fc.integer({ min: 1, max: 70 }), seed: fc.integer() });
    await fc.assert(
      fc.asyncProperty(linearCase, async (c) => {
        const x = randomTensor([c.n, c.in], c.seed);
        const params = { weight: randomTensor([c.out, c.in], c.seed + 1), bias: randomTensor([c.out], c.seed + 2) };
        const expected = await runOp(referenceBackend, { type: 'linear', out: c.out }, x, params);
        const actual = await runOp(wasm, { type: 'linear', out: c.out }, x, params);
        expect(relErr(actual.data, expected.data)).toBeLessThanOrEqual(1e-5);
      }),
      { numRuns: 60 },
    );
  });

  it('gives bit-identical results on 1, 2 and 3 threads, fused or not', async () => {
    const graph = alexnet({ preset: 'paper', width: 0.25, classes: 10 });
    const weights = new Map(graph.params().map((p, i) => [p.name, tensor(p.shape, randomData(sizeOf(p.shape), i, -0.05, 0.05))]));
    for (const n of [1, 3]) {
      const input = tensor([n, ...graph.input.shape], randomData(n * sizeOf(graph.input.shape), 17 + n, -100, 100));
      const runs = [];
      for (const threads of [1, 2, 3]) runs.push(await runGraph(graph, wasmBackend({ build, threads }), weights, input, { keep: 'all' }));
      const fused = await runGraph(graph, wasmBackend({ build, threads: 2 }), weights, input);
      for (const run of runs.slice(1)) {
        for (const [layer, t] of runs[0].activations) expect(sameBits(run.activations.get(layer)!, t), `${layer}, batch ${n}`).toBe(true);
      }
      expect(sameBits(fused.output, runs[0].output)).toBe(true);
    }
  });

  it('reports the memory it holds', async () => {
    const graph = alexnet({ preset: 'bvlc', width: 0.25, classes: 10 });
    const { loadGraph } = await import('../src/runtime/index.js');
    const session = await loadGraph(graph, wasm, new Map(graph.params().map((p) => [p.name, tensor(p.shape)])));
    await session.run(tensor([2, ...graph.input.shape]));
    const memory = session.memory()!;
    await session.dispose();
    // packed weights hold every parameter (plus panel padding); the arena at least the largest activation pair
    expect(memory.weights).toBeGreaterThanOrEqual(graph.paramCount() * 4);
    expect(memory.activations).toBeGreaterThanOrEqual(2 * 2 * 4 * sizeOf(graph.node('conv1').shape));
    expect(memory.total).toBeGreaterThanOrEqual(memory.weights + memory.activations + memory.scratch);
  });
});

describe('Winograd F(2, r) matrices', () => {
  it.each([3, 5])('r = %i: Aᵀ[(G g) ⊙ (Bᵀ d)] is the correlation of d with g, in float64', (r) => {
    const { g: G, at, bt, t } = winogradMatrices(r);
    fc.assert(
      fc.property(fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: t, maxLength: t }), fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: r, maxLength: r }), (d, g) => {
        const gg = G.map((row) => row.reduce((s, v, j) => s + v * g[j], 0));
        const bd = bt.map((row) => row.reduce((s, v, j) => s + v * d[j], 0));
        const y = at.map((row) => row.reduce((s, v, i) => s + v * gg[i] * bd[i], 0));
        for (let k = 0; k < 2; k++) expect(y[k]).toBeCloseTo(g.reduce((s, gv, j) => s + gv * d[k + j], 0), 9);
      }),
    );
  });

  it('are the ones assembly/winograd.ts writes out as additions', () => {
    expect(winogradMatrices(3).bt).toEqual([[-1, 0, 1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, -1, 0, 1]]);
    expect(winogradMatrices(3).at).toEqual([[1, 1, 1, 0], [0, 1, -1, 1]]);
    expect(winogradMatrices(5).bt).toEqual([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]);
    expect(winogradMatrices(5).at).toEqual([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 1]]);
  });
});

describe('arena plan', () => {
  // a random chain: conv / relu / pool / flatten-free, ending in an FC, to exercise views and in-place ReLU
  const chainArb = fc.array(fc.constantFrom<'conv' | 'relu' | 'pool' | 'dropout'>('conv', 'relu', 'pool', 'dropout'), { minLength: 1, maxLength: 12 });

  function chain(kinds: string[]): Graph {
    const specs: NodeSpec[] = [{ name: 'x', op: { type: 'input', shape: [3, 40, 40] } }];
    let size = 40;
    kinds.forEach((kind, i) => {
      const name = `n${i}`;
      if (kind === 'conv') specs.push({ name, op: { type: 'conv2d', out: 4 + i, kernel: 3, stride: 1, pad: 1, groups: 1 } });
      else if (kind === 'pool' && size >= 3) {
        specs.push({ name, op: { type: 'maxpool2d', kernel: 3, stride: 2 } });
        size = Math.floor((size - 3) / 2) + 1;
      } else specs.push({ name, op: kind === 'dropout' ? { type: 'dropout', p: 0.5 } : { type: 'relu' } });
    });
    specs.push({ name: 'flat', op: { type: 'flatten' } }, { name: 'fc', op: { type: 'linear', out: 5 } });
    return new Graph(specs);
  }

  it('never lets a tensor be overwritten before its last reader has run', () => {
    fc.assert(
      fc.property(chainArb, fc.integer({ min: 1, max: 4 }), (kinds, batch) => {
        const graph = chain(kinds);
        const plan = planArena(graph, batch);
        // replay the graph on a tagged memory: each step checks its inputs still hold their
        // producer's tag, then tags its own output (a view or an in-place ReLU keeps its input's)
        const memory = new Int32Array(plan.bytes / 4).fill(-1);
        const owner = new Map<string, number>();
        const region = (name: string): Int32Array => {
          const offset = plan.offsets.get(name)! / 4;
          return memory.subarray(offset, offset + batch * sizeOf(graph.node(name).shape));
        };
        graph.nodes.forEach((node, step) => {
          for (const input of node.inputs) expect(region(input).every((tag) => tag === owner.get(input)), `${input} read by ${node.name}`).toBe(true);
          const inPlace = node.inputs.length > 0 && plan.offsets.get(node.name) === plan.offsets.get(node.inputs[0]);
          if (node.op.type === 'flatten' || node.op.type === 'dropout') expect(inPlace).toBe(true);
          owner.set(node.name, inPlace ? owner.get(node.inputs[0])! : step);
          if (!inPlace) region(node.name).fill(step);
        });
        expect(region(graph.output.name).every((tag) => tag === owner.get(graph.output.name))).toBe(true);
        const sum = graph.nodes.reduce((s, n) => s + batch * sizeOf(n.shape) * 4, 0);
        expect(plan.bytes).toBeLessThanOrEqual(sum + 64 * graph.nodes.length);
      }),
    );
  });

  it('needs less than the sum of all AlexNet activations', () => {
    const graph = alexnet({ preset: 'paper' });
    const all = graph.nodes.reduce((s, n) => s + sizeOf(n.shape) * 4, 0);
    expect(planArena(graph, 1).bytes).toBeLessThan(all / 2);
  });
});

describe('build choice', () => {
  it('honours a requested build and refuses an unknown one', async () => {
    expect(await chooseBuild('simd128')).toBe('simd128');
    // this test process enables relaxed SIMD (vitest.config.ts): CI must test both builds
    expect(await chooseBuild('relaxed')).toBe('relaxed');
    await expect(chooseBuild('avx512')).rejects.toThrow(UsageError);
  });

  it('reads ALEXNET_WASM when no build is requested', async () => {
    const saved = process.env.ALEXNET_WASM;
    try {
      process.env.ALEXNET_WASM = 'simd128';
      expect(await chooseBuild()).toBe('simd128');
      process.env.ALEXNET_WASM = 'sse';
      await expect(chooseBuild()).rejects.toThrow(/unknown wasm build "sse" \(from ALEXNET_WASM\)/);
    } finally {
      if (saved === undefined) delete process.env.ALEXNET_WASM;
      else process.env.ALEXNET_WASM = saved;
    }
  });
});
