// A model from the bytes of its files, with no file system: what the CLI (src/cli/model-files.ts
// reads the files) and the notebook page (its file pickers) both load. Weights may describe
// themselves — `alexnet train` and `alexnet init` write the preset and model options, the class
// names, the dataset statistics (as `stats.*` tensors), the preprocessing and the images the model
// knows into the safetensors file — so one file is a whole model. Without that, the preset is told
// from the tensors' shapes. A statistics or labels file given beside the weights overrides what
// they carry.
import type { DataStats, PipelineSpec } from './data/pipeline.js';
import type { ImageDomain } from './data/domain.js';
import { EMBEDDED_STATS, readStats, splitEmbeddedStats, statsFromTensors, statsTensors } from './data/stats.js';
import { UsageError, WeightsError } from './errors.js';
import { Graph } from './graph/index.js';
import { readOnnxModel } from './io/onnx-import.js';
import { readPytorch } from './io/pytorch.js';
import { readSafetensors } from './io/safetensors.js';
import { checkWeights, fromTorchvisionNames } from './io/weights.js';
import { alexnet, CAFFE_PREPROCESSING, IMAGENET_RGB_MEAN_255, matchPreset, PREPROCESSING, PRESETS } from './models/index.js';
import type { AlexNetConfig, Preprocessing, Preset } from './models/index.js';
import type { Weights } from './runtime/index.js';
import type { Tensor } from './tensor.js';
import { shapeToString } from './tensor.js';

export type WeightsFormat = 'safetensors' | 'pytorch' | 'onnx';

export interface ModelFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface TextFile {
  readonly name: string;
  readonly text: string;
}

/** A network and its weights, with class names: enough for tensors in, tensors out. */
export interface Network {
  /** the preset and options, when the network is a preset's (an ONNX graph may be its own) */
  readonly config?: AlexNetConfig;
  /** the presets these weights fit; `config`'s is one of them (paper and bvlc weights fit both) */
  readonly presets: readonly Preset[];
  /** what the file was: our safetensors, a PyTorch state dict, an ONNX model */
  readonly format: WeightsFormat;
  readonly graph: Graph;
  readonly weights: Weights;
  /** a name per class: the given ones, else "class N" */
  readonly labels: readonly string[];
  /** whether the names came from somewhere (the weights, a labels file, ImageNet's list), not "class N" */
  readonly named: boolean;
  /** the training set's statistics: a statistics file's, else the weights' own */
  readonly stats?: DataStats;
  /** the preprocessing the file's origin implies (Caffe's for Caffe's weights in ONNX), when it does */
  readonly implied?: Preprocessing;
}

/** A network with how images are prepared for it: enough for images in, classes out. */
export interface Model extends Network {
  readonly spec: PipelineSpec;
  /** the images it was trained on, where the weights say */
  readonly domain?: ImageDomain;
}

export interface ModelSources {
  readonly weights: ModelFile;
  /** overrides the statistics the weights carry */
  readonly stats?: ModelFile;
  /** overrides the class names the weights carry */
  readonly labels?: TextFile;
  /** build this model instead of telling it from the file (the user named the preset) */
  readonly config?: AlexNetConfig;
  /** where the weights fit several presets: this one (default: the file's, else the first) */
  readonly preset?: Preset;
  /** class names when neither the weights nor `labels` give them (e.g. ImageNet's for 1000 classes) */
  readonly defaultLabels?: (classes: number) => readonly string[] | undefined;
}

/** What self-describing weights carry besides the parameters. */
export interface ModelDescription {
  readonly config: AlexNetConfig;
  readonly labels?: readonly string[];
  readonly stats?: DataStats;
  readonly preprocessing?: Preprocessing;
  readonly domain?: ImageDomain;
}

const CONFIG_KEYS = ['preset', 'width', 'classes', 'inputSize', 'inChannels'] as const;

