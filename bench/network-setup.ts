// What the whole-network benchmark shares between its processes: the seeded input, and (made once,
// cached in bench/.cache) the ONNX file of bvlc for the peers and the reference backend's
// probabilities for image 0 of each preset, which every system's output is checked against.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { referenceBackend } from '../src/backends/reference/index.js';
import { writeOnnx } from '../src/io/index.js';
import { alexnet } from '../src/models/index.js';
import { createRng, uniform } from '../src/random.js';
import { runGraph } from '../src/runtime/index.js';
import type { Tensor } from '../src/tensor.js';
import { tensor } from '../src/tensor.js';
import { paperInit } from '../src/train/index.js';

export const CACHE = new URL('.cache', import.meta.url).pathname;
export const SEED = 1;

/** `batch` images, uniform in [-128, 128) like mean-subtracted pixels; image 0 is the same for every batch size. */
export function benchInput(batch: number): Tensor {
  const x = tensor([batch, 3, 227, 227]);
  const rng = createRng(SEED);
  for (let i = 0; i < x.data.length; i++) x.data[i] = 256 * uniform(rng) - 128;
  return x;
}

export async function prepareNetworkBench(): Promise<void> {
  mkdirSync(CACHE, { recursive: true });
  for (const preset of ['bvlc', 'paper'] as const) {
    const graph = alexnet({ preset });
    const weights = paperInit(graph, { seed: SEED });
    if (preset === 'bvlc' && !existsSync(`${CACHE}/bvlc.onnx`)) writeFileSync(`${CACHE}/bvlc.onnx`, writeOnnx(graph, weights));
    if (!existsSync(`${CACHE}/reference-${preset}.json`)) {
      const { output } = await runGraph(graph, referenceBackend, weights, benchInput(1));
      writeFileSync(`${CACHE}/reference-${preset}.json`, JSON.stringify(Array.from(output.data)));
    }
  }
}
