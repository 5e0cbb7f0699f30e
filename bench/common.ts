// Shared by the benchmark scripts: the machine's description, V8 flags, statistics, result files.
import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import type { ChartSpec } from '../src/charts.js';
import { renderSvg, svgToPng } from '../src/charts.js';

/** As the CLI does: relaxed SIMD on Node 20, and no baseline tier so that wasm runs optimised. */
export function setWasmFlags(): void {
  if (Number(process.versions.node.split('.')[0]) < 22) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  v8.setFlagsFromString('--no-liftoff');
}

export function machine(): { cpu: string; cores: number; memory_gib: number; node: string } {
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version };
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  samples: number;
}

export function spread(values: readonly number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1], samples: s.length };
}

/** A chart as bench/<base>.svg and .png (the README and docs show the PNG, the SVG scales). */
export async function writeChart(base: string, spec: ChartSpec): Promise<void> {
  const svg = await renderSvg(spec);
  mkdirSync(new URL('results', import.meta.url), { recursive: true });
  writeFileSync(new URL(`${base}.svg`, import.meta.url), `${svg}\n`);
  writeFileSync(new URL(`${base}.png`, import.meta.url), await svgToPng(svg));
}
