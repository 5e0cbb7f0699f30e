// The wasm thread protocol under contention (issue 22): every user of the thread pool run with
// more threads than cores, busy threads competing for the cores, and random pauses inside the
// protocol itself (`jitterMs`, threads.ts), each result compared bit for bit with one thread's.
// test/threads.test.ts runs it briefly in `npm test`; `npm run stress` runs it long, in several
// processes at once (scripts/stress.ts).
import { Worker } from 'node:worker_threads';
import type { Backend } from '../src/backends/backend.js';
import { wasmBackend } from '../src/backends/wasm/index.js';
import { wasmDevicesBackend } from '../src/backends/wasm/devices.js';
import type { WasmBuild } from '../src/backends/wasm/index.js';
import type { Graph } from '../src/graph/index.js';
import { alexnet } from '../src/models/index.js';
import { partition } from '../src/partition/index.js';
import { createRng, fillNormal, uniform } from '../src/random.js';
import type { Rng } from '../src/random.js';
import { loadGraph } from '../src/runtime/index.js';
import type { Weights } from '../src/runtime/index.js';
import type { Tensor } from '../src/tensor.js';
import { tensor } from '../src/tensor.js';
import { paperInit } from '../src/train/init.js';
import { wasmTrainKernels } from '../src/train/kernels.js';
import { TrainingNetwork } from '../src/train/network.js';

export interface StressOptions {
  /** Forward runs per model (each a new input, a random batch size) and training steps. */
  readonly runs: number;
  readonly seed: number;
  /** Threads per pool (more than the cores oversubscribes them). */
  readonly threads: number;
  /** Spinning threads started beside the pools. */
  readonly busy: number;
  readonly jitterMs: number;
  readonly build?: WasmBuild;
}

/** A mismatch: which check, which run, how many of how many values differ. */
export interface Mismatch {
  readonly check: string;
  readonly run: number;
  readonly differ: number;
  readonly of: number;
}

/** Threads that keep every core busy until stopped. */
export function startBusyThreads(count: number): () => Promise<void> {
  const code = `const { workerData } = require('node:worker_threads'); const stop = new Int32Array(workerData); let x = 0; while (Atomics.load(stop, 0) === 0) x++;`;
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const threads = Array.from({ length: count }, () => new Worker(code, { eval: true, workerData: stop.buffer }));
  return async () => {
    Atomics.store(stop, 0, 1);
    await Promise.all(threads.map((t) => new Promise((resolve) => t.once('exit', resolve))));
  };
}

function differing(a: Float32Array, b: Float32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++;
  return n + Math.abs(a.length - b.length);
}

function randomInput(rng: Rng, shape: readonly number[], maxBatch: number): Tensor {
  const n = 1 + Math.floor(uniform(rng) * maxBatch);
  const x = tensor([n, ...shape]);
  fillNormal(rng, x.data, 0, 1);
  return x;
}

/** Forward runs of `graph` on `backend` against the same inputs on one thread, output bits compared. */
async function forwardChecks(check: string, graph: Graph, weights: Weights, backend: Backend, one: Backend, o: StressOptions, rng: Rng, found: Mismatch[]): Promise<void> {
  const [a, b] = [await loadGraph(graph, one, weights), await loadGraph(graph, backend, weights)];
  try {
    for (let run = 0; run < o.runs; run++) {
      const x = randomInput(rng, graph.input.shape, 33);
      const [want, got] = [(await a.run(x)).output.data, (await b.run(x)).output.data];
      const differ = differing(want, got);
      if (differ) found.push({ check: `${check}, batch ${x.shape[0]}`, run, differ, of: want.length });
    }
  } finally {
    await Promise.all([a.dispose(), b.dispose()]);
  }
}

/** Runs every check once; returns what differed from the 1-thread results (nothing, when the protocol holds). */
export async function stressThreads(o: StressOptions): Promise<Mismatch[]> {
  const found: Mismatch[] = [];
  const rng = createRng(o.seed);
  const stopBusy = startBusyThreads(o.busy);
  const pool = { threads: o.threads, build: o.build, jitterMs: o.jitterMs };
  const one = wasmBackend({ threads: 1, build: o.build });
  try {
    // inference: mini (5x5 Winograd conv1, LRN per tower, batched FC) and a narrow paper network
    // (space-to-depth conv1, 3x3 Winograd, batch-1 GEMV)
    const models = { mini: alexnet({ preset: 'mini' }), 'paper at width 1/8': alexnet({ preset: 'paper', width: 0.125, classes: 10, inputSize: 67 }) };
    for (const [name, graph] of Object.entries(models)) {
      await forwardChecks(`${name} forward`, graph, paperInit(graph, { seed: o.seed }), wasmBackend(pool), one, o, rng, found);
    }
    // two devices, each a worker with its own pool, against one device on one thread
    const mini = alexnet({ preset: 'mini' });
    const split = partition(mini, { devices: 2 });
    const weights = paperInit(mini, { seed: o.seed + 1 });
    const [a, b] = [await loadGraph(mini, one, weights), await loadGraph(split.graph, wasmDevicesBackend(pool), split.shardWeights(weights))];
    try {
      for (let run = 0; run < Math.ceil(o.runs / 2); run++) {
        const x = randomInput(rng, mini.input.shape, 33);
        const [want, got] = [(await a.run(x)).output.data, (await b.run(x)).output.data];
        const differ = differing(want, got);
        if (differ) found.push({ check: `two devices, batch ${x.shape[0]}`, run, differ, of: want.length });
      }
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
    }
    // training steps: the same gradients from the training kernels on the pool and on one thread
    const small = alexnet({ preset: 'mini', width: 0.5 });
    const [k1, kn] = [await wasmTrainKernels(1), await wasmTrainKernels(o.threads, o.jitterMs)];
    try {
      const params = paperInit(small, { seed: o.seed + 2, std: 'fan-in' });
      for (let run = 0; run < Math.ceil(o.runs / 4); run++) {
        const x = randomInput(rng, small.input.shape, 17);
        const labels = Int32Array.from({ length: x.shape[0] }, () => Math.floor(uniform(rng) * 10));
        const seed = Math.floor(uniform(rng) * 2 ** 31);
        const want = new TrainingNetwork(small, k1).step(x, labels, params, createRng(seed)).grads;
        const got = new TrainingNetwork(small, kn).step(x, labels, params, createRng(seed)).grads;
        for (const [name, g] of want) {
          const differ = differing(g.data, got.get(name)!.data);
          if (differ) found.push({ check: `training step, ${name}, batch ${x.shape[0]}`, run, differ, of: g.data.length });
        }
      }
    } finally {
      await Promise.all([k1.release(), kn.release()]);
    }
  } finally {
    await stopBusy();
  }
  return found;
}