/** The tensors and metadata of a self-describing weights file (write them with writeSafetensors). */
export function describedWeights(weights: Weights, d: ModelDescription, extra: Readonly<Record<string, string>> = {}): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const metadata: Record<string, string> = { format: 'pt', ...extra };
  for (const key of CONFIG_KEYS) if (d.config[key] !== undefined) metadata[key] = String(d.config[key]);
  if (d.labels) metadata.labels = JSON.stringify(d.labels);
  if (d.preprocessing) metadata.preprocessing = JSON.stringify(d.preprocessing);
  if (d.domain) metadata.domain = JSON.stringify(d.domain);
  if (d.stats) metadata.stats_images = String(d.stats.images);
  const tensors = new Map(weights);
  if (d.stats) for (const [name, t] of statsTensors(d.stats)) tensors.set(EMBEDDED_STATS + name, t);
  return { tensors, metadata };
}

/**
 * The model its files describe. `warn` hears what a user should know but that does not stop the
 * load (a stand-in mean, metadata that did not fit).
 */
export function loadModel(sources: ModelSources, warn: (message: string) => void): Model {
  const { network, meta } = read(sources, warn);
  const { config, graph, stats, implied: given } = network;
  const source = sources.weights.name;
  const described = sources.config ? undefined : meta.preprocessing(graph);
  const preprocessing = described ?? given ?? preprocessingFor(config!.preset, graph, stats, sources.stats?.name ?? source, warn);
  const [channels] = graph.input.shape;
  if (graph.input.shape.length !== 3 || graph.output.shape.length !== 1) throw new UsageError('NOT_CLASSIFIER', `${source} maps ${shapeToString(graph.input.shape)} to ${shapeToString(graph.output.shape)} per sample: not images to class scores`);
  if (channels !== 1 && channels !== 3) throw new UsageError('CHANNELS', `images have 1 or 3 channels; this model takes ${channels}`);
  if (stats && stats.meanImage.channels !== channels) throw new UsageError('STATS', `${sources.stats?.name ?? source}: statistics of ${stats.meanImage.channels}-channel images, for a model of ${channels}-channel ones`);
  return { ...network, spec: { preprocessing, channels, train: false, pcaStd: 0, stats }, ...(meta.raw.domain !== undefined && { domain: meta.domain() }) };
}

/** The network its weights describe, for tensors in and out (no preprocessing, so no statistics needed). */
export function loadNetwork(sources: ModelSources, warn: (message: string) => void): Network {
  return read(sources, warn).network;
}

/**
 * The file's format, from its first bytes: a safetensors header, a zip or pickle (torch.save);
 * else its name's extension says which reader names its faults; else ONNX's protobuf, which has no
 * signature of its own.
 */
export function formatOf(bytes: Uint8Array, name: string): WeightsFormat {
  if (bytes.length >= 9 && bytes[8] === 0x7b && bytes[6] === 0 && bytes[7] === 0) return 'safetensors';
  if ((bytes[0] === 0x50 && bytes[1] === 0x4b) || bytes[0] === 0x80) return 'pytorch';
  if (/\.safetensors$/i.test(name)) return 'safetensors';
  if (/\.(pth|pt|bin|ckpt)$/i.test(name)) return 'pytorch';
  return 'onnx';
}

interface Read {
  readonly network: Network;
  readonly meta: Metadata;
}

function read(sources: ModelSources, warn: (message: string) => void): Read {
  const source = sources.weights.name;
  const format = formatOf(sources.weights.bytes, source);
  if (format === 'onnx') return readOnnx(sources, warn);
  const { tensors, metadata } = format === 'safetensors' ? readSafetensors(sources.weights.bytes, source) : { tensors: readPytorch(sources.weights.bytes, source, (m) => warn(`${source}: ${m}`)), metadata: {} };
  const { params, stats: embeddedStats } = splitEmbeddedStats(tensors);
  const renamed = fromTorchvisionNames(params);
  const weights = renamed ?? params;
  const meta = new Metadata(metadata, source);

  let config: AlexNetConfig;
  let presets: Preset[];
  if (sources.config) {
    config = sources.config;
    if (renamed && config.preset !== 'torchvision') throw new UsageError('ARCH', `${source} holds torchvision's AlexNet (features.N / classifier.N names), not ${config.preset}: its preset is torchvision (or let the weights tell it)`);
    checkWeights(alexnet(config).params(), weights, source, false);
    presets = [config.preset];
  } else {
    const described = meta.config();
    const fitsDescribed = described !== undefined && fitsWeights(described, weights);
    if (described && !fitsDescribed) warn(`${source}: its metadata describes ${described.preset} at width ${described.width ?? 1}, which its tensors do not fit; using their shapes instead`);
    // the file's own description where it fits, else the presets the shapes fit
    const fits = fitsDescribed ? tryFitting(weights, source, metadata) : fittingConfigs(weights, source, metadata);
    config = (fitsDescribed && !sources.preset && described) || fits.find((c) => c.preset === sources.preset) || (fitsDescribed && described) || fits[0];
    presets = [...new Set([config.preset, ...fits.map((c) => c.preset)])];
  }
  const graph = alexnet(config);
  // the shapes decided the preset; the values are checked once, here
  checkWeights(graph.params(), weights, source);
  const { labels, named } = namesFor(graph, sources, meta.labels(graph.output.shape[0]));
  const stats = sources.stats ? readStats(sources.stats.bytes, sources.stats.name) : embeddedStats.size ? statsFromTensors(embeddedStats, Number(metadata.stats_images ?? 0), `${source} (its stats.* tensors)`) : undefined;
  return { network: { config, presets, format, graph, weights, labels, named, ...(stats && { stats }) }, meta };
}

