// Whole networks, layer by layer, on every backend: against PyTorch float64 (the golden fixtures,
// an implementation we did not write) and against oracle-net.ts for all three presets.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readNpy, readSafetensors } from '../src/io/index.js';
import { alexnet, PRESETS } from '../src/models/index.js';
import { runGraph } from '../src/runtime/index.js';
import type { Tensor } from '../src/tensor.js';
import { tensor } from '../src/tensor.js';
import { backends } from './backends.js';
import { oracleAlexnet } from './oracle-net.js';
import { fromF32, randomData, relErr } from './oracle.js';

const fixture = (name: string, file: string): Uint8Array => readFileSync(new URL(`fixtures/golden/${name}/${file}`, import.meta.url));
const GOLDEN = ['paper-w0.125-c10-b2', 'bvlc-w0.125-c10-b2'];

/** He-scaled uniform weights, so activations keep their size through the network (the paper init would shrink them). */
function heWeights(params: { name: string; shape: readonly number[] }[], seed: number): Map<string, Tensor> {
  return new Map(
    params.map((p, i) => {
      const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
      const bound = p.shape.length > 1 ? Math.sqrt(6 / fanIn) : 0.1;
      return [p.name, tensor(p.shape, randomData(p.shape.reduce((a, b) => a * b, 1), seed + i, -bound, bound))];
    }),
  );
}

describe.each(backends)('whole networks on the $name backend', ({ backend, networkTolerance }) => {
  it.each(GOLDEN)('matches PyTorch float64 on every layer of %s', async (name) => {
    const c = JSON.parse(new TextDecoder().decode(fixture(name, 'case.json'))) as { preset: 'paper' | 'bvlc'; width: number; classes: number; layers: string[] };
    const graph = alexnet({ preset: c.preset, width: c.width, classes: c.classes });
    const { tensors } = readSafetensors(fixture(name, 'weights.safetensors'));
    const result = await runGraph(graph, backend, tensors, readNpy(fixture(name, 'input.npy')), { keep: 'all' });
    for (const layer of c.layers) {
      const expected = readNpy(fixture(name, `${layer}.npy`));
      const actual = result.activations.get(layer)!;
      expect(actual.shape, layer).toEqual(expected.shape);
      expect(relErr(actual.data, expected.data), layer).toBeLessThanOrEqual(networkTolerance);
    }
  });

  it.each(PRESETS)('matches the independent float64 network on every layer of %s (width 0.25, batch 2)', async (preset) => {
    const graph = alexnet({ preset, width: 0.25, classes: 10 });
    const weights = heWeights(graph.params(), 11);
    const input = tensor([2, ...graph.input.shape], randomData(2 * graph.input.shape.reduce((a, b) => a * b, 1), 5, -120, 135));
    const result = await runGraph(graph, backend, weights, input, { keep: 'all' });
    const expected = oracleAlexnet(preset, weights, fromF32(input.shape, input.data));
    expect(expected.size).toBeGreaterThan(15);
    for (const [layer, ref] of expected) {
      const actual = result.activations.get(layer);
      expect(actual?.shape, layer).toEqual(ref.shape);
      expect(relErr(actual!.data, ref.data), layer).toBeLessThanOrEqual(networkTolerance);
    }
    // identical top-5 (ranked by the logits, as softmax keeps their order) wherever the oracle's
    // top-6 are further apart than the tolerance allows an error to be
    const logits = expected.get('fc8')!;
    const classes = logits.shape[1];
    const scale = Math.max(...logits.data.map(Math.abs));
    let compared = 0;
    for (let i = 0; i < 2; i++) {
      const order = (p: ArrayLike<number>): number[] => [...Array(classes).keys()].sort((a, b) => p[i * classes + b] - p[i * classes + a]);
      const ref = order(logits.data);
      const gaps = ref.slice(0, 5).map((c, r) => logits.data[i * classes + c] - logits.data[i * classes + ref[r + 1]]);
      if (gaps.some((g) => g <= 2 * networkTolerance * scale)) continue;
      expect(order(result.activations.get('fc8')!.data).slice(0, 5), `image ${i}`).toEqual(ref.slice(0, 5));
      compared++;
    }
    expect(compared).toBeGreaterThan(0);
  });
});
