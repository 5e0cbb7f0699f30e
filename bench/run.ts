// `npm run bench [-- --quick]`, everything measured in one run on one machine:
//   the roofline: the multiply-add ceiling per core (SIMD128, relaxed) and the memory bandwidth;
//   kernel ladders: AlexNet's conv GEMMs (naive -> blocked -> packed) and its LRN and max-pools
//     (reference against the wasm builds), each checked against a float64 or reference result first;
//   AlexNet bvlc (full width) forward on our backends and on the peers, onnxruntime-web (wasm),
//     onnxruntime-node (native), TensorFlow.js wasm and WebGPU, on the same network, weights, input;
//   per-layer times per backend (bench/layers.ts); the WebGPU kernel ladder (bench/webgpu-ladder.ts);
//   paper on one device against two (wasm workers,
//     WebGPU devices); and the training step against PyTorch (bench/train.ts; full run only).
// Writes bench/results/<date>-<machine>.{json,md} and charts (<...>-network.svg, <...>-layers.svg)
// and prints the Markdown (the README's benchmark section is a copy of the latest).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { alexnet } from '../src/models/index.js';
import { barChart, stackedBars } from './charts.js';
import type { ChartSpec } from '../src/charts.js';
import { writeChart } from './common.js';
import type { Spread } from './common.js';
import { combineProcesses, machine, runChild } from './common.js';
import { runLadder } from './gemm-ladder.js';
import type { LadderRow } from './gemm-ladder.js';
import { layersMarkdown, runLayers } from './layers.js';
import { prepareNetworkBench } from './network-setup.js';
import { runOpLadder } from './op-ladder.js';
import { webgpuLadder } from './webgpu-ladder.js';

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
// TensorFlow.js's wasm backend has no threads in Node: it runs where we run one thread
const PEERS: Config[] = (quick ? [[1, 1]] : [[1, 1], [1, 16], [2, 1], [2, 16]]).flatMap(([threads, batch]) =>
  [...(quick ? ['wasm'] : ['wasm', 'wasm-simd128']), 'ort-web', 'ort-node', ...(threads === 1 ? ['tfjs-wasm'] : [])].map((system): Config => [system, 'bvlc', threads, batch]),
);
// batch 128 where memory allows: the native and the wasm runtimes, on both cores
const LARGE: Config[] = quick ? [] : ['wasm', 'ort-node', 'ort-web'].map((system): Config => [system, 'bvlc', 2, 128]);
// paper, the two-tower network: one device on 1 and on 2 threads, two devices on a worker each
const DEVICES: Config[] = (quick ? [1] : [1, 16]).flatMap((batch) => [['wasm', 'paper', 1, batch], ['wasm', 'paper', 2, batch], ['wasm-devices', 'paper', 1, batch]] as Config[]);
// WebGPU on the same adapter: ours (one GPUDevice, and two for paper) and TensorFlow.js's, few runs,
// as on software Vulkan a forward takes about a second per image
const WEBGPU: Config[] = quick
  ? [['webgpu', 'bvlc', 1, 1]]
  : [1, 16].flatMap((batch): Config[] => [['webgpu', 'bvlc', 1, batch], ['tfjs-webgpu', 'bvlc', 1, batch]]).concat([['webgpu', 'paper', 1, 1], ['webgpu-devices', 'paper', 1, 1]]);

console.log(`GEMM ladder and roofline${quick ? ' (quick: conv2 and conv3 only)' : ''}`);
const ladder = await runLadder(quick);
console.log('All rungs match the float64 product within 1e-5.\n');
console.log('LRN and max-pool ladder');
const ops = await runOpLadder(quick);
console.log('Every system matches the reference within 1e-5.\n');

console.log('AlexNet bvlc and paper, full width: preparing the ONNX file and the reference outputs');
await prepareNetworkBench();
// Each configuration runs in PROCESSES separate processes, rounds interleaved across systems so
// that a drift of the machine's speed hits all of them alike: a runtime's speed can differ from
// process to process (onnxruntime-web's batch-1 time has been seen at both ~60 and ~97 ms here),
// so one process is not a measurement.
const PROCESSES = quick ? 1 : 3;
const samples = new Map<string, NetworkRow[]>();
for (let round = 0; round < PROCESSES; round++) {
  for (const [system, preset, threads, batch] of [...PEERS, ...LARGE, ...DEVICES, ...WEBGPU]) {
    const runs = quick || system.includes('webgpu') || batch === 128 ? 2 : batch === 1 ? 7 : 3;
    const row = runChild<NetworkRow>('network-child.ts', [system, preset, threads, batch, runs]);
    if (!(row.error <= 1e-4)) throw new Error(`${system} on ${preset}: output differs from the reference backend by ${row.error}`);
    const key = `${system}|${preset}|${threads}|${batch}`;
    samples.set(key, [...(samples.get(key) ?? []), row]);
    console.log(`  ${system.padEnd(12)} ${preset.padEnd(5)} ${threads} thread(s), batch ${String(batch).padStart(2)}: ${row.msPerImage.median.toFixed(1)} ms/image (process ${round + 1} of ${PROCESSES})`);
  }
}
/** Per configuration: the median of the processes' medians, the extremes of all their runs. */
const rows: NetworkRow[] = [...samples.values()].map((rs) => combineProcesses(rs));
const network = rows.filter((r) => r.preset === 'bvlc');
const devices = rows.filter((r) => r.preset === 'paper');