/**
 * An ONNX model: as the preset its graph is (recognize.ts), with its weights under the preset's
 * names; else as its own graph, a softmax added when it ends in class scores. Caffe's weights
 * (the zoo's conversions) get Caffe's preprocessing, others torchvision's.
 */
function readOnnx(sources: ModelSources, warn: (message: string) => void): Read {
  const source = sources.weights.name;
  if (sources.config) throw new UsageError('ARCH', `${source} is an ONNX model, which carries its own graph: leave out --arch and the model options`);
  const model = readOnnxModel(sources.weights.bytes, source);
  const match = matchPreset(model.graph);
  let graph: Graph;
  let weights: Map<string, Tensor>;
  if (match) {
    graph = alexnet(match.config);
    weights = new Map([...model.weights].map(([name, t]) => [name.replace(/^(.*)\.(weight|bias)$/, (_, layer: string, kind: string) => `${match.layers.get(layer)}.${kind}`), t]));
  } else {
    warn(`${source}: the ONNX graph is none of the presets; it runs as its own graph${model.logits ? ', with a softmax added after its class scores' : ''}`);
    graph = model.logits ? new Graph([...model.graph.nodes.map(({ name, op, inputs }) => ({ name, op, inputs })), { name: 'prob', op: { type: 'softmax' }, inputs: [model.graph.output.name] }]) : model.graph;
    weights = model.weights;
  }
  const [, crop = 1] = graph.input.shape;
  const resize = crop >= 224 && crop <= 256 ? 256 : Math.round((crop * 256) / 224);
  const preprocessing: Preprocessing | undefined = model.caffe ? { ...CAFFE_PREPROCESSING, crop, resize } : match ? undefined : { ...PREPROCESSING.torchvision, crop, resize };
  const { labels, named } = namesFor(graph, sources, undefined);
  const stats = sources.stats && readStats(sources.stats.bytes, sources.stats.name);
  const network: Network = { ...(match && { config: match.config }), presets: match ? [match.config.preset] : [], format: 'onnx', graph, weights, labels, named, ...(stats && { stats }), ...(preprocessing && { implied: preprocessing }) };
  return { network, meta: new Metadata({}, source) };
}

/** The network in a few words: its preset and options, or what its own graph is. */
export function describeNetwork(n: Network): string {
  const classes = n.graph.output.shape[0];
  if (!n.config) return `its own graph (${n.graph.nodes.filter((x) => x.params.length).length} layers with weights, input ${n.graph.input.shape.join('x')}), ${classes} classes`;
  const { preset, width, inputSize } = n.config;
  return `${preset}${width !== undefined && width !== 1 ? ` at width ${Number(width.toPrecision(4))}` : ''}${inputSize !== undefined && inputSize !== alexnet({ preset }).input.shape[1] ? `, input ${inputSize}` : ''}, ${classes} classes`;
}

/** Class names: the labels file's, else the weights' own, else the caller's default for the class count. */
function namesFor(graph: Graph, sources: ModelSources, own: string[] | undefined): { labels: string[]; named: boolean } {
  const classes = graph.output.shape[0];
  const named = sources.labels ? parseLabels(sources.labels.text, classes, sources.labels.name) : (own ?? sources.defaultLabels?.(classes)?.slice());
  return { labels: named ?? Array.from({ length: classes }, (_, c) => `class ${c}`), named: named !== undefined };
}

