// What the whole-network benchmark shares between its processes: the seeded input, and (made once,
// cached in bench/.cache) the ONNX file of bvlc for the peers and the reference backend's
// probabilities for image 0 of each preset, which every system's output is checked against.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { referenceBackend } from '../src/backends/reference/index.js';
import { writeOnnx } from '../src/io/index.js';
import { alexnet } from '../src/models/index.js';
import { runGraph } from '../src/runtime/index.js';
import { paperInit } from '../src/train/index.js';
import { benchInput, SEED } from './bench-input.js';

export const CACHE = new URL('.cache', import.meta.url).pathname;
export { benchInput, SEED } from './bench-input.js';

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
