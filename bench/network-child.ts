// One whole-network measurement in a process of its own (thread pools, wasm flags and onnxruntime's
// one-time thread setting never leak between systems): `system preset threads batch runs`, system
// one of wasm, wasm-simd128, wasm-devices (2 devices on worker threads), webgpu, webgpu-devices
// (2 GPUDevices), ort-web, ort-node, tfjs-wasm, tfjs-webgpu (bvlc only; tfjs's model: bench/peers/tfjs.ts). Prints one JSON line: the median and spread of ms/image over the timed runs, after one
// warm-up, the bytes that crossed devices per image, and the error of image 0's probabilities
// against the reference backend's (bench/.cache/reference-<preset>.json).
import { readFileSync } from 'node:fs';
import { wasmDevicesBackend } from '../src/backends/wasm/devices.js';
import { wasmBackend } from '../src/backends/wasm/index.js';
import { webgpuBackend } from '../src/backends/webgpu/index.js';
import { alexnet } from '../src/models/index.js';
import { partition } from '../src/partition/index.js';
import { loadGraph } from '../src/runtime/index.js';
import { paperInit } from '../src/train/index.js';
import { setWasmFlags, spread } from './common.js';
import { benchInput, CACHE, SEED } from './network-setup.js';
import { loadTfjsPeer, TFJS_SYSTEMS } from './peers/tfjs.js';
import type { TfjsSystem } from './peers/tfjs.js';
import { relativeError } from '../src/tensor.js';

setWasmFlags();
const [system, presetArg, threadsArg, batchArg, runsArg] = process.argv.slice(2);
const preset = presetArg as 'paper' | 'bvlc';
const threads = Number(threadsArg);
const batch = Number(batchArg);
const runs = Number(runsArg);
const input = benchInput(batch);
const reference = JSON.parse(readFileSync(`${CACHE}/reference-${preset}.json`, 'utf8')) as number[];

let forward: () => Promise<Float32Array>;
let dispose = async (): Promise<void> => {};
let details = '';
let transferred = 0;
if (system.startsWith('wasm') || system.startsWith('webgpu')) {
  const graph = alexnet({ preset });
  const weights = paperInit(graph, { seed: SEED });
  const split = system.endsWith('-devices') ? partition(graph, { devices: 2 }) : undefined;
  const backend = system.startsWith('webgpu')
    ? webgpuBackend()
    : split
      ? wasmDevicesBackend({ threads })
      : wasmBackend({ threads, build: system === 'wasm-simd128' ? 'simd128' : 'relaxed' });
  const session = split ? await loadGraph(split.graph, backend, split.shardWeights(weights)) : await loadGraph(graph, backend, weights);
  forward = async () => {
    const result = await session.run(input);
    transferred = result.transferred.bytes / batch;
    return result.output.data;
  };
  dispose = async () => session.dispose();
  details = session.details ?? '';
} else if (TFJS_SYSTEMS.includes(system as TfjsSystem)) {
  const graph = alexnet({ preset });
  const peer = await loadTfjsPeer(system as TfjsSystem, graph, paperInit(graph, { seed: SEED }), threads);
  forward = () => peer.forward(input);
  dispose = async () => peer.dispose();
  details = peer.details;
} else {
  const model = readFileSync(`${CACHE}/bvlc.onnx`);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const ort: any = system === 'ort-node' ? await import('onnxruntime-node') : await import('onnxruntime-web');
  const options = system === 'ort-node' ? { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' } : { graphOptimizationLevel: 'all' };
  if (system === 'ort-web') ort.env.wasm.numThreads = threads;
  const session = await ort.InferenceSession.create(model, options);
  const feed = { data: new ort.Tensor('float32', input.data, [...input.shape]) };
  forward = async () => (await session.run(feed))[session.outputNames[0]].data as Float32Array;
  dispose = async () => session.release();
  details = system === 'ort-node' ? 'native CPU' : 'wasm SIMD';
}
const first = await forward(); // warm-up, and the output checked against the reference
const error = relativeError(first.subarray(0, reference.length), reference);
const times: number[] = [];
for (let r = 0; r < runs; r++) {
  const start = performance.now();
  await forward();
  times.push((performance.now() - start) / batch);
}
await dispose();
if (process.env.BENCH_TRACE) console.error(times.map((t) => t.toFixed(1)).join(" "));
console.log(JSON.stringify({ system, preset, details, threads, batch, msPerImage: spread(times), transferredPerImage: transferred, error }));
process.exit(0); // onnxruntime-web's worker threads would otherwise keep the process alive