function tryFitting(weights: Weights, source: string, metadata: Readonly<Record<string, string>>): AlexNetConfig[] {
  try {
    return fittingConfigs(weights, source, metadata);
  } catch {
    return [];
  }
}

function fitsWeights(config: AlexNetConfig, weights: Weights): boolean {
  try {
    checkWeights(alexnet(config).params(), weights, 'weights', false);
    return true;
  } catch {
    return false;
  }
}

/** A weights file's metadata, read as untrusted input: every value parsed and checked, or a named error. */
class Metadata {
  constructor(
    readonly raw: Readonly<Record<string, string>>,
    private readonly source: string,
  ) {}

  private fail(key: string, expected: string): never {
    throw new WeightsError('METADATA', `${this.source}: its metadata "${key}" is ${JSON.stringify(this.raw[key]).slice(0, 80)}; expected ${expected}`);
  }

  private json(key: string): unknown {
    try {
      return JSON.parse(this.raw[key]);
    } catch {
      return this.fail(key, 'JSON');
    }
  }

  private positive(key: string, integer: boolean): number | undefined {
    if (this.raw[key] === undefined) return undefined;
    const v = Number(this.raw[key]);
    if (!(Number.isFinite(v) && v > 0 && (!integer || (Number.isSafeInteger(v) && v <= 1 << 16)))) this.fail(key, integer ? 'a positive integer' : 'a positive number');
    return v;
  }

  /** The preset and model options, when the file names a preset. */
  config(): AlexNetConfig | undefined {
    const preset = this.raw.preset;
    if (preset === undefined) return undefined;
    if (!(PRESETS as readonly string[]).includes(preset)) this.fail('preset', `one of ${PRESETS.join(', ')}`);
    const config = { preset: preset as Preset, width: this.positive('width', false), classes: this.positive('classes', true), inputSize: this.positive('inputSize', true), inChannels: this.positive('inChannels', true) };
    return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) as unknown as AlexNetConfig;
  }

  labels(classes: number): string[] | undefined {
    if (this.raw.labels === undefined) return undefined;
    const names = this.json('labels');
    if (!Array.isArray(names) || names.length !== classes || !names.every((n) => typeof n === 'string')) this.fail('labels', `a JSON list of ${classes} class names`);
    return names as string[];
  }

  preprocessing(graph: Graph): Preprocessing | undefined {
    if (this.raw.preprocessing === undefined) return undefined;
    const p = this.json('preprocessing') as Record<string, unknown> | null;
    const [channels, crop] = graph.input.shape;
    const side = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= crop && (v as number) <= 1 << 14;
    const values = (v: unknown, positive: boolean): boolean => Array.isArray(v) && v.length === channels && v.every((x) => Number.isFinite(x) && (!positive || x > 0));
    const ok =
      p !== null && typeof p === 'object' && p.crop === crop && side(p.resize) && Number.isFinite(p.scale) && (p.scale as number) > 0 &&
      (p.mean === 'image' || values(p.mean, false)) && (p.std === undefined || values(p.std, true));
    if (!ok) this.fail('preprocessing', `{resize >= ${crop}, crop: ${crop}, scale > 0, mean: "image" or ${channels} numbers, std?: ${channels} positive numbers}`);
    return { resize: p!.resize as number, crop, scale: p!.scale as number, mean: p!.mean as Preprocessing['mean'], ...(p!.std !== undefined && { std: p!.std as number[] }) };
  }

  domain(): ImageDomain {
    const d = this.json('domain') as Record<string, unknown> | null;
    const size = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) > 0 && (v as number) <= 1 << 16;
    if (d === null || typeof d !== 'object' || typeof d.description !== 'string' || !size(d.width) || !size(d.height) || typeof d.grey !== 'boolean' || typeof d.darkBackground !== 'boolean') {
      this.fail('domain', '{description, width, height, grey, darkBackground}');
    }
    return { description: d!.description as string, width: d!.width as number, height: d!.height as number, grey: d!.grey as boolean, darkBackground: d!.darkBackground as boolean };
  }
}

