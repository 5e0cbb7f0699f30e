// `npm run bench:webgpu`: our WebGPU forward against TensorFlow.js WebGPU on the same adapter (Dawn's
// default: lavapipe where there is no GPU), bvlc at full width, batch 1 and 16, three processes
// each, interleaved; the kernel ladder (webgpu-ladder.ts) at batch 1 and 16; and the issue's
// targets: ours ≤ 0.8x tfjs-webgpu's time, and no layer over 3x its share of the multiply-adds.
// Writes bench/results/<date>T<time>-webgpu.{json,md}. `npm run bench` measures the same rows in
// its full run; this is the WebGPU part alone, for a GPU machine or a quick look.
import { mkdirSync, writeFileSync } from 'node:fs';
import { alexnet } from '../src/models/index.js';
import { combineProcesses, machine, runChild } from './common.js';
import type { Spread } from './common.js';
import { prepareNetworkBench } from './network-setup.js';
import { webgpuLadder } from './webgpu-ladder.js';

/** What network-child.ts prints. */
interface NetworkRow {
  system: string;
  batch: number;
  details: string;
  msPerImage: Spread;
  error: number;
}

const PROCESSES = 3;
const BATCHES = [1, 16];
await prepareNetworkBench();
const samples = new Map<string, NetworkRow[]>();
for (let round = 0; round < PROCESSES; round++) {
  for (const batch of BATCHES) {
    for (const system of ['webgpu', 'tfjs-webgpu']) {
      const row = runChild<NetworkRow>('network-child.ts', [system, 'bvlc', 1, batch, 2]);
      if (!(row.error <= 1e-4)) throw new Error(`${system}: output differs from the reference by ${row.error}`);
      samples.set(`${system}|${batch}`, [...(samples.get(`${system}|${batch}`) ?? []), row]);
      console.log(`  ${system.padEnd(12)} batch ${String(batch).padStart(2)}: ${row.msPerImage.median.toFixed(1)} ms/image (process ${round + 1} of ${PROCESSES})`);
    }
  }
}
const network = [...samples.values()].map((rs) => combineProcesses(rs));

// each layer's share of the time against its share of the multiply-adds, in the whole forward
const graph = alexnet({ preset: 'bvlc' });
const macs = Object.fromEntries(graph.nodes.map((n) => [n.name, n.macs]));
const totalMacs = graph.nodes.reduce((s, n) => s + n.macs, 0);
const layers = BATCHES.map((batch) => {
  const row = runChild<{ layers: Record<string, number> }>('layers-child.ts', ['webgpu', 'bvlc', 1, 1, batch, 2]);
  const total = Object.values(row.layers).reduce((s, v) => s + v, 0);
  const worst = Object.entries(row.layers)
    .filter(([name]) => macs[name] > 0)
    .map(([name, ms]) => ({ name, ms, ratio: ms / total / (macs[name] / totalMacs) }))
    .sort((a, b) => b.ratio - a.ratio);
  return { batch, layers: row.layers, worst };
});

console.log('\nThe WebGPU kernel ladder');
const ladder = await webgpuLadder('bvlc', 1, BATCHES, 2);

const m = machine();
const now = new Date().toISOString();
const find = (system: string, batch: number) => network.find((r) => r.system === system && r.batch === batch)!;
const fmt = (x: Spread): string => `${x.median.toFixed(1)} [${x.min.toFixed(1)}–${x.max.toFixed(1)}]`;
const verdict = (ok: boolean): string => (ok ? 'met' : '**missed**');
const md = [
  `Machine: ${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB, Node ${m.node}; ${ladder.adapter}. ${now.slice(0, 10)}.`,
  '',
  `**AlexNet \`bvlc\`, full width, WebGPU forward** (ms/image: median of ${PROCESSES} processes' medians [fastest–slowest run]; both on the same adapter, weights and input; every output checked against the reference first):`,
  '',
  '| system | batch | ms/image | images/s | ours ÷ tfjs-webgpu | error vs reference |',
  '|---|---|---|---|---|---|',
  ...network.map((r) => `| ${r.system} | ${r.batch} | ${fmt(r.msPerImage)} | ${(1000 / r.msPerImage.median).toFixed(2)} | ${r.system === 'webgpu' ? (r.msPerImage.median / find('tfjs-webgpu', r.batch).msPerImage.median).toFixed(2) : ''} | ${r.error.toExponential(1)} |`),
  '',
  '**Targets** (issue 19):',
  '',
  '| target | measured | |',
  '|---|---|---|',
  ...BATCHES.map((b) => {
    const x = find('webgpu', b).msPerImage.median / find('tfjs-webgpu', b).msPerImage.median;
    return `| batch ${b}: ours ≤ 0.8x TensorFlow.js WebGPU's time | ${x.toFixed(2)}x | ${verdict(x <= 0.8)} |`;
  }),
  ...layers.map((l) => `| batch ${l.batch}: no layer over 3x its share of the multiply-adds | worst ${l.worst[0].name}, ${l.worst[0].ratio.toFixed(2)}x (then ${l.worst[1].name} ${l.worst[1].ratio.toFixed(2)}x) | ${verdict(l.worst[0].ratio <= 3)} |`),
  '',
  ladder.markdown,
  '',
].join('\n');
const name = `${now.slice(0, 10)}T${now.slice(11, 16).replace(':', '')}-webgpu`;
mkdirSync(new URL('results', import.meta.url), { recursive: true });
writeFileSync(new URL(`results/${name}.json`, import.meta.url), `${JSON.stringify({ date: now.slice(0, 10), machine: m, adapter: ladder.adapter, network, layers, webgpuLadder: ladder.rungs }, null, 2)}\n`);
writeFileSync(new URL(`results/${name}.md`, import.meta.url), md);
console.log(`\n${md}\nwrote bench/results/${name}.{json,md}`);
process.exit(0);
