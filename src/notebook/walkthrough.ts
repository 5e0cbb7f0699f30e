// What the step-through shows, as data: the image through the paper's preprocessing, then every
// layer of the network on it (what the op does, its formula with this preset's numbers, shapes,
// parameters, multiply-adds, its time on the chosen backend, statistics of its output), then the
// prediction. The terminal twin (`alexnet step`) renders it as Markdown and PNGs; the notebook page
// renders the same cells, so both show the same numbers.
import { addColour, pcaColourOffset } from '../data/augment.js';
import type { PipelineSpec, TestCrops } from '../data/pipeline.js';
import { scaledMean, testCrops } from '../data/pipeline.js';
import type { Image } from '../data/image.js';
import { centerCrop, normalize, resizeShorter, stackImages } from '../data/preprocess.js';
import type { Graph, Op } from '../graph/index.js';
import { defOf, windowOf } from '../graph/index.js';
import type { Partitioned, Transfer } from '../partition/index.js';
import { assembleLayers, layerNodes } from '../partition/index.js';
import type { Session } from '../runtime/index.js';
import type { Shape, Tensor } from '../tensor.js';
import { relativeError, sizeOf, tensor } from '../tensor.js';
import { topClasses } from '../predict.js';
import type { RankedClass } from '../predict.js';

export interface MapStats {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** fraction of values that are exactly 0 (after a ReLU: the units that did not fire) */
  readonly zeros: number;
}

export interface PreprocessCell {
  readonly kind: 'preprocess';
  readonly title: string;
  readonly text: string;
  readonly image: Image;
  /** pixels are shown on this range; a symmetric one means a diverging colour map (negative values) */
  readonly range: readonly [number, number];
}

export interface LayerCell {
  readonly kind: 'layer';
  readonly name: string;
  readonly op: Op;
  readonly text: string;
  readonly formula: string;
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  readonly params: number;
  readonly macs: number;
  /** the backend's time for this node (the whole batch of one image) */
  readonly ms: number;
  readonly stats: MapStats;
  /** the output for the image, [C, H, W] or [F] */
  readonly output: Tensor;
  /** the output's relativeError against the reference backend's, when a reference run was given */
  readonly errorVsReference?: number;
}

export interface OutputCell {
  readonly kind: 'output';
  /** the crops whose softmax was averaged */
  readonly crops: TestCrops;
  readonly top5: readonly RankedClass[];
}

export type Cell = PreprocessCell | LayerCell | OutputCell;

export function mapStats(data: ArrayLike<number>): MapStats {
  let [min, max, sum, zeros] = [Infinity, -Infinity, 0, 0];
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
    if (v === 0) zeros++;
  }
  return { min, max, mean: sum / data.length, zeros: zeros / data.length };
}

const n = (v: number): string => String(Number(v.toPrecision(6)));

/**
 * A layer cell's table row as people read it, [field, heading, text]: the one formatting of the
 * page and the terminal twin, so that both print the same characters.
 */
export function layerFacts(c: LayerCell): [field: string, heading: string, text: string][] {
  const shape = (x: readonly number[]): string => `[${x.join(', ')}]`;
  const count = (v: number): string => v.toLocaleString('en-US');
  const s = c.stats;
  return [
    ['input-shape', 'input', shape(c.inputShape)],
    ['output-shape', 'output', shape(c.outputShape)],
    ['params', 'parameters', count(c.params)],
    ['macs', 'multiply-adds', count(c.macs)],
    ['ms', 'time', `${c.ms.toFixed(2)} ms`],
    ['min', 'min', s.min.toPrecision(4)],
    ['max', 'max', s.max.toPrecision(4)],
    ['mean', 'mean', s.mean.toPrecision(4)],
    ['zeros', 'zeros', `${(100 * s.zeros).toFixed(1)} %`],
  ];
}

