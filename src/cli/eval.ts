// `alexnet eval`: top-1 / top-5 error of one model or an ensemble (softmax averaged over models and
// test crops), as the paper reports its 1-, 5- and 7-model results.
import { Command, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { openDataset, resolveDataset } from '../data/datasets.js';
import type { Split } from '../data/datasets.js';
import type { PipelineSpec, TestCrops } from '../data/pipeline.js';
import { testCrops } from '../data/pipeline.js';
import { stackImages } from '../data/preprocess.js';
import type { Image } from '../data/image.js';
import { UsageError } from '../errors.js';
import { loadGraph } from '../runtime/index.js';
import type { Session } from '../runtime/index.js';
import { topErrors } from '../train/metrics.js';
import { backendOption, createBackend, threadsOption } from './options.js';
import type { BackendName } from './options.js';
import { addModelOptions, buildModel, readWeightsFile } from './options.js';
import type { ModelOptions } from './options.js';
import { modelInputs } from './model-files.js';

interface EvalOptions extends ModelOptions {
  weights: string[];
  data: string;
  split: Split;
  tta: TestCrops;
  stats?: string;
  backend: BackendName;
  threads?: number;
  limit?: number;
  json?: boolean;
}

export function evalCommand(): Command {
  return addModelOptions(new Command('eval').description('top-1 / top-5 error of a model, or of several averaged (an ensemble)'))
    .option('--weights <file>', 'weights (.safetensors); repeat for an ensemble (default: the built-in model)', (v: string, all: string[] = []) => [...all, v])
    .option('--data <d>', 'an image folder, a folder of Fashion-MNIST IDX files, or "fashion-mnist"', 'fashion-mnist')
    .addOption(new Option('--split <split>', 'which split').choices(['train', 'test']).default('test'))
    .addOption(new Option('--tta <crops>', 'test crops: the centre, or ten (corners, centre, mirrors) averaged').choices(['center', 'ten-crop']).default('center'))
    .option('--stats <file>', 'the training set\'s statistics (`alexnet stats`), for models that subtract a mean image')
    .addOption(backendOption())
    .addOption(threadsOption())
    .option('--limit <n>', 'only the first n images', (v: string) => Number(v))
    .option('--json', 'one JSON object: top1_error, top5_error, images')
    .action(evaluateCommand);
}

async function evaluateCommand(o: EvalOptions, command: Command): Promise<void> {
  const inputs = await modelInputs(o, o.weights ?? [], command.getOptionValueSource('arch') === 'cli');
  const model = buildModel(inputs.options);
  const classes = model.output.shape[0];
  const dataset = await openDataset(resolveDataset(o.data, o.split));
  if (dataset.classes.length !== classes) throw new UsageError('CLASSES', `the dataset has ${dataset.classes.length} classes, the model ${classes} outputs`);
  const [channels] = model.input.shape;
  const spec: PipelineSpec = { preprocessing: inputs.preprocessing(model), channels: channels as 1 | 3, train: false, pcaStd: 0, stats: inputs.stats };
  const backend = createBackend(o.backend, o.threads, 1);
  const sessions: Session[] = [];
  for (const file of inputs.weights) sessions.push(await loadGraph(model, backend, await readWeightsFile(model, file, inputs.options.arch)));
  const n = Math.min(dataset.length, o.limit ?? Infinity);
  const bar = process.stderr.isTTY ? new SingleBar({ format: 'eval [{bar}] {value}/{total} images' }) : undefined;
  bar?.start(n, 0);
  const prob = new Float64Array(n * classes);
  const labels = new Int32Array(n);
  try {
    const BATCH = 32;
    for (let start = 0; start < n; start += BATCH) {
      const images: Image[] = [];
      const count = Math.min(BATCH, n - start);
      for (let i = start; i < start + count; i++) {
        images.push(...testCrops(await dataset.load(i, channels as 1 | 3), spec, o.tta));
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
  const result = { top1_error: e.top1, top5_error: e.top5, images: n, models: inputs.weights.length, tta: o.tta };
  if (o.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else process.stdout.write(`${n} images, ${inputs.weights.length} model${inputs.weights.length > 1 ? 's' : ''}, ${o.tta}: top-1 error ${(100 * e.top1).toFixed(2)}%, top-5 error ${(100 * e.top5).toFixed(2)}%\n`);
}
