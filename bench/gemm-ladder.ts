// The GEMM ladder: AlexNet's conv GEMMs (one group, batch 1) computed naive -> blocked -> packed
// micro-kernel in WASM, every rung checked against a float64 product before any is timed, then
// timed with tinybench and shown in GFLOP/s and as a share of the measured ceiling (peak()).
// Run: npx tsx bench/gemm-ladder.ts [--quick]
import { readFileSync } from 'node:fs';
import { Bench } from 'tinybench';
import { setWasmFlags } from './common.js';
import { relativeError } from '../src/tensor.js';

setWasmFlags();

/** [name, M = output channels per group, K = (C/groups)·k², N = output pixels] */
export const SHAPES: [string, number, number, number][] = [
  ['conv1', 96, 363, 3025],
  ['conv2', 128, 1200, 729],
  ['conv3', 384, 2304, 169],
  ['conv4', 192, 1728, 169],
  ['conv5', 128, 1728, 169],
];

interface Ladder {
  gemmNaive(a: number, b: number, c: number, m: number, n: number, k: number): void;
  gemmBlocked(a: number, b: number, c: number, m: number, n: number, k: number): void;
  gemmPacked(a: number, b: number, c: number, m: number, n: number, k: number, edge: number): void;
  packA(a: number, dst: number, m: number, k: number): void;
  packB(b: number, dst: number, k: number, n: number): void;
  packedAFloats(m: number, k: number): number;
  packedBFloats(k: number, n: number): number;
  peak(iters: number): number;
  peakFlopsPerIter(): number;
  streamRead(src: number, bytes: number): number;
  streamCopy(src: number, dst: number, bytes: number): void;
  heapBase(): number;
  panelRows(): number;
  micro4x8(a: number, b: number, k: number, c: number, ldc: number, rowBias: number, colBias: number): void;
  micro6x8(a: number, b: number, k: number, c: number, ldc: number, rowBias: number, colBias: number): void;
}

export interface LadderRow {
  build: string;
  shape: string;
  rung: string;
  gflops: number;
  ofCeiling: number;
  error: number;
}

/** GB/s from one core, best of several passes over buffers far larger than the caches. */
export interface Bandwidth {
  read: number;
  /** bytes read plus bytes written */
  copy: number;
}

