// `npx tsx bench/webgpu-ladder.ts [--preset bvlc] [--width 1] [--batch 1,16] [--runs 3]`: the WebGPU
// kernel ladder (webgpu-ladder-core.ts) in Node, on Dawn's default adapter (lavapipe where there is
// no GPU), every kernel set on every conv and FC layer, each validated before it is timed. Prints
// one Markdown table per batch; `npm run bench` runs it too and keeps the tables in its report.
import { parseArgs } from 'node:util';
import { describeAdapter, defaultGpu, KERNEL_CHOICES, requestAdapter, webgpuBackend } from '../src/backends/webgpu/index.js';
import type { Preset } from '../src/models/index.js';
import { ladderMarkdown, runWebgpuLadder } from './webgpu-ladder-core.js';
import type { LadderRung } from './webgpu-ladder-core.js';

export async function webgpuLadder(preset: Preset, width: number, batches: readonly number[], runs: number): Promise<{ adapter: string; rungs: LadderRung[]; markdown: string }> {
  const adapter = describeAdapter((await requestAdapter(await defaultGpu())).info);
  const rungs: LadderRung[] = [];
  const tables: string[] = [];
  for (const batch of batches) {
    const these = await runWebgpuLadder({ preset, width, batch, runs, kernels: KERNEL_CHOICES, backend: (kernels) => webgpuBackend({ kernels, syncEachNode: true }) });
    rungs.push(...these);
    tables.push(`**WebGPU kernel ladder, ${preset}${width === 1 ? '' : ` width ${width}`}, batch ${batch}** (ms/image of each layer alone, GPU time; GFLOP/s of its multiply-adds; every kernel checked against the float64 reference first; ${adapter}):\n\n${ladderMarkdown(these)}`);
  }
  return { adapter, rungs, markdown: tables.join('\n\n') };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { preset: { type: 'string', default: 'bvlc' }, width: { type: 'string', default: '1' }, batch: { type: 'string', default: '1,16' }, runs: { type: 'string', default: '3' } } });
  const { markdown } = await webgpuLadder(values.preset as Preset, Number(values.width), values.batch.split(',').map(Number), Number(values.runs));
  console.log(markdown);
  process.exit(0);
}