console.log('\nPer layer, per backend');
const layers = await runLayers(quick);
// the WebGPU kernel ladder at full width (quick: one batch, two layers' worth of time at width 0.25)
console.log('\nThe WebGPU kernel ladder');
const webgpu = quick ? await webgpuLadder('bvlc', 0.25, [1], 1) : await webgpuLadder('bvlc', 1, [1, 16], 2);
let training: { markdown: string; rows: unknown } | undefined;
if (!quick) {
  console.log('\nThe training step against PyTorch (bench/train.ts)');
  const printed = execFileSync(process.execPath, ['--import', 'tsx', new URL('train.ts', import.meta.url).pathname], { encoding: 'utf8' });
  const file = /bench\/results\/(\S+)\.md/.exec(printed)?.[1];
  if (!file) throw new Error(`bench/train.ts did not name its results file:\n${printed}`);
  training = { markdown: readFileSync(new URL(`results/${file}.md`, import.meta.url), 'utf8'), rows: JSON.parse(readFileSync(new URL(`results/${file}.json`, import.meta.url), 'utf8')) };
}

const m = machine();
const now = new Date().toISOString();
const date = now.slice(0, 10);
const markdown = report();
// one file per run (UTC time in the name), so that runs on a noisy machine can be compared
const name = `${date}T${now.slice(11, 16).replace(':', '')}-${m.cpu.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}-${m.cores}c${quick ? '-quick' : ''}`;
mkdirSync(new URL('results', import.meta.url), { recursive: true });
writeFileSync(new URL(`results/${name}.json`, import.meta.url), `${JSON.stringify({ date, machine: m, quick, ladder, ops, network, devices, layers, webgpuLadder: webgpu.rungs, training: training?.rows }, null, 2)}\n`);
writeFileSync(new URL(`results/${name}.md`, import.meta.url), markdown);
await writeChart(`results/${name}-network`, networkChart());
await writeChart(
  `results/${name}-layers`,
  stackedBars(
    // wasm only: the reference (reduced size) and software-Vulkan WebGPU are 10-100x slower and would
    // flatten every wasm bar; their layers are in the Markdown tables
    layers.filter((r) => r.system.startsWith('wasm')).map((r) => ({ label: r.label, parts: Object.entries(r.layers).map(([layer, value]) => ({ name: layer, value })) })),
    { title: 'AlexNet forward per layer on wasm (each layer\'s median)', unit: 'ms/image' },
  ),
);
console.log(`\n${markdown}\nwrote bench/results/${name}.{json,md} and ${name}-{network,layers}.{svg,png}`);

/**
 * ms/image of every CPU system on bvlc on both cores (TensorFlow.js on its one), fastest first
 * within each batch size. WebGPU on software Vulkan takes ~50x longer and would flatten every other
 * bar: it is in the table.
 */
function networkChart(): ChartSpec {
  const shown = network.filter((r) => (r.threads === (quick ? 1 : 2) || r.system === 'tfjs-wasm') && !r.system.includes('webgpu'));
  const ordered = [...shown].sort((a, b) => a.batch - b.batch || a.msPerImage.median - b.msPerImage.median);
  return barChart(
    ordered.map((r) => ({ label: `${r.system} (${r.details}), batch ${r.batch}`, ...r.msPerImage })),
    { title: `AlexNet bvlc forward on ${m.cpu}, ${m.cores} cores (median; whiskers: fastest–slowest run)`, unit: 'ms/image' },
  );
}

