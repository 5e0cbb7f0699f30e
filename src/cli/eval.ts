// `alexnet eval`: top-1 / top-5 error of one model or an ensemble (softmax averaged over models and
// test crops), as the paper reports its 1-, 5- and 7-model results.
import { Command, Option } from 'commander';
import { openDataset, resolveDataset } from '../data/datasets.js';
import type { Split } from '../data/datasets.js';
import type { TestCrops } from '../data/pipeline.js';
import { testCrops } from '../data/pipeline.js';
import { stackImages } from '../data/preprocess.js';
import type { Image } from '../data/image.js';
import { UsageError } from '../errors.js';
import { loadGraph } from '../runtime/index.js';
import type { Session } from '../runtime/index.js';
import { topErrors } from '../train/metrics.js';
import { addModelOptions, backendOption, createBackend, positiveInt, threadsOption } from './options.js';
import type { BackendChoice } from './options.js';
import { describeNetwork } from '../model-file.js';
import { openModel } from './model-files.js';
import { progressBar } from './progress.js';
import type { ModelArgs, OpenedModel } from './model-files.js';

interface EvalOptions extends ModelArgs {
  weights?: string[];
  data: string;
  split: Split;
  tta: TestCrops;
  backend: BackendChoice;
  threads?: number;
  limit?: number;
  json?: boolean;
}

export function evalCommand(): Command {
  return addModelOptions(new Command('eval').description('top-1 / top-5 error of a model, or of several averaged (an ensemble)'), { help: 'told from --weights; the built-in model is mini', classes: 'told from --weights', inChannels: 'told from --weights' })
    .option('--weights <file>', 'weights (.safetensors, .pth, .onnx) or a `train` run folder; repeat for an ensemble (default: the built-in model)', (v: string, all: string[] = []) => [...all, v])
    .option('--data <d>', 'an image folder, a folder of Fashion-MNIST IDX files, or "fashion-mnist"', 'fashion-mnist')
    .addOption(new Option('--split <split>', 'which split').choices(['train', 'test']).default('test'))
    .addOption(new Option('--tta <crops>', 'test crops: the centre, or ten (corners, centre, mirrors) averaged').choices(['center', 'ten-crop']).default('center'))
    .option('--stats <file>', 'the training set\'s statistics (`alexnet stats`), for models that subtract its mean image and do not carry it')
    .addOption(backendOption())
    .addOption(threadsOption(false))
    .option('--limit <n>', 'only the first n images', positiveInt)
    .option('--json', 'one JSON object: top1_error, top5_error, images')
    .action(evaluateCommand);
}

async function evaluateCommand(o: EvalOptions, command: Command): Promise<void> {
  const archGiven = command.getOptionValueSource('arch') === 'cli';
  const opened: OpenedModel[] = [];
  for (const file of o.weights ?? [undefined]) opened.push(await openModel(o, file, archGiven));
  const { graph: model, spec } = opened[0].model;
  // an ensemble is one network with several sets of weights: the same ops and shapes, node by node
  const structure = (g: typeof model): string => JSON.stringify(g.nodes.map((n) => [n.op, n.shape]));
  for (const { model: other, file } of opened.slice(1)) {
    if (structure(other.graph) !== structure(model)) throw new UsageError('ENSEMBLE', `an ensemble's models must be one network: ${file} is ${describeNetwork(other)}, ${opened[0].file} ${describeNetwork(opened[0].model)}`);
  }
  const classes = model.output.shape[0];
  const dataset = await openDataset(resolveDataset(o.data, o.split));
  if (dataset.classes.length !== classes) throw new UsageError('CLASSES', `the dataset has ${dataset.classes.length} classes, the model ${classes} outputs`);
  const { channels } = spec;
  const backend = await createBackend(o.backend, o.threads, 1, model.macs() * 32);
  const sessions: Session[] = [];
  for (const { model: m } of opened) sessions.push(await loadGraph(model, backend, m.weights));
  const n = Math.min(dataset.length, o.limit ?? Infinity);
  const bar = progressBar('eval', 'images');
  bar?.start(n);
  const prob = new Float64Array(n * classes);
  const labels = new Int32Array(n);
  try {
    const BATCH = 32;
    for (let start = 0; start < n; start += BATCH) {
      const images: Image[] = [];
      const count = Math.min(BATCH, n - start);
      for (let i = start; i < start + count; i++) {
        images.push(...testCrops(await dataset.load(i, channels), spec, o.tta));
        labels[i] = dataset.label(i);
      }
      const per = images.length / count; // crops per image
      const x = stackImages(images);
      for (const session of sessions) {
        const { output } = await session.run(x);
        for (let j = 0; j < output.data.length; j++) prob[(start + Math.floor(j / (per * classes))) * classes + (j % classes)] += output.data[j] / (per * sessions.length);
      }
      bar?.update(start + count);
    }
  } finally {
    bar?.stop();
    for (const s of sessions) await s.dispose();
  }
  const e = topErrors(prob, labels, classes);
  const result = { top1_error: e.top1, top5_error: e.top5, images: n, models: sessions.length, tta: o.tta };
  if (o.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else process.stdout.write(`${n} images, ${sessions.length} model${sessions.length > 1 ? 's' : ''}, ${o.tta}: top-1 error ${(100 * e.top1).toFixed(2)}%, top-5 error ${(100 * e.top5).toFixed(2)}%\n`);
}
