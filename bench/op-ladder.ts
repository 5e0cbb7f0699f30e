// The memory-bound kernels of AlexNet, LRN and overlapping max-pool, on the paper's shapes: the
// reference backend (plain loops, float64) against the wasm kernels (SIMD128 and relaxed, one
// thread), every output checked against the reference before any is timed, then timed with
// tinybench and shown in GB/s of the bytes each op must read and write: these ops do a few flops
// per byte, so the roof they run against is the memory bandwidth, not the multiply-add ceiling.
// The time is the op's own (the runtime's timing of the node); a whole call also copies the input
// in and the output out into a fresh array, which on this VM costs more than the op (page faults).
// Run: npx tsx bench/op-ladder.ts [--quick]
import { Bench } from 'tinybench';
import { referenceBackend } from '../src/backends/reference/index.js';
import { wasmBackend } from '../src/backends/wasm/index.js';
import type { Backend } from '../src/backends/backend.js';
import { Graph } from '../src/graph/index.js';
import type { Op } from '../src/graph/index.js';
import { createRng, uniform } from '../src/random.js';
import { loadGraph } from '../src/runtime/index.js';
import { relativeError, sizeOf, tensor } from '../src/tensor.js';
import { setWasmFlags } from './common.js';

setWasmFlags();

/** [layer, op, input shape per image]: bvlc's (and, for the pools, paper's) layers. */
const OPS: [string, Op, number[]][] = [
  ['norm1', { type: 'lrn', size: 5, alpha: 1e-4, beta: 0.75, k: 1, alphaOverSize: true, groups: 1 }, [96, 55, 55]],
  ['norm2', { type: 'lrn', size: 5, alpha: 1e-4, beta: 0.75, k: 1, alphaOverSize: true, groups: 1 }, [256, 27, 27]],
  ['pool1', { type: 'maxpool2d', kernel: 3, stride: 2 }, [96, 55, 55]],
  ['pool2', { type: 'maxpool2d', kernel: 3, stride: 2 }, [256, 27, 27]],
  ['pool5', { type: 'maxpool2d', kernel: 3, stride: 2 }, [256, 13, 13]],
];

export interface OpLadderRow {
  layer: string;
  batch: number;
  system: string;
  /** the op alone: median of the runtime's timings of the node */
  ms: number;
  /** a whole session.run: tinybench's median latency */
  callMs: number;
  /** bytes of input and output over the median time */
  gbPerS: number;
  error: number;
}

export async function runOpLadder(quick: boolean): Promise<OpLadderRow[]> {
  const rows: OpLadderRow[] = [];
  const systems: [string, Backend][] = [
    ['reference', referenceBackend],
    ['wasm simd128', wasmBackend({ threads: 1, build: 'simd128' })],
    ['wasm relaxed', wasmBackend({ threads: 1, build: 'relaxed' })],
  ];
  for (const batch of quick ? [1] : [1, 16]) {
    for (const [layer, op, shape] of OPS) {
      const graph = new Graph([{ name: 'x', op: { type: 'input', shape } }, { name: layer, op }]);
      const x = tensor([batch, ...shape]);
      const rng = createRng(7);
      for (let i = 0; i < x.data.length; i++) x.data[i] = 20 * uniform(rng) - 10; // post-ReLU-like magnitudes, both signs
      const sessions = await Promise.all(systems.map(([, backend]) => loadGraph(graph, backend, new Map())));
      const outputs: Float32Array[] = [];
      for (const s of sessions) outputs.push((await s.run(x)).output.data);
      const errors = outputs.map((o) => relativeError(o, outputs[0]));
      if (errors.some((e) => !(e <= 1e-5))) throw new Error(`${layer}: a system disagrees with the reference: ${errors.map((e) => e.toExponential(1)).join(', ')}`);
      const bytes = 4 * batch * (sizeOf(shape) + sizeOf(graph.output.shape));
      const bench = new Bench({ time: quick ? 100 : 300, iterations: 3, warmupIterations: 1 });
      const opTimes = new Map<string, number[]>();
      sessions.forEach((s, i) => {
        const name = systems[i][0];
        if (i === 0 && batch > 1) return; // the reference is slow: timed at batch 1 only
        opTimes.set(name, []);
        bench.add(name, async () => void opTimes.get(name)!.push((await s.run(x)).timings.find((t) => t.name === layer)!.ms));
      });
      await bench.run();
      for (const task of bench.tasks) {
        if (task.result.state !== 'completed') throw new Error(`${layer} on ${task.name}: ${task.result.state}`);
        const times = opTimes.get(task.name)!.sort((a, b) => a - b);
        const ms = times[times.length >> 1];
        rows.push({ layer, batch, system: task.name, ms, callMs: task.result.latency.p50, gbPerS: bytes / (ms * 1e6), error: errors[systems.findIndex(([n]) => n === task.name)] });
      }
      await Promise.all(sessions.map((s) => s.dispose()));
    }
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await runOpLadder(process.argv.includes('--quick'));
  console.log('Every system matches the reference within 1e-5.');
  console.table(rows.map((r) => ({ ...r, ms: r.ms.toFixed(3), callMs: r.callMs.toFixed(3), gbPerS: r.gbPerS.toFixed(2), error: r.error.toExponential(1) })));
}
