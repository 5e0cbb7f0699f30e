// A model from the bytes of its files, with no file system: what the notebook page loads from its
// file pickers (and the CLI shares: the preprocessing and the labels). The preset is told by the
// weights' shapes, so a user picks one file, not a file and the options that built it.
import type { DataStats, PipelineSpec } from '../data/pipeline.js';
import { readStats } from '../data/stats.js';
import { UsageError } from '../errors.js';
import type { Graph } from '../graph/index.js';
import { readSafetensors } from '../io/safetensors.js';
import { checkWeights, fromTorchvisionNames } from '../io/weights.js';
import { alexnet, IMAGENET_RGB_MEAN_255, PREPROCESSING, PRESETS } from '../models/index.js';
import type { AlexNetConfig, Preprocessing, Preset } from '../models/index.js';
import type { Weights } from '../runtime/index.js';

export interface ModelFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface NotebookModel {
  readonly config: AlexNetConfig;
  /** the presets these weights fit; `config` is one of them */
  readonly presets: readonly Preset[];
  readonly graph: Graph;
  readonly weights: Weights;
  readonly spec: PipelineSpec;
  readonly labels: readonly string[];
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
      throw new UsageError('STATS', `--stats ${statsFile}: its mean image is ${m.channels}x${m.height}x${m.width}; this model needs ${channels} channels and a square of at least ${crop}`);
    }
    return { ...p, resize: m.height, crop };
  }
  if (channels !== 3 || arch === 'mini') throw new UsageError('STATS', `the ${arch} preset subtracts the training set's mean image: pass --stats (from \`alexnet stats\`)`);
  warn('no training-set statistics (--stats): subtracting ImageNet\'s per-channel mean instead of a mean image');
  return { ...p, resize, crop, mean: IMAGENET_RGB_MEAN_255 };
}

/** One name per line, exactly one per class. */
export function parseLabels(text: string, classes: number, source: string): string[] {
  const names = text.split(/\r?\n/);
  if (names.at(-1) === '') names.pop();
  if (names.length !== classes) throw new UsageError('LABELS', `--labels ${source} has ${names.length} lines; the model has ${classes} classes, one name per line expected`);
  return names;
}

/**
 * Every preset whose graph takes these tensors, each at the width, classes and input channels that
 * conv1 and fc8 imply, at the input size the file's metadata gives (`alexnet init` writes its
 * options there) or else the preset's own. paper and bvlc differ only in their LRN, which has no
 * parameters, so their weights fit both: the metadata's preset comes first, else the caller picks.
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
        checkWeights(alexnet(config).params(), tensors, source);
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

/**
 * Weights (our names or torchvision's), the training set's statistics when the preset subtracts its
 * mean image, class names; `preset` when the weights fit several (default: the first that fits).
 */
export function loadModel(weightsFile: ModelFile, statsFile: ModelFile | undefined, labelsFile: { name: string; text: string } | undefined, warn: (message: string) => void, preset?: Preset): NotebookModel {
  const { tensors, metadata } = readSafetensors(weightsFile.bytes, weightsFile.name);
  const weights = fromTorchvisionNames(tensors) ?? tensors;
  const fits = fittingConfigs(weights, weightsFile.name, metadata);
  const config = fits.find((c) => c.preset === preset) ?? fits[0];
  const graph = alexnet(config);
  const [channels] = graph.input.shape;
  if (channels !== 1 && channels !== 3) throw new UsageError('CHANNELS', `images have 1 or 3 channels; this model takes ${channels}`);
  const stats = statsFile ? readStats(statsFile.bytes, statsFile.name) : undefined;
  const classes = graph.output.shape[0];
  return {
    config,
    presets: fits.map((c) => c.preset),
    graph,
    weights,
    spec: { preprocessing: preprocessingFor(config.preset, graph, stats, statsFile?.name, warn), channels, train: false, pcaStd: 0, stats },
    labels: labelsFile ? parseLabels(labelsFile.text, classes, labelsFile.name) : Array.from({ length: classes }, (_, c) => `class ${c}`),
  };
}
