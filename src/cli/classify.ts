// `alexnet classify`: images in, the five most probable classes out, with the preprocessing the
// model was trained with (the paper's or torchvision's) and centre-crop or ten-crop testing.
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { decodeImage } from '../data/decode.js';
import type { DataStats, PipelineSpec, TestCrops } from '../data/pipeline.js';
import { testCrops } from '../data/pipeline.js';
import { stackImages } from '../data/preprocess.js';
import { readStats } from '../data/stats.js';
import { UsageError } from '../errors.js';
import type { Graph } from '../graph/index.js';
import { IMAGENET_RGB_MEAN_255, PREPROCESSING } from '../models/index.js';
import type { Preprocessing } from '../models/index.js';
import { partition } from '../partition/index.js';
import { loadGraph } from '../runtime/index.js';
import { addModelOptions, backendOption, buildModel, createBackend, devicesOption, readInputFile, readWeightsFile, threadsOption, topK } from './options.js';
import type { BackendName, ModelOptions } from './options.js';

interface ClassifyOptions extends ModelOptions {
  weights?: string;
  labels?: string;
  tta: TestCrops;
  stats?: string;
  backend: BackendName;
  devices: number;
  threads?: number;
  json?: boolean;
}

export function classifyCommand(): Command {
  return addModelOptions(new Command('classify').description('print the five most probable classes of each image (PNG or JPEG)'))
    .argument('<images...>', 'image files')
    .option('--weights <file>', 'trained weights (.safetensors; ours or torchvision\'s state-dict names)')
    .option('--labels <file>', 'class names, one per line (default: the 1000 ImageNet classes when the model has 1000 outputs)')
    .addOption(new Option('--tta <crops>', 'test crops: the centre, or four corners + centre and their mirrors with the softmax averaged').choices(['center', 'ten-crop']).default('center'))
    .option('--stats <file>', 'the training set\'s mean image (`alexnet stats`), for models that subtract it (paper, bvlc)')
    .addOption(backendOption())
    .addOption(devicesOption())
    .addOption(threadsOption())
    .option('--json', 'machine-readable output')
    .action(classify);
}

async function classify(files: string[], o: ClassifyOptions): Promise<void> {
  if (!o.weights) throw new UsageError('NO_WEIGHTS', 'classify needs --weights: an untrained network has nothing to say about an image');
  const model = buildModel(o);
  const [channels] = model.input.shape;
  if (channels !== 1 && channels !== 3) throw new UsageError('CHANNELS', `images have 1 or 3 channels; this model takes ${channels}`);
  const classes = model.output.shape[0];
  const labels = readLabels(o.labels, classes);
  const stats = o.stats ? readStats(await readInputFile(o.stats, '--stats'), o.stats) : undefined;
  const spec: PipelineSpec = { preprocessing: preprocessingFor(o, model, stats), channels, train: false, pcaStd: 0, stats };
  const weights = await readWeightsFile(model, o.weights, o.arch);
  const split = o.devices > 1 ? partition(model, { devices: o.devices }) : undefined;
  const backend = createBackend(o.backend, o.threads, o.devices);
  const session = split ? await loadGraph(split.graph, backend, split.shardWeights(weights)) : await loadGraph(model, backend, weights);
  const results = [];
  try {
    for (const file of files) {
      const img = decodeImage(await readInputFile(file, 'image'), { source: file, channels });
      const crops = testCrops(img, spec, o.tta);
      const { output } = await session.run(stackImages(crops));
      const mean = new Float64Array(classes); // the softmax averaged over the crops
      for (let i = 0; i < output.data.length; i++) mean[i % classes] += output.data[i] / crops.length;
      results.push({ image: file, top5: topK(mean, 5).map((t) => ({ ...t, label: labels[t.class] })) });
    }
  } finally {
    await session.dispose();
  }
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ arch: o.arch, backend: backend.name, tta: o.tta, results }, null, 2)}\n`);
    return;
  }
  for (const r of results) {
    process.stdout.write(`${r.image}\n`);
    for (const t of r.top5) process.stdout.write(`  ${(100 * t.prob).toFixed(2).padStart(6)}%  ${t.label} (${t.class})\n`);
  }
}

/**
 * The preset's preprocessing at this model's input size. A model that subtracts the mean image without a
 * --stats file falls back to ImageNet's per-channel mean (the mean image averaged over its pixels).
 */
function preprocessingFor(o: ClassifyOptions, model: Graph, stats: DataStats | undefined): Preprocessing {
  const p = PREPROCESSING[o.arch];
  const crop = model.input.shape[1];
  // a model resized with --size keeps the preset's ratio of rescaled side to crop (256:227)
  const resize = crop === p.crop ? p.resize : Math.round((crop * p.resize) / p.crop);
  if (p.mean !== 'image') return { ...p, resize, crop };
  if (stats) {
    const m = stats.meanImage;
    if (m.channels !== model.input.shape[0] || m.height !== m.width || m.height < crop) {
      throw new UsageError('STATS', `--stats ${o.stats}: its mean image is ${m.channels}x${m.height}x${m.width}; this model needs ${model.input.shape[0]} channels and a square of at least ${crop}`);
    }
    return { ...p, resize: m.height, crop };
  }
  if (model.input.shape[0] !== 3) throw new UsageError('STATS', `the ${o.arch} preset subtracts the training set's mean image: pass --stats (from \`alexnet stats\`)`);
  process.stderr.write(`no --stats: subtracting ImageNet's per-channel mean instead of a mean image\n`);
  return { ...p, resize, crop, mean: IMAGENET_RGB_MEAN_255 };
}

/** One name per class: --labels, the ImageNet names for 1000 classes, else the class numbers. */
function readLabels(file: string | undefined, classes: number): string[] {
  if (!file) {
    if (classes !== 1000) return Array.from({ length: classes }, (_, c) => `class ${c}`);
    file = new URL('../data/imagenet-classes.txt', import.meta.url).pathname;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError('READ', `cannot read --labels ${file}: ${(e as Error).message}`);
  }
  const names = text.split(/\r?\n/);
  if (names.at(-1) === '') names.pop();
  if (names.length !== classes) throw new UsageError('LABELS', `--labels ${file} has ${names.length} lines; the model has ${classes} classes, one name per line expected`);
  return names;
}
