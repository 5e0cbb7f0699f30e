// The WebGPU kernel ladder, shared by Node (bench/webgpu-ladder.ts, on lavapipe or a GPU) and the
// benchmark page (on the browser's adapters): each of AlexNet's conv and FC layers, alone, on each
// kernel set of the WebGPU backend — naive (one output per invocation) → tiled (workgroup memory,
// a GPU's kernels) → direct (register blocks and no barriers, a CPU-backed adapter's) — validated
// against the float64 reference backend before it is timed. A kernel that disagrees stops the
// ladder with a LadderError naming it: its time would mean nothing.
import type { Backend } from '../src/backends/backend.js';
import { referenceBackend } from '../src/backends/reference/index.js';
import type { KernelChoice } from '../src/backends/webgpu/index.js';
import { Graph } from '../src/graph/index.js';
import type { GraphNode } from '../src/graph/index.js';
import { alexnet } from '../src/models/index.js';
import type { Preset } from '../src/models/index.js';
import { createRng, uniform } from '../src/random.js';
import { loadGraph, runGraph } from '../src/runtime/index.js';
import type { Tensor } from '../src/tensor.js';
import { relativeError, sizeOf, tensor } from '../src/tensor.js';
import { spread } from './spread.js';

/** The op suite's tolerance for one WebGPU op against the float64 oracle (ARCHITECTURE.md, Numerics). */
export const LADDER_TOLERANCE = 1e-5;

export interface LadderRung {
  readonly layer: string;
  readonly kernels: KernelChoice;
  readonly batch: number;
  /** Median GPU time of the layer per image, ms (the node waited for, syncEachNode). */
  readonly msPerImage: number;
  readonly gflops: number;
  /** Largest relative error against the reference backend. */
  readonly error: number;
}

export class LadderError extends Error {
  constructor(
    message: string,
    readonly layer: string,
    readonly kernels: KernelChoice,
  ) {
    super(message);
    this.name = 'LadderError';
  }
}

export interface LadderOptions {
  readonly preset: Preset;
  readonly width: number;
  readonly batch: number;
  readonly kernels: readonly KernelChoice[];
  /** The WebGPU backend of a kernel set; it must wait for each node (syncEachNode) for its times to be GPU times. */
  readonly backend: (kernels: KernelChoice) => Backend;
  /** Timed runs per rung, after one checked warm-up. */
  readonly runs: number;
  /** Only these layers (default every conv and FC). */
  readonly layers?: readonly string[];
  /** Each rung as it is measured (the page draws it). */
  readonly onRung?: (rung: LadderRung) => void;
}

/** The conv and FC layers of a preset, each as a graph of its own: input -> the layer. */
export function ladderLayers(preset: Preset, width: number, only?: readonly string[]): { node: GraphNode; graph: Graph }[] {
  return alexnet({ preset, width })
    .nodes.filter((n) => (n.op.type === 'conv2d' || n.op.type === 'linear') && (!only || only.includes(n.name)))
    .map((node) => ({ node, graph: new Graph([{ name: 'x', op: { type: 'input', shape: node.inputShapes[0] } }, { name: 'y', op: node.op }]) }));
}

export async function runWebgpuLadder(options: LadderOptions): Promise<LadderRung[]> {
  const rungs: LadderRung[] = [];
  const rng = createRng(7);
  const random = (shape: readonly number[], scale: number): Tensor => {
    const t = tensor(shape);
    for (let i = 0; i < t.data.length; i++) t.data[i] = scale * (2 * uniform(rng) - 1);
    return t;
  };
  for (const { node, graph } of ladderLayers(options.preset, options.width, options.layers)) {
    const weights = new Map<string, Tensor>();
    for (const p of graph.nodes[1].params) weights.set(`y.${p.name}`, random(p.shape, p.name === 'weight' ? 1 / Math.sqrt(sizeOf(p.shape) / p.shape[0]) : 0.1));
    const x = random([options.batch, ...node.inputShapes[0]], 1);
    const expected = (await runGraph(graph, referenceBackend, weights, x)).output.data;
    for (const kernels of options.kernels) {
      const session = await loadGraph(graph, options.backend(kernels), weights);
      try {
        const first = await session.run(x);
        const error = relativeError(first.output.data, expected);
        if (!(error <= LADDER_TOLERANCE)) {
          throw new LadderError(`${node.name} on the ${kernels} kernels is wrong: relative error ${error.toExponential(2)} against the float64 reference, over ${LADDER_TOLERANCE}; not timed`, node.name, kernels);
        }
        const times: number[] = [];
        for (let r = 0; r < options.runs; r++) {
          const { timings } = await session.run(x);
          times.push(timings.filter((t) => t.name === 'y').reduce((s, t) => s + t.ms, 0) / options.batch);
        }
        const msPerImage = spread(times).median;
        const rung = { layer: node.name, kernels, batch: options.batch, msPerImage, gflops: (2 * node.macs) / msPerImage / 1e6, error };
        rungs.push(rung);
        options.onRung?.(rung);
      } finally {
        await session.dispose();
      }
    }
  }
  return rungs;
}

/** The ladder as a Markdown table: a row per layer, ms/image and GFLOP/s per kernel set, the fastest in bold. */
export function ladderMarkdown(rungs: readonly LadderRung[]): string {
  const kernels = [...new Set(rungs.map((r) => r.kernels))];
  const layers = [...new Set(rungs.map((r) => r.layer))];
  const lines = [`| layer | ${kernels.map((k) => `${k} ms/image (GFLOP/s)`).join(' | ')} | error (largest) |`, `|---|${kernels.map(() => '---|').join('')}---|`];
  for (const layer of layers) {
    const row = rungs.filter((r) => r.layer === layer);
    const best = Math.min(...row.map((r) => r.msPerImage));
    const cells = kernels.map((k) => {
      const r = row.find((x) => x.kernels === k);
      if (!r) return '';
      const text = `${r.msPerImage.toFixed(2)} (${r.gflops.toFixed(1)})`;
      return r.msPerImage === best ? `**${text}**` : text;
    });
    lines.push(`| ${layer} | ${cells.join(' | ')} | ${Math.max(...row.map((r) => r.error)).toExponential(1)} |`);
  }
  return lines.join('\n');
}