function report(): string {
  const find = (system: string, threads: number, batch: number): NetworkRow | undefined => network.find((r) => r.system === system && r.threads === threads && r.batch === batch);
  const ratio = (a: NetworkRow | undefined, b: NetworkRow | undefined): number => (a && b ? a.msPerImage.median / b.msPerImage.median : NaN);
  const ceiling = ladder.ceilings.relaxed;
  const ours = (r: NetworkRow): boolean => r.system.startsWith('wasm') || r.system === 'webgpu';
  // each of our rows against every peer on the same threads and batch; WebGPU against WebGPU
  const peersOf = (r: NetworkRow): string[] => (r.system === 'webgpu' ? ['tfjs-webgpu'] : ['ort-web', 'ort-node', 'tfjs-wasm']);
  const vs = (r: NetworkRow, peer: string): string => {
    if (!ours(r) || !peersOf(r).includes(peer)) return '';
    const x = ratio(r, find(peer, r.threads, r.batch));
    return Number.isNaN(x) ? '' : x.toFixed(2);
  };
  const s = (x: Spread): string => `${x.median.toFixed(1)} [${x.min.toFixed(1)}–${x.max.toFixed(1)}]`;
  const lines = [
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB, Node ${m.node}. ${date}${quick ? ', quick run' : ''}.`,
    '',
    `**Roofline** (what this machine can do, one core): multiply-add ceiling (register-only loop) simd128 ${ladder.ceilings.simd128.toFixed(1)} GFLOP/s, relaxed ${ceiling.toFixed(1)} GFLOP/s; ` +
      `the GEMM micro-kernel alone (one tile, K = 1200, hot in cache) simd128 4x8 ${ladder.microKernel.simd128.toFixed(1)}, relaxed 6x8 ${ladder.microKernel.relaxed.toFixed(1)} GFLOP/s; ` +
      `memory bandwidth ${ladder.bandwidth.read.toFixed(1)} GB/s read, ${ladder.bandwidth.copy.toFixed(1)} GB/s copying (read + write).`,
    '',
    `**AlexNet \`bvlc\`, full width, forward** (ms/image: median of ${PROCESSES} process${PROCESSES > 1 ? 'es\' medians' : '\'s runs'} [fastest–slowest run], each process timing its runs after a warm-up; ratios are ours ÷ peer at the same threads and batch, lower is better; GFLOP/s counts the direct convolution's multiply-adds, so Winograd layers can take a row past 100 % of the ceiling; WebGPU here is software Vulkan on the CPU):`,
    '',
    '| system | threads | batch | ms/image | images/s | GFLOP/s | % of ceiling × threads | vs ort-web | vs ort-node | vs tfjs-wasm | vs tfjs-webgpu | error vs reference |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...network.map((r) => {
      const gflops = GFLOP_PER_IMAGE / (r.msPerImage.median / 1000);
      const ofCeiling = r.system.startsWith('wasm') ? `${((100 * gflops) / (ceiling * r.threads)).toFixed(0)} %` : '';
      return `| ${r.system} (${r.details}) | ${r.threads} | ${r.batch} | ${s(r.msPerImage)} | ${(1000 / r.msPerImage.median).toFixed(1)} | ${gflops.toFixed(1)} | ${ofCeiling} | ${vs(r, 'ort-web')} | ${vs(r, 'ort-node')} | ${vs(r, 'tfjs-wasm')} | ${vs(r, 'tfjs-webgpu')} | ${r.error.toExponential(1)} |`;
    }),
    '',
    layersMarkdown(layers),
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
    webgpu.markdown,
    '',
    '**LRN and max-pool** (bvlc\'s layers, one thread; the op\'s own time; GB/s of its input and output, against the measured read bandwidth; every output checked against the reference first):',
    '',
    '| layer | batch | system | ms | GB/s | % of read bandwidth | whole call, ms | error |',
    '|---|---|---|---|---|---|---|---|',
    ...ops.map((r) => `| ${r.layer} | ${r.batch} | ${r.system} | ${r.ms.toFixed(3)} | ${r.gbPerS.toFixed(2)} | ${((100 * r.gbPerS) / ladder.bandwidth.read).toFixed(0)} % | ${r.callMs.toFixed(3)} | ${r.error.toExponential(1)} |`),
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
      return `| ${what} | ${r.batch} | ${s(r.msPerImage)} | ${(1000 / r.msPerImage.median).toFixed(1)} | ${base ? `${ratio(r, base).toFixed(2)}x` : ''} | ${r.transferredPerImage ? r.transferredPerImage.toLocaleString('en-US') : '0'} |`;
    }),
    '',
    trainingSection(),
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

/** bench/train.ts's table under its own title line. */
function trainingSection(): string {
  if (!training) return '**Training step**: measured in the full run only (alone: `npm run bench:train`).';
  const [title, , ...table] = training.markdown.trim().split('\n');
  return `**${title}** (bench/train.ts; ratios are images/s ÷ PyTorch's, higher is better):\n\n${table.join('\n')}`;
}

function target(what: string, measured: number, bound: number, atLeast = false): string {
  const met = atLeast ? measured >= bound : measured <= bound;
  const shown = atLeast ? `${(100 * measured).toFixed(0)} %` : `${measured.toFixed(2)}x`;
  return `| ${what} | ${shown} | ${Number.isNaN(measured) ? 'not measured' : met ? 'met' : `**missed** by ${atLeast ? `${(100 * (bound - measured)).toFixed(0)} points` : `${((measured / bound - 1) * 100).toFixed(0)} %`}`} |`;
}
