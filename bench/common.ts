// Shared by the benchmark scripts: the machine's description, V8 flags, statistics, child processes, result files.
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import type { ChartSpec } from '../src/charts.js';
import { renderSvg, svgToPng } from '../src/charts.js';
import type { Spread } from './spread.js';
import { spread } from './spread.js';

export type { Spread } from './spread.js';
export { spread } from './spread.js';

/** As the CLI does: relaxed SIMD on Node 20, and no baseline tier so that wasm runs optimised. */
export function setWasmFlags(): void {
  if (Number(process.versions.node.split('.')[0]) < 22) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  v8.setFlagsFromString('--no-liftoff');
}

export function machine(): { cpu: string; cores: number; memory_gib: number; node: string } {
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version };
}

/** A chart as bench/<base>.svg and .png (the README and docs show the PNG, the SVG scales). */
export async function writeChart(base: string, spec: ChartSpec): Promise<void> {
  const svg = await renderSvg(spec);
  mkdirSync(new URL('results', import.meta.url), { recursive: true });
  writeFileSync(new URL(`${base}.svg`, import.meta.url), `${svg}\n`);
  writeFileSync(new URL(`${base}.png`, import.meta.url), await svgToPng(svg));
}

/** Runs a bench script in a process of its own (tsx) and parses the JSON line it prints last. */
export function runChild<T>(script: string, args: readonly (string | number)[]): T {
  const out = execFileSync(process.execPath, ['--import', 'tsx', new URL(script, import.meta.url).pathname, ...args.map(String)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as T;
}

/** One configuration's processes as one row: the median of their medians, the extremes of all their runs, the largest error. */
export function combineProcesses<T extends { msPerImage: Spread; error: number }>(rows: readonly T[]): T & { processMedians: number[] } {
  const medians = spread(rows.map((r) => r.msPerImage.median));
  return {
    ...rows[0],
    msPerImage: { median: medians.median, min: Math.min(...rows.map((r) => r.msPerImage.min)), max: Math.max(...rows.map((r) => r.msPerImage.max)), samples: rows.reduce((n, r) => n + r.msPerImage.samples, 0) },
    processMedians: rows.map((r) => r.msPerImage.median),
    error: Math.max(...rows.map((r) => r.error)),
  };
}