/** The op's formula with this layer's numbers, for people. */
export function formulaOf(op: Op, input: Shape): string {
  switch (op.type) {
    case 'conv2d': {
      const cg = input[0] / op.groups;
      const w = windowOf(op);
      const at = (i: string, u: string, stride: number, before: number): string => `${stride > 1 ? stride : ''}${i} + ${u}${before ? ` − ${before}` : ''}`;
      const channel = op.groups > 1 ? `${cg}g + c` : 'c';
      const taps = w.kh === w.kw ? `Σ_{u, v < ${w.kh}}` : `Σ_{u < ${w.kh}, v < ${w.kw}}`;
      return `y[o, i, j] = b[o] + Σ_{c < ${cg}} ${taps} w[o, c, u, v] · x[${channel}, ${at('i', 'u', w.sh, w.top)}, ${at('j', 'v', w.sw, w.left)}]` + (op.groups > 1 ? `, g = the group of o (${op.groups} groups of ${op.out / op.groups} maps)` : '');
    }
    case 'relu':
      return 'y = max(0, x)';
    case 'lrn': {
      const s = op.alphaOverSize ? `${n(op.alpha)}/${op.size}` : n(op.alpha);
      return `b[c] = a[c] / (${n(op.k)} + ${s} · Σ_{|j − c| ≤ ${Math.floor(op.size / 2)}} a[j]²)^${n(op.beta)}` + (op.groups > 1 ? `, j within c's group (${op.groups} groups)` : '');
    }
    case 'maxpool2d':
    case 'avgpool2d': {
      const w = windowOf(op);
      const taps = w.kh === w.kw ? `u, v < ${w.kh}` : `u < ${w.kh}, v < ${w.kw}`;
      const at = (i: string, u: string, stride: number, before: number): string => `${stride}${i} + ${u}${before ? ` − ${before}` : ''}`;
      const reduce = op.type === 'maxpool2d' ? 'max' : 'mean';
      const padded = w.top + w.left + w.bottom + w.right > 0 ? ' (over the positions inside x)' : '';
      return `y[c, i, j] = ${reduce}_{${taps}} x[c, ${at('i', 'u', w.sh, w.top)}, ${at('j', 'v', w.sw, w.left)}]${padded}` + (op.type === 'maxpool2d' && (w.kh > w.sh || w.kw > w.sw) ? ' (windows overlap)' : '');
    }
    case 'adaptiveavgpool2d':
      return 'y[c, i, j] = the mean of x[c] over bin (i, j)';
    case 'flatten':
      return 'y = x in (C, H, W) order';
    case 'linear':
      return `y[o] = b[o] + Σ_{i < ${input[0]}} w[o, i] · x[i]`;
    case 'dropout':
      return `y = x (at inference; in training each unit is dropped with p = ${op.p} and the rest scaled by ${n(1 / (1 - op.p))})`;
    case 'softmax':
      return 'p[k] = exp(x[k]) / Σ_j exp(x[j])';
    default:
      return '';
  }
}

/** The preprocessing pictures: the decoded image, the rescaled centre square, the mean subtracted, the crop. */
export function preprocessCells(img: Image, spec: PipelineSpec): PreprocessCell[] {
  const p = spec.preprocessing;
  const square = centerCrop(resizeShorter(img, p.resize), p.resize, p.resize);
  const normalized = normalize(square, p, p.mean === 'image' ? scaledMean(spec) : undefined);
  const [input] = testCrops(img, spec, 'center');
  const bound = (t: Image): [number, number] => {
    const { min, max } = mapStats(t.data);
    const m = Math.max(Math.abs(min), Math.abs(max), 1e-12);
    return [-m, m];
  };
  const meanText = p.mean === 'image' ? 'the training set\'s mean image' : `the channel means ${p.mean.join(', ')}`;
  return [
    { kind: 'preprocess', title: 'as decoded', text: `${img.width}x${img.height}, ${img.channels} channel${img.channels > 1 ? 's' : ''}, as decoded`, image: img, range: [0, 255] },
    { kind: 'preprocess', title: `rescaled to ${p.resize}, centre square`, text: `the shorter side rescaled to ${p.resize} pixels and the centre ${p.resize}x${p.resize} square kept, as the paper did`, image: square, range: [0, 255] },
    { kind: 'preprocess', title: 'mean subtracted', text: `pixels${p.scale !== 1 ? ` times ${n(p.scale)}` : ''} minus ${meanText}${p.std ? ', divided by the channel deviations' : ''}: blue below the mean, red above`, image: normalized, range: bound(normalized) },
    { kind: 'preprocess', title: `the ${p.crop}x${p.crop} centre crop`, text: `what the network sees (training took random ${p.crop}x${p.crop} crops and their mirrors)`, image: input, range: bound(input) },
  ];
}

/**
 * Runs `session` (loaded with `graph`) on the image's centre crop, keeping every layer's output; with
 * `reference` (the reference backend's session), each layer's error against it too.
 */
