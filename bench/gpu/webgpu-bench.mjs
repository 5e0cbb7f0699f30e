// The WebGPU half of bench/gpu/run.sh, run from the built project (dist/) by the carried Node:
// AlexNet bvlc and paper at full width, batch 1, 16 and 128, on one GPUDevice and on two (the
// partitioned graph), each checked first against the reference backend on image 0. Writes JSON to
// the path it is given.
import { writeFileSync } from 'node:fs';
import { referenceBackend } from './dist/backends/reference/index.js';
import { webgpuBackend } from './dist/backends/webgpu/index.js';
import { alexnet } from './dist/models/index.js';
import { partition } from './dist/partition/index.js';
import { createRng, uniform } from './dist/random.js';
import { loadGraph, runGraph } from './dist/runtime/index.js';
import { tensor } from './dist/tensor.js';
import { paperInit } from './dist/train/index.js';

const input = (batch) => {
  const x = tensor([batch, 3, 227, 227]);
  const rng = createRng(1);
  for (let i = 0; i < x.data.length; i++) x.data[i] = 256 * uniform(rng) - 128;
  return x;
};
const relErr = (a, b) => {
  let e = 0;
  let r = 0;
  for (let i = 0; i < b.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    r = Math.max(r, Math.abs(b[i]));
  }
  return e / Math.max(r, 1e-6);
};

const rows = [];
let adapter = '';
for (const preset of ['bvlc', 'paper']) {
  const graph = alexnet({ preset });
  const weights = paperInit(graph, { seed: 1 });
  const reference = (await runGraph(graph, referenceBackend, weights, input(1))).output.data;
  for (const devices of [1, 2]) {
    const split = devices > 1 ? partition(graph, { devices }) : undefined;
    const session = split ? await loadGraph(split.graph, webgpuBackend(), split.shardWeights(weights)) : await loadGraph(graph, webgpuBackend(), weights);
    if (devices === 1) adapter = session.details ?? adapter;
    for (const batch of (process.env.GPU_BENCH_BATCHES ?? '1,16,128').split(',').map(Number)) {
      const x = input(batch);
      const first = await session.run(x); // warm-up: pipelines, buffers
      const error = relErr(first.output.data.subarray(0, 1000), reference);
      const times = [];
      for (let r = 0; r < (batch === 128 ? 5 : 10); r++) {
        const start = performance.now();
        await session.run(x);
        times.push((performance.now() - start) / batch);
      }
      times.sort((a, b) => a - b);
      const row = { system: 'webgpu', preset, devices, batch, msPerImage: times[times.length >> 1], min: times[0], max: times.at(-1), error };
      console.log(JSON.stringify(row));
      rows.push(row);
    }
    await session.dispose();
  }
}
writeFileSync(process.argv[2], JSON.stringify({ adapter, rows }, null, 2));
process.exit(0);
