// `alexnet classify`: images in, the five most probable classes out, with the preprocessing the
// model was trained with (the paper's or torchvision's) and centre-crop or ten-crop testing.
import { Command, Option } from 'commander';
import { decodeImage } from '../data/decode.js';
import type { PipelineSpec, TestCrops } from '../data/pipeline.js';
import { UsageError } from '../errors.js';
import { outputCell, predict } from '../notebook/walkthrough.js';
import { partition } from '../partition/index.js';
import { loadGraph } from '../runtime/index.js';
import { addModelOptions, backendOption, buildModel, createBackend, devicesOption, readInputFile, readWeightsFile, threadsOption } from './options.js';
import { modelInputs, readLabels } from './model-files.js';
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
    .option('--weights <file>', 'trained weights (.safetensors; ours or torchvision\'s state-dict names); default: the built-in model (mini, Fashion-MNIST)')
    .option('--labels <file>', 'class names, one per line (default: the 1000 ImageNet classes when the model has 1000 outputs)')
    .addOption(new Option('--tta <crops>', 'test crops: the centre, or four corners + centre and their mirrors with the softmax averaged').choices(['center', 'ten-crop']).default('center'))
    .option('--stats <file>', 'the training set\'s mean image (`alexnet stats`), for models that subtract it (paper, bvlc)')
    .addOption(backendOption())
    .addOption(devicesOption())
    .addOption(threadsOption())
    .option('--json', 'machine-readable output')
    .action(classify);
}

async function classify(files: string[], o: ClassifyOptions, command: Command): Promise<void> {
  const inputs = await modelInputs(o, o.weights ? [o.weights] : [], command.getOptionValueSource('arch') === 'cli');
  const model = buildModel(inputs.options);
  const [channels] = model.input.shape;
  if (channels !== 1 && channels !== 3) throw new UsageError('CHANNELS', `images have 1 or 3 channels; this model takes ${channels}`);
  const classes = model.output.shape[0];
  const labels = readLabels(inputs.labelsFile, classes);
  const spec: PipelineSpec = { preprocessing: inputs.preprocessing(model), channels, train: false, pcaStd: 0, stats: inputs.stats };
  const weights = await readWeightsFile(model, inputs.weights[0], inputs.options.arch);
  const split = o.devices > 1 ? partition(model, { devices: o.devices }) : undefined;
  const backend = createBackend(o.backend, o.threads, o.devices);
  const session = split ? await loadGraph(split.graph, backend, split.shardWeights(weights)) : await loadGraph(model, backend, weights);
  const results = [];
  try {
    for (const file of files) {
      const img = decodeImage(await readInputFile(file, 'image'), { source: file, channels });
      results.push({ image: file, top5: outputCell(await predict(session, img, spec, o.tta), labels, o.tta).top5 });
    }
  } finally {
    await session.dispose();
  }
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ arch: inputs.options.arch, built_in: inputs.builtIn, backend: backend.name, tta: o.tta, results }, null, 2)}\n`);
    return;
  }
  for (const r of results) {
    process.stdout.write(`${r.image}\n`);
    for (const t of r.top5) process.stdout.write(`  ${(100 * t.prob).toFixed(2).padStart(6)}%  ${t.label} (${t.class})\n`);
  }
}
