// Per-layer timing of AlexNet's forward per backend: `npx tsx bench/layers.ts [--quick]` prints a
// Markdown table per preset (layers as rows, configurations as columns, ms/image) and writes
// bench/results/layers-<date>[-quick].svg, one stacked bar per configuration. runLayers() is the
// measurement, for other scripts. Each configuration runs in its own process (layers-child.ts).
import { pathToFileURL } from 'node:url';
import { alexnet } from '../src/models/index.js';
import { stackedBars } from './charts.js';
import { runChild, writeChart } from './common.js';
import type { Spread } from './common.js';
import { prepareNetworkBench } from './network-setup.js';

type Preset = 'paper' | 'bvlc';

export interface LayerRow {
  system: 'reference' | 'wasm-simd128' | 'wasm-relaxed' | 'webgpu';
  preset: Preset;
  /** 1, or the reduced width the reference backend runs at (its full-width forward takes minutes). */
  width: number;
  threads: number;
  batch: number;
  /** The backend's own description (wasm build and threads, WebGPU adapter). */
  details: string;
  /** What ran, for charts and tables; says so where the network was reduced. */
  label: string;
  /** Node name -> median ms/image, in graph order; a fused ReLU's time is in its conv's or FC's entry. */
  layers: Record<string, number>;
  /** The whole forward, ms/image. */
  total: Spread;
  /** Image 0's output against the reference backend's (max abs difference / max abs reference). */
  error: number;
}

type Config = Pick<LayerRow, 'system' | 'preset' | 'width' | 'threads' | 'batch'> & { runs: number };

const MAX_ERROR = 1e-4;

function configs(quick: boolean): Config[] {
  if (quick) {
    return [
      { system: 'wasm-relaxed', preset: 'paper', width: 1, threads: 2, batch: 1, runs: 3 },
      { system: 'webgpu', preset: 'paper', width: 1, threads: 1, batch: 1, runs: 2 },
    ];
  }
  return (['paper', 'bvlc'] as const).flatMap((preset): Config[] => [
    { system: 'reference', preset, width: 0.25, threads: 1, batch: 1, runs: 3 },
    ...(['wasm-simd128', 'wasm-relaxed'] as const).flatMap((system) =>
      [1, 2].flatMap((threads) => [1, 16].map((batch) => ({ system, preset, width: 1, threads, batch, runs: batch === 1 ? 7 : 3 }))),
    ),
    // on software Vulkan a batch-16 forward takes ~15 s, hence few runs
    ...[1, 16].map((batch) => ({ system: 'webgpu' as const, preset, width: 1, threads: 1, batch, runs: 2 })),
  ]);
}

function label(r: Omit<LayerRow, 'label'>): string {
  const what =
    r.system === 'reference'
      ? `reference (${r.details}), width ${r.width}: reduced size`
      : r.system === 'webgpu'
        ? r.details.startsWith('WebGPU') ? r.details : `WebGPU: ${r.details}`
        : `wasm ${r.details}`;
  return `${r.preset}, ${what}, batch ${r.batch}`;
}

/** Measures every configuration (quick: wasm relaxed on 2 threads and WebGPU, paper, batch 1, few runs). */
export async function runLayers(quick: boolean): Promise<LayerRow[]> {
  await prepareNetworkBench(); // the full-width reference outputs every row is checked against
  return configs(quick).map(({ system, preset, width, threads, batch, runs }) => {
    const row = runChild<Omit<LayerRow, 'label'>>('layers-child.ts', [system, preset, width, threads, batch, runs]);
    if (!(row.error <= MAX_ERROR)) throw new Error(`${system} on ${preset} (width ${width}, batch ${batch}): output differs from the reference backend by ${row.error}`);
    console.log(`  ${system.padEnd(12)} ${preset.padEnd(5)} width ${width}, ${threads} thread(s), batch ${String(batch).padStart(2)}: ${row.total.median.toFixed(1)} ms/image`);
    return { ...row, label: label(row) };
  });
}

/** One table per preset: a row per node that ran as a step, a column per configuration. */
export function layersMarkdown(rows: readonly LayerRow[]): string {
  const column = (r: LayerRow): string =>
    `${r.system === 'reference' ? `reference, width ${r.width}` : r.system === 'webgpu' ? 'webgpu' : `${r.system.slice(5)} ${r.threads} thr`}, batch ${r.batch}`;
  const ms = (v: number | undefined): string => (v === undefined ? '—' : v.toFixed(2));
  return (['paper', 'bvlc'] as const)
    .map((preset) => {
      const cols = rows.filter((r) => r.preset === preset);
      if (!cols.length) return '';
      const names = alexnet({ preset }).nodes.map((n) => n.name).filter((n) => cols.some((c) => n in c.layers));
      const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
      return [
        `**AlexNet \`${preset}\`, per layer** (ms/image, median of each process's timed runs after a warm-up; — : a ReLU the backend fused into the conv or FC above, whose row holds its time):`,
        '',
        line(['layer', ...cols.map(column)]),
        line(['---', ...cols.map(() => '---')]),
        ...names.map((n) => line([n, ...cols.map((c) => ms(c.layers[n]))])),
        line(['sum of layers', ...cols.map((c) => ms(Object.values(c.layers).reduce((s, v) => s + v, 0)))]),
        line(['whole forward [fastest–slowest]', ...cols.map((c) => `${ms(c.total.median)} [${ms(c.total.min)}–${ms(c.total.max)}]`)]),
        line(['error vs reference', ...cols.map((c) => c.error.toExponential(1))]),
        '',
        ...[...new Set(cols.filter((c) => c.system === 'webgpu').map((c) => c.details))].map((d) => `webgpu: ${d}.`),
      ].join('\n');
    })
    .filter(Boolean)
    .join('\n\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const rows = await runLayers(quick);
  const chart = stackedBars(
    rows.map((r) => ({ label: r.label, parts: Object.entries(r.layers).map(([name, value]) => ({ name, value })) })),
    { title: `AlexNet forward per layer (sum of per-layer medians)${quick ? ', quick run' : ''}`, unit: 'ms/image' },
  );
  const name = `layers-${new Date().toISOString().slice(0, 10)}${quick ? '-quick' : ''}`;
  await writeChart(`results/${name}`, chart);
  console.log(`\n${layersMarkdown(rows)}\n\nwrote bench/results/${name}.{svg,png}`);
}
