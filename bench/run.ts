// `npm run bench [-- --quick]`: the GEMM ladder; AlexNet (bvlc, full width) forward on the wasm
// backend and its peers, onnxruntime-web (wasm) and onnxruntime-node (native), measured in the same
// run on the same network, weights and input; and paper on one device (1 and 2 threads) against
// two devices on two workers. Writes bench/results/<date>-<machine>.{json,md} and prints the
// Markdown (the README's benchmark section is a copy of the latest).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { alexnet } from '../src/models/index.js';
import type { Spread } from './common.js';
import { machine, spread } from './common.js';
import { runLadder } from './gemm-ladder.js';
import type { LadderRow } from './gemm-ladder.js';
import { prepareNetworkBench } from './network-setup.js';

const quick = process.argv.includes('--quick');

interface NetworkRow {
  system: string;
  preset: string;
  details: string;
  threads: number;
  batch: number;
  msPerImage: Spread;
  /** The median of each process, when several were run. */
  processMedians?: number[];
  /** Bytes that crossed devices per image (wasm-devices). */
  transferredPerImage: number;
  error: number;
}

const GFLOP_PER_IMAGE = (2 * alexnet({ preset: 'bvlc' }).nodes.filter((n) => n.op.type === 'conv2d' || n.op.type === 'linear').reduce((s, n) => s + n.macs, 0)) / 1e9;
/** [system, preset, threads, batch] */
type Config = [string, 'bvlc' | 'paper', number, number];
const PEERS: Config[] = (quick ? [[1, 1], [2, 16]] : [[1, 1], [1, 16], [2, 1], [2, 16]]).flatMap(([threads, batch]) =>
  (quick ? ['wasm', 'ort-web', 'ort-node'] : ['wasm', 'wasm-simd128', 'ort-web', 'ort-node']).map((system): Config => [system, 'bvlc', threads, batch]),
);
// paper, the two-tower network: one device on 1 and on 2 threads, two devices on a worker each
const DEVICES: Config[] = [1, 16].flatMap((batch) => [['wasm', 'paper', 1, batch], ['wasm', 'paper', 2, batch], ['wasm-devices', 'paper', 1, batch]] as Config[]);
// WebGPU, one GPUDevice and two; batch 1 only, as on software Vulkan a forward takes about a second
const WEBGPU: Config[] = [['webgpu', 'paper', 1, 1], ['webgpu-devices', 'paper', 1, 1]];

console.log(`GEMM ladder${quick ? ' (quick: conv2 and conv3 only)' : ''}`);
const ladder = await runLadder(quick);
console.log('All rungs match the float64 product within 1e-5.\n');

console.log('AlexNet bvlc and paper, full width: preparing the ONNX file and the reference outputs');
await prepareNetworkBench();
// Each configuration runs in PROCESSES separate processes, rounds interleaved across systems so
// that a drift of the machine's speed hits all of them alike: a runtime's speed can differ from
// process to process (onnxruntime-web's batch-1 time has been seen at both ~60 and ~97 ms here),
// so one process is not a measurement.
const PROCESSES = quick ? 1 : 3;
const samples = new Map<string, NetworkRow[]>();
for (let round = 0; round < PROCESSES; round++) {
  for (const [system, preset, threads, batch] of [...PEERS, ...DEVICES, ...WEBGPU]) {
    const runs = quick || system.startsWith('webgpu') ? 2 : batch === 1 ? 7 : 3;
    const out = execFileSync(process.execPath, ['--import', 'tsx', new URL('network-child.ts', import.meta.url).pathname, system, preset, String(threads), String(batch), String(runs)], { encoding: 'utf8' });
    const row = JSON.parse(out.trim().split('\n').at(-1)!) as NetworkRow;
    if (!(row.error <= 1e-4)) throw new Error(`${system} on ${preset}: output differs from the reference backend by ${row.error}`);
    const key = `${system}|${preset}|${threads}|${batch}`;
    samples.set(key, [...(samples.get(key) ?? []), row]);
    console.log(`  ${system.padEnd(12)} ${preset.padEnd(5)} ${threads} thread(s), batch ${String(batch).padStart(2)}: ${row.msPerImage.median.toFixed(1)} ms/image (process ${round + 1} of ${PROCESSES})`);
  }
}
/** Per configuration: the median of the processes' medians, the extremes of all their runs. */
const rows: NetworkRow[] = [...samples.values()].map((rs) => {
  const medians = spread(rs.map((r) => r.msPerImage.median));
  return {
    ...rs[0],
    msPerImage: { median: medians.median, min: Math.min(...rs.map((r) => r.msPerImage.min)), max: Math.max(...rs.map((r) => r.msPerImage.max)), samples: rs.reduce((n, r) => n + r.msPerImage.samples, 0) },
    processMedians: rs.map((r) => r.msPerImage.median),
    error: Math.max(...rs.map((r) => r.error)),
  };
});
const network = rows.filter((r) => r.preset === 'bvlc');
const devices = rows.filter((r) => r.preset === 'paper');