export async function runLadder(quick: boolean): Promise<{ ceilings: Record<string, number>; microKernel: Record<string, number>; bandwidth: Bandwidth; rows: LadderRow[] }> {
  const rows: LadderRow[] = [];
  let bandwidth: Bandwidth = { read: 0, copy: 0 };
  const ceilings: Record<string, number> = {};
  const microKernel: Record<string, number> = {};
  for (const build of ['simd128', 'relaxed']) {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const module = new WebAssembly.Module(readFileSync(new URL(`../build/ladder.${build}.wasm`, import.meta.url)));
    const ladder = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Ladder;

    // the ceiling: best of several timed runs of the register-only multiply-add loop
    const iters = 2e7;
    ladder.peak(1e5);
    let best = 0;
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      ladder.peak(iters);
      best = Math.max(best, (iters * ladder.peakFlopsPerIter()) / ((performance.now() - t) * 1e6));
    }
    ceilings[build] = best;

    // the micro-kernel alone: one MR x 8 tile over K = 1200 (conv2's depth), panels hot in cache
    const mr = ladder.panelRows();
    const k = 1200;
    const base = Math.ceil(ladder.heapBase() / 64) * 64;
    const [pa, pb, pc, zeros] = [base, base + mr * k * 4, base + (mr + 8) * k * 4, base + (mr + 8) * k * 4 + 256];
    if (zeros + 64 > memory.buffer.byteLength) memory.grow(Math.ceil((zeros + 64 - memory.buffer.byteLength) / 65536));
    new Float32Array(memory.buffer, pa, (mr + 8) * k).fill(0.5);
    const micro = mr === 6 ? ladder.micro6x8 : ladder.micro4x8;
    const calls = 20000;
    let microBest = 0;
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      for (let i = 0; i < calls; i++) micro(pa, pb, k, pc, 8, zeros, zeros);
      microBest = Math.max(microBest, (calls * 2 * mr * 8 * k) / ((performance.now() - t) * 1e6));
    }
    microKernel[build] = microBest;
    if (build === 'simd128') bandwidth = measureBandwidth(ladder, memory, quick);
    console.log(`${build}: ceiling ${best.toFixed(1)} GFLOP/s per core (register-only multiply-adds); ${mr}x8 micro-kernel ${microBest.toFixed(1)} GFLOP/s (${((100 * microBest) / best).toFixed(0)} %)`);

    for (const [shape, m, k, n] of quick ? SHAPES.slice(1, 3) : SHAPES) {
      // layout: A, B, C, packed A, packed B, edge
      const a = Math.ceil(ladder.heapBase() / 64) * 64;
      const b = a + m * k * 4;
      const c = b + k * n * 4;
      const pa = c + m * n * 4;
      const pb = pa + ladder.packedAFloats(m, k) * 4;
      const edge = pb + ladder.packedBFloats(k, n) * 4;
      const end = edge + 256;
      if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
      const f32 = new Float32Array(memory.buffer);
      let s = 1;
      const rand = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
      for (let i = 0; i < m * k; i++) f32[a / 4 + i] = rand();
      for (let i = 0; i < k * n; i++) f32[b / 4 + i] = rand();
      // float64 reference product
      const ref = new Float64Array(m * n);
      for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) {
        const av = f32[a / 4 + i * k + p];
        for (let j = 0; j < n; j++) ref[i * n + j] += av * f32[b / 4 + p * n + j];
      }
      ladder.packA(a, pa, m, k); // weights: packed once, at load
      const rungs: [string, () => void][] = [
        ['naive', () => ladder.gemmNaive(a, b, c, m, n, k)],
        ['blocked', () => ladder.gemmBlocked(a, b, c, m, n, k)],
        ['packed micro-kernel', () => {
          ladder.packB(b, pb, k, n); // activations: packed per call, as im2col does
          ladder.gemmPacked(pa, pb, c, m, n, k, edge);
        }],
      ];
      const errors = rungs.map(([, run]) => {
        f32.fill(NaN, c / 4, c / 4 + m * n);
        run();
        return relativeError(f32.subarray(c / 4, c / 4 + m * n), ref);
      });
      if (errors.some((e) => !(e <= 1e-5))) throw new Error(`${build} ${shape}: a rung disagrees with the float64 product: ${errors.map((e) => e.toExponential(1)).join(', ')}`);
      const bench = new Bench({ time: quick ? 100 : 400, iterations: 3, warmupIterations: 1 });
      for (const [name, run] of rungs) bench.add(name, run);
      await bench.run();
      bench.tasks.forEach((task, i) => {
        const result = task.result;
        if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
        const gflops = (2 * m * n * k) / (result.latency.p50 * 1e6);
        rows.push({ build, shape: `${shape} ${m}x${k}x${n}`, rung: task.name, gflops, ofCeiling: gflops / best, error: errors[i] });
      });
    }
  }
  console.log(`memory bandwidth, one core: read ${bandwidth.read.toFixed(1)} GB/s, copy ${bandwidth.copy.toFixed(1)} GB/s (read + write)`);
  return { ceilings, microKernel, bandwidth, rows };
}

function measureBandwidth(ladder: Ladder, memory: WebAssembly.Memory, quick: boolean): Bandwidth {
  // larger than the L3 one core sees on current server chips (up to 96 MiB); 64 MiB in a quick run
  const bytes = (quick ? 64 : 256) << 20;
  const src = Math.ceil(ladder.heapBase() / 64) * 64;
  const dst = src + bytes;
  if (dst + bytes > memory.buffer.byteLength) memory.grow(Math.ceil((dst + bytes - memory.buffer.byteLength) / 65536));
  new Float32Array(memory.buffer, src, bytes / 4).fill(1); // touched, so no pass pays for page faults
  new Float32Array(memory.buffer, dst, bytes / 4).fill(0);
  const best = (pass: () => void, traffic: number): number => {
    let fastest = Infinity;
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      pass();
      fastest = Math.min(fastest, performance.now() - t);
    }
    return traffic / (fastest * 1e6);
  };
  return { read: best(() => ladder.streamRead(src, bytes), bytes), copy: best(() => ladder.streamCopy(src, dst, bytes), 2 * bytes) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { rows } = await runLadder(process.argv.includes('--quick'));
  console.log('All rungs match the float64 product within 1e-5.');
  console.table(rows.map((r) => ({ ...r, gflops: r.gflops.toFixed(1), ofCeiling: `${(100 * r.ofCeiling).toFixed(0)} %`, error: r.error.toExponential(1) })));
}