export async function layerCells(graph: Graph, session: Session, img: Image, spec: PipelineSpec, reference?: Session): Promise<LayerCell[]> {
  const x = stackImages(testCrops(img, spec, 'center'));
  await session.run(x); // the first run of a batch size compiles pipelines and sizes memory: time the second
  const result = await session.run(x, { keep: 'all' });
  const oracle = reference ? await reference.run(x, { keep: 'all' }) : undefined;
  const outputOf = (r: typeof result, name: string): Tensor | undefined => r.activations.get(name) ?? (name === graph.output.name ? r.output : undefined);
  const ms = new Map<string, number>();
  for (const t of result.timings) ms.set(t.fused ?? t.name, (ms.get(t.fused ?? t.name) ?? 0) + t.ms);
  return graph.nodes
    .filter((node) => node.op.type !== 'input')
    .map((node) => {
      const out = outputOf(result, node.name);
      if (!out) throw new Error(`the run kept no output for node "${node.name}"`);
      const output = tensor(node.shape, out.data.subarray(0, sizeOf(node.shape)));
      const expected = oracle && outputOf(oracle, node.name)!.data.subarray(0, sizeOf(node.shape));
      return {
        kind: 'layer',
        name: node.name,
        op: node.op,
        text: defOf(node.op).describe(node.op, node.inputShapes[0], node.shape),
        formula: formulaOf(node.op, node.inputShapes[0]),
        inputShape: node.inputShapes[0],
        outputShape: node.shape,
        params: node.paramCount,
        macs: node.macs,
        ms: ms.get(node.name) ?? 0,
        stats: mapStats(output.data),
        output,
        ...(expected && { errorVsReference: relativeError(output.data, expected) }),
      };
    });
}

export function outputCell(prob: ArrayLike<number>, labels: readonly string[], crops: TestCrops): OutputCell {
  return { kind: 'output', crops, top5: topClasses(prob, labels) };
}

/**
 * The rescaled centre square with PCA colour noise `Σ a_i √λ_i p_i` added (augment.ts), one
 * coefficient per principal component of the training set's pixels; what training adds with a_i
 * drawn from N(0, 0.1²).
 */
export function pcaNoiseImage(img: Image, spec: PipelineSpec, coefficients: readonly number[]): { image: Image; offset: Float64Array } {
  if (!spec.stats) throw new Error('PCA colour noise needs the training set\'s statistics');
  const p = spec.preprocessing;
  const square = centerCrop(resizeShorter(img, p.resize), p.resize, p.resize);
  const offset = pcaColourOffset(spec.stats.eigenvalues, spec.stats.eigenvectors, coefficients);
  return { image: addColour(square, offset), offset };
}

/** One layer of the two-device run: each device's part of its output, and the one-device output it must equal. */
export interface DeviceLayer {
  readonly name: string;
  /** per device, its channels of the output ([C/2, H, W] when sharded), or nothing when the layer is whole elsewhere */
  readonly parts: readonly (Tensor | undefined)[];
  /** the parts put back together against the one-device run: relativeError */
  readonly error: number;
  /** what crossed between the devices for this layer, per image */
  readonly transfers: readonly Transfer[];
}

/**
 * Runs the partitioned graph (`session` loaded with `split.graph` and its shard weights) on the
 * image's centre crop and sets every layer's parts beside the one-device cells' outputs.
 */
export async function deviceLayers(split: Partitioned, session: Session, img: Image, spec: PipelineSpec, oneDevice: readonly LayerCell[]): Promise<DeviceLayer[]> {
  const x = stackImages(testCrops(img, spec, 'center'));
  const { activations } = await session.run(x, { keep: layerNodes(split) });
  const assembled = assembleLayers(split, activations);
  const first = (t: Tensor): Tensor => tensor(t.shape.slice(1), t.data.subarray(0, sizeOf(t.shape.slice(1))));
  return oneDevice.map((cell) => {
    const placement = split.layers.get(cell.name);
    if (!placement) throw new Error(`the partition has no layer "${cell.name}"`);
    const parts = Array.from({ length: split.devices }, (_, d) => {
      const node = placement.kind === 'sharded' ? placement.nodes[d] : placement.device === d ? placement.node : undefined;
      const t = node === undefined ? undefined : activations.get(node);
      return t && first(t);
    });
    return { name: cell.name, parts, error: relativeError(first(assembled.get(cell.name)!).data, cell.output.data), transfers: split.transfers.filter((t) => t.layer === cell.name) };
  });
}