const m = machine();
const now = new Date().toISOString();
const date = now.slice(0, 10);
const markdown = report();
// one file per run (UTC time in the name), so that runs on a noisy machine can be compared
const name = `${date}T${now.slice(11, 16).replace(':', '')}-${m.cpu.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}-${m.cores}c${quick ? '-quick' : ''}`;
mkdirSync(new URL('results', import.meta.url), { recursive: true });
writeFileSync(new URL(`results/${name}.json`, import.meta.url), `${JSON.stringify({ date, machine: m, quick, ladder, network, devices }, null, 2)}\n`);
writeFileSync(new URL(`results/${name}.md`, import.meta.url), markdown);
console.log(`\n${markdown}\nwrote bench/results/${name}.{json,md}`);

function report(): string {
  const find = (system: string, threads: number, batch: number): NetworkRow | undefined => network.find((r) => r.system === system && r.threads === threads && r.batch === batch);
  const ratio = (a: NetworkRow | undefined, b: NetworkRow | undefined): number => (a && b ? a.msPerImage.median / b.msPerImage.median : NaN);
  const ceiling = ladder.ceilings.relaxed;
  const lines = [
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB, Node ${m.node}. ${date}${quick ? ', quick run' : ''}.`,
    `Ceiling (register-only multiply-adds, one core): simd128 ${ladder.ceilings.simd128.toFixed(1)} GFLOP/s, relaxed ${ceiling.toFixed(1)} GFLOP/s. ` +
      `The micro-kernel alone (one tile, K = 1200, hot in cache): simd128 4x8 ${ladder.microKernel.simd128.toFixed(1)} GFLOP/s, relaxed 6x8 ${ladder.microKernel.relaxed.toFixed(1)} GFLOP/s.`,
    '',
    `**AlexNet \`bvlc\`, full width, forward** (ms/image: median of ${PROCESSES} process${PROCESSES > 1 ? 'es\' medians' : '\'s runs'} [fastest–slowest run], each process timing its runs after a warm-up; ratios are wasm ÷ peer, lower is better):`,
    '',
    '| system | threads | batch | ms/image | images/s | GFLOP/s | % of wasm ceiling | vs ort-web | vs ort-node | error vs reference |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...network.map((r) => {
      const gflops = GFLOP_PER_IMAGE / (r.msPerImage.median / 1000);
      const vsWeb = r.system.startsWith('wasm') ? ratio(r, find('ort-web', r.threads, r.batch)).toFixed(2) : '';
      const vsNode = r.system.startsWith('wasm') ? ratio(r, find('ort-node', r.threads, r.batch)).toFixed(2) : '';
      const s = r.msPerImage;
      const ofCeiling = r.system.startsWith('wasm') ? `${((100 * gflops) / (ceiling * r.threads)).toFixed(0)} %` : '';
      return `| ${r.system} (${r.details}) | ${r.threads} | ${r.batch} | ${s.median.toFixed(1)} [${s.min.toFixed(1)}–${s.max.toFixed(1)}] | ${(1000 / s.median).toFixed(1)} | ${gflops.toFixed(1)} | ${ofCeiling} | ${vsWeb} | ${vsNode} | ${r.error.toExponential(1)} |`;
    }),
    '',
    '**GEMM ladder** (AlexNet\'s conv GEMMs, one group, batch 1; M x K x N; every rung checked against a float64 product first):',
    '',
    '| build | GEMM | naive | blocked | packed micro-kernel | packed, % of ceiling |',
    '|---|---|---|---|---|---|',
    ...[...new Set(ladder.rows.map((r) => `${r.build}|${r.shape}`))].map((key) => {
      const rows = ladder.rows.filter((r) => `${r.build}|${r.shape}` === key);
      const at = (rung: string): LadderRow => rows.find((r) => r.rung === rung)!;
      const [build, shape] = key.split('|');
      return `| ${build} | ${shape} | ${at('naive').gflops.toFixed(1)} | ${at('blocked').gflops.toFixed(1)} | ${at('packed micro-kernel').gflops.toFixed(1)} | ${(100 * at('packed micro-kernel').ofCeiling).toFixed(0)} % |`;
    }),
    '',
    '**AlexNet `paper` split over devices** (as in 2012: conv2/4/5 per tower, conv3 and the FC layers reading both; every output bit-identical to one device):',
    '',
    '| configuration | batch | ms/image | images/s | vs wasm, 1 device, 1 thread | bytes across devices per image |',
    '|---|---|---|---|---|---|',
    ...devices.map((r) => {
      const base = devices.find((b) => b.system === 'wasm' && b.threads === 1 && b.batch === r.batch);
      const what = {
        wasm: `wasm, 1 device, ${r.threads} thread${r.threads > 1 ? 's' : ''}`,
        'wasm-devices': 'wasm, 2 devices, one worker and one thread each',
        webgpu: `webgpu, 1 device (${r.details})`,
        'webgpu-devices': 'webgpu, 2 devices on that adapter',
      }[r.system];
      const s = r.msPerImage;
      return `| ${what} | ${r.batch} | ${s.median.toFixed(1)} [${s.min.toFixed(1)}–${s.max.toFixed(1)}] | ${(1000 / s.median).toFixed(1)} | ${ratio(r, base).toFixed(2)}x | ${r.transferredPerImage ? r.transferredPerImage.toLocaleString('en-US') : '0'} |`;
    }),
    '',
    '**Targets** (issue 3), as ratios measured in this run:',
    '',
    '| target | measured | |',
    '|---|---|---|',
    target('batch 16, 2 threads ≤ 0.45x onnxruntime-web', ratio(find('wasm', 2, 16), find('ort-web', 2, 16)), 0.45),
    target('batch 16, 2 threads ≤ 2.3x onnxruntime-node', ratio(find('wasm', 2, 16), find('ort-node', 2, 16)), 2.3),
    target('batch 1, 1 thread ≤ 0.5x onnxruntime-web', ratio(find('wasm', 1, 1), find('ort-web', 1, 1)), 0.5),
    target('GEMM micro-kernel ≥ 80 % of the relaxed-SIMD ceiling', ladder.microKernel.relaxed / ceiling, 0.8, true),
    '',
  ];
  return lines.join('\n');
}

function target(what: string, measured: number, bound: number, atLeast = false): string {
  const met = atLeast ? measured >= bound : measured <= bound;
  const shown = atLeast ? `${(100 * measured).toFixed(0)} %` : `${measured.toFixed(2)}x`;
  return `| ${what} | ${shown} | ${Number.isNaN(measured) ? 'not measured' : met ? 'met' : `**missed** by ${atLeast ? `${(100 * (bound - measured)).toFixed(0)} points` : `${((measured / bound - 1) * 100).toFixed(0)} %`}`} |`;
}
