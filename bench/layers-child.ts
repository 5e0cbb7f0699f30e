// One per-layer measurement in a process of its own (as network-child.ts, so that thread pools and
// wasm flags never leak between configurations): `system preset width threads batch runs`, system
// one of reference, wasm-simd128, wasm-relaxed, webgpu. Prints one JSON line: per step, the median
// over the timed runs (after one warm-up) of its ms/image, keyed by the node it computes (a conv or
// FC whose ReLU the backend fused in carries the ReLU's time; its relu node then has no entry); the
// spread of the whole forward's ms/image; and the error of image 0's output against the reference
// backend's: bench/.cache's at full width, else the reference backend run here on the same weights.
import { readFileSync } from 'node:fs';
import { referenceBackend } from '../src/backends/reference/index.js';
import { wasmBackend } from '../src/backends/wasm/index.js';
import { webgpuBackend } from '../src/backends/webgpu/index.js';
import { alexnet } from '../src/models/index.js';
import { loadGraph, runGraph } from '../src/runtime/index.js';
import { paperInit } from '../src/train/index.js';
import { setWasmFlags, spread } from './common.js';
import { benchInput, CACHE, SEED } from './network-setup.js';
import { relativeError } from '../src/tensor.js';

setWasmFlags();
const [system, presetArg, widthArg, threadsArg, batchArg, runsArg] = process.argv.slice(2);
const preset = presetArg as 'paper' | 'bvlc';
const [width, threads, batch, runs] = [widthArg, threadsArg, batchArg, runsArg].map(Number);

const graph = alexnet({ preset, width });
const weights = paperInit(graph, { seed: SEED });
const input = benchInput(batch);
const backend =
  system === 'reference'
    ? referenceBackend
    : system === 'webgpu'
      ? webgpuBackend({ syncEachNode: true }) // else a node's time is only its submission
      : wasmBackend({ threads, build: system === 'wasm-simd128' ? 'simd128' : 'relaxed' });
const session = await loadGraph(graph, backend, weights);

const first = await session.run(input); // warm-up, and the output checked
const reference =
  width === 1
    ? (JSON.parse(readFileSync(`${CACHE}/reference-${preset}.json`, 'utf8')) as number[])
    : (await runGraph(graph, referenceBackend, weights, benchInput(1))).output.data;
const error = relativeError(first.output.data.subarray(0, reference.length), reference);

const perNode = new Map<string, number[]>();
const totals: number[] = [];
for (let r = 0; r < runs; r++) {
  const start = performance.now();
  const { timings } = await session.run(input);
  totals.push((performance.now() - start) / batch);
  for (const t of timings) perNode.set(t.fused ?? t.name, [...(perNode.get(t.fused ?? t.name) ?? []), t.ms / batch]);
}
const details = system === 'reference' ? 'plain loops' : (session.details ?? '');
await session.dispose();
// in graph order, so that tables and charts list the layers as the network runs them
const layers = Object.fromEntries(graph.nodes.filter((n) => perNode.has(n.name)).map((n) => [n.name, spread(perNode.get(n.name)!).median]));
console.log(JSON.stringify({ system, preset, width, threads, batch, details, layers, total: spread(totals), error }));
