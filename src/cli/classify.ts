// `alexnet classify`: images in, the five most probable classes out, with the preprocessing the
// model was trained with and centre-crop or ten-crop testing. Without images, the built-in model's
// samples; an image unlike what the model was trained on gets a warning.
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeImage } from '../data/decode.js';
import type { Image } from '../data/image.js';
import type { TestCrops } from '../data/pipeline.js';
import { UsageError } from '../errors.js';
import { describeNetwork } from '../model-file.js';
import type { Model } from '../model-file.js';
import { partition } from '../partition/index.js';
import { domainWarning, predict, topClasses } from '../predict.js';
import { loadGraph } from '../runtime/index.js';
import { BUILT_IN_SAMPLES, openModel } from './model-files.js';
import type { ModelArgs } from './model-files.js';
import { addModelOptions, backendOption, createBackend, devicesOption, positiveInt, readInputFile, threadsOption } from './options.js';
import type { BackendChoice } from './options.js';

interface ClassifyOptions extends ModelArgs {
  weights?: string;
  top: number;
  tta: TestCrops;
  backend: BackendChoice;
  devices: number;
  threads?: number;
  json?: boolean;
}

/** What the CLI tells a user whose image is outside the model's domain. */
const PHOTO_REMEDY = 'For photos, give ImageNet AlexNet weights with --weights: torchvision\'s alexnet-owt-7be5be79.pth or the ONNX zoo\'s bvlcalexnet-12.onnx (docs/weights.md).';

/** An image file decoded for the model, with a warning (also printed) when it is unlike the model's training images. */
export async function readImage(file: string, model: Model): Promise<{ image: Image; warning?: string }> {
  const bytes = await readInputFile(file, 'image');
  const { spec, domain, labels } = model;
  const image = decodeImage(bytes, { source: file, channels: spec.channels });
  const rgb = domain && (spec.channels === 3 ? image : decodeImage(bytes, { source: file, channels: 3 }));
  const warning = rgb && domainWarning(rgb, domain, labels, file, PHOTO_REMEDY);
  if (warning) process.stderr.write(`warning: ${warning}\n`);
  return warning ? { image, warning } : { image };
}

export function classifyCommand(): Command {
  return addModelOptions(new Command('classify').description('print the most probable classes of each image (PNG or JPEG), with their names'), { help: 'told from --weights; the built-in model is mini', classes: 'told from --weights', inChannels: 'told from --weights' })
    .argument('[images...]', 'image files (default: the built-in model\'s sample images)')
    .option('--weights <file>', 'weights (.safetensors, a PyTorch .pth/.pt state dict, an .onnx model) or a `train` run folder (default: the built-in model, mini trained on Fashion-MNIST)')
    .option('--labels <file>', 'class names, one per line (default: the weights\' own, else ImageNet\'s for 1000 classes)')
    .option('--top <k>', 'how many classes to print per image', positiveInt, 5)
    .addOption(new Option('--tta <crops>', 'test crops: the centre, or four corners + centre and their mirrors with the softmax averaged').choices(['center', 'ten-crop']).default('center'))
    .option('--stats <file>', 'the training set\'s statistics (`alexnet stats`), for models that subtract its mean image and do not carry it')
    .addOption(backendOption())
    .addOption(devicesOption())
    .addOption(threadsOption(true))
    .option('--json', 'machine-readable output')
    .action(classify);
}

async function classify(files: string[], o: ClassifyOptions, command: Command): Promise<void> {
  const { model, builtIn } = await openModel(o, o.weights, command.getOptionValueSource('arch') === 'cli');
  if (!files.length) {
    if (!builtIn) throw new UsageError('NO_IMAGES', 'give the images to classify (PNG or JPEG files)');
    const samples = JSON.parse(readFileSync(path.join(BUILT_IN_SAMPLES, 'index.json'), 'utf8')) as { file: string }[];
    files = samples.map((s) => path.relative(process.cwd(), path.join(BUILT_IN_SAMPLES, s.file)));
    process.stderr.write(`no images given: the built-in model's ${files.length} samples (Fashion-MNIST test images) from ${path.relative(process.cwd(), BUILT_IN_SAMPLES) || '.'}\n`);
  }
  const { graph, weights, spec, labels } = model;
  const split = o.devices > 1 ? partition(graph, { devices: o.devices }) : undefined;
  const backend = await createBackend(o.backend, o.threads, o.devices, graph.macs());
  const session = split ? await loadGraph(split.graph, backend, split.shardWeights(weights)) : await loadGraph(graph, backend, weights);
  const results = [];
  try {
    for (const file of files) {
      const { image: img, warning } = await readImage(file, model);
      results.push({ image: file, top: topClasses(await predict(session, img, spec, o.tta), labels, o.top), ...(warning && { warning }) });
    }
  } finally {
    await session.dispose();
  }
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ arch: model.config?.preset ?? null, model: describeNetwork(model), built_in: builtIn, backend: backend.name, tta: o.tta, results }, null, 2)}\n`);
    return;
  }
  for (const r of results) {
    process.stdout.write(`${r.image}\n`);
    for (const t of r.top) process.stdout.write(`  ${(100 * t.prob).toFixed(2).padStart(6)}%  ${t.label} (${t.class})\n`);
  }
}