/**
 * The preprocessing of `arch` at this model's input size. A model that subtracts the mean image
 * without statistics falls back to ImageNet's per-channel mean (the mean image averaged over its
 * pixels), and says so through `warn`.
 */
export function preprocessingFor(arch: Preset, model: Graph, stats: DataStats | undefined, statsFile: string | undefined, warn: (message: string) => void): Preprocessing {
  const p = PREPROCESSING[arch];
  const [channels, crop] = model.input.shape;
  // a model resized with --size keeps the preset's ratio of rescaled side to crop (256:227)
  const resize = crop === p.crop ? p.resize : Math.round((crop * p.resize) / p.crop);
  if (p.mean !== 'image') return { ...p, resize, crop };
  if (stats) {
    const m = stats.meanImage;
    if (m.channels !== channels || m.height !== m.width || m.height < crop) {
      throw new UsageError('STATS', `${statsFile}: its mean image is ${m.channels}x${m.height}x${m.width}; this model needs ${channels} channels and a square of at least ${crop}`);
    }
    return { ...p, resize: m.height, crop };
  }
  if (channels !== 3 || arch === 'mini') throw new UsageError('STATS', `the ${arch} preset subtracts the training set's mean image: give its statistics (from \`alexnet stats\`)`);
  warn('no training-set statistics: subtracting ImageNet\'s per-channel mean instead of a mean image');
  return { ...p, resize, crop, mean: IMAGENET_RGB_MEAN_255 };
}

/** One name per line, exactly one per class. */
export function parseLabels(text: string, classes: number, source: string): string[] {
  const names = text.split(/\r?\n/);
  if (names.at(-1) === '') names.pop();
  if (names.length !== classes) throw new UsageError('LABELS', `${source} has ${names.length} lines; the model has ${classes} classes, one name per line expected`);
  return names;
}

/**
 * Every preset whose graph takes these tensors, each at the width, classes and input channels that
 * conv1 and fc8 imply, at the input size the file's metadata gives or else the preset's own. paper
 * and bvlc differ only in their LRN, which has no parameters, so their weights fit both: the
 * metadata's preset comes first, else the caller picks.
 */
export function fittingConfigs(tensors: Weights, source: string, metadata: Readonly<Record<string, string>> = {}): AlexNetConfig[] {
  const conv1 = tensors.get('conv1.weight');
  const fc8 = tensors.get('fc8.weight');
  if (!conv1 || conv1.shape.length !== 4 || !fc8 || fc8.shape.length !== 2) {
    throw new UsageError('NOT_ALEXNET', `${source}: no conv1.weight [O, C, k, k] and fc8.weight [classes, F]: not AlexNet weights in our or torchvision's names`);
  }
  const fits: AlexNetConfig[] = [];
  const misfits: string[] = [];
  const outputs = (graph: Graph, node: string): number => graph.node(node).shape[0];
  const inputSize = Number(metadata.inputSize) || undefined;
  const presets = [...PRESETS].sort((a, b) => Number(b === metadata.preset) - Number(a === metadata.preset));
  for (const preset of presets) {
    const base = alexnet({ preset });
    // channel counts are rounded to even numbers (scaleChannels), so conv1's 96 maps pin the width
    // down less than fc7's 4096 units: try the width each implies
    const fc7 = tensors.get('fc7.weight');
    const widths = new Set([...(fc7 ? [fc7.shape[0] / outputs(base, 'fc7')] : []), conv1.shape[0] / outputs(base, 'conv1')]);
    let why = '';
    for (const width of widths) {
      const config: AlexNetConfig = { preset, width, classes: fc8.shape[0], inChannels: conv1.shape[1], ...(inputSize && { inputSize }) };
      try {
        checkWeights(alexnet(config).params(), tensors, source, false);
        fits.push(config);
        why = '';
        break;
      } catch (e) {
        why ||= (e as Error).message.replace(`${source}: `, '');
      }
    }
    if (why) misfits.push(`${preset}: ${why}`);
  }
  if (!fits.length) throw new UsageError('NOT_ALEXNET', `${source}: these weights fit none of the presets at ${inputSize ? `input size ${inputSize}` : 'their own input sizes'} (${misfits.join('; ')})`);
  return fits;
}
