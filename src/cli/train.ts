// `alexnet train`: the paper's recipe on a dataset, with checkpoints a killed run resumes from.
import { Command, Option } from 'commander';
import type { z } from 'zod';
import os from 'node:os';
import path from 'node:path';
import { isGreyDataset, openDataset, resolveDataset } from '../data/datasets.js';
import type { Dataset, DatasetSpec } from '../data/datasets.js';
import { FASHION_MNIST_DOMAIN } from '../data/domain.js';
import type { PipelineSpec } from '../data/pipeline.js';
import { computeStats, readStats, writeStats } from '../data/stats.js';
import { UsageError } from '../errors.js';
import { writeSafetensors } from '../io/index.js';
import { describedWeights } from '../model-file.js';
import { PREPROCESSING } from '../models/index.js';
import { partition } from '../partition/index.js';
import { paperInit } from '../train/index.js';
import type { TrainKernels } from '../train/kernels.js';
import { referenceTrainKernels, wasmTrainKernels } from '../train/kernels.js';
import { trainLoop } from '../train/loop.js';
import type { EpochProgress } from '../train/loop.js';
import type { Params } from '../train/network.js';
import { TrainingNetwork } from '../train/network.js';
import { PartitionedTrainingNetwork } from '../train/partitioned.js';
import { checkNewRunDir, CONFIG, describeIssues, readRunConfig, readRunState, TRAIN_CONFIG } from '../train/run-folder.js';
import type { TrainConfig } from '../train/run-folder.js';
import type { Schedule } from '../train/schedule.js';
import { startSchedule } from '../train/schedule.js';
import { zeroVelocity } from '../train/sgd.js';
import { addModelOptions, buildModel, devicesOption, modelConfig, positiveInt, positiveNumber, seed, threadsOption } from './options.js';
import { ProgressBar } from './progress.js';
import type { ModelOptions } from './options.js';

type TrainOptions = TrainConfig & { out?: string; resume?: string };

const nonNegative = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError('ARG', `expected a number >= 0, got "${v}"`);
  return n;
};

export function trainCommand(): Command {
  return addModelOptions(new Command('train').description('train with the paper\'s recipe: SGD with momentum and weight decay, dropout, LR ÷10 on plateau'), { help: 'mini for images up to 64 pixels (the built-in model\'s preset), else paper', classes: 'the dataset\'s', inChannels: '1 for grey images, else 3' })
    .option('--data <d>', 'an image folder (train/ and test/ subfolders), a folder of Fashion-MNIST IDX files, or "fashion-mnist"', 'fashion-mnist')
    .option('--limit <n>', 'train on the first n training images only (a short run)', positiveInt)
    .option('--val-limit <n>', 'validate on the first n test images (default: all, or with --limit the same share of them)', positiveInt)
    .option('--epochs <e>', 'epochs to complete (a resumed run continues to this many)', positiveInt, 10)
    .option('--batch <b>', 'images per step', positiveInt, 128)
    .option('--lr <lr>', 'initial learning rate', positiveNumber, 0.01)
    .option('--momentum <m>', 'momentum', nonNegative, 0.9)
    .option('--weight-decay <wd>', 'weight decay (on weights, not biases)', nonNegative, 0.0005)
    .addOption(new Option('--schedule <s>', 'divide the LR by 10 when validation error stops improving, or every --step-epochs').choices(['plateau', 'step']).default('plateau'))
    .option('--patience <p>', 'plateau: epochs without improvement before dividing', positiveInt, 1)
    .option('--threshold <t>', 'plateau: the smallest drop in validation error that counts as improving', nonNegative, 0.001)
    .option('--step-epochs <n>', 'step: divide every n epochs', positiveInt, 30)
    .addOption(new Option('--init <kind>', 'weights: the paper\'s N(0, 0.01) with unit biases, or N(0, 2/fan-in) with zero biases (default: fan-in for mini, else paper)').choices(['paper', 'fan-in']))
    .option('--pca-std <s>', 'standard deviation of the PCA colour-noise coefficients (0 turns it off)', nonNegative, 0.1)
    .addOption(new Option('--val-tta <crops>', 'validation after each epoch on the centre crop, or on ten crops averaged (10x the time)').choices(['center', 'ten-crop']).default('center'))
    .addOption(new Option('--backend <b>', 'kernels to train on').choices(['reference', 'wasm']).default('wasm'))
    .addOption(devicesOption())
    .addOption(threadsOption(true))
    .option('--workers <w>', 'prefetch worker threads', (v) => Number(positiveInt(v)), Math.max(1, Math.min(2, os.availableParallelism() - 1)))
    .option('--seed <s>', 'seed of every random draw (init, order, augmentation, dropout)', seed, 1)
    .option('--out <dir>', 'run folder: weights.safetensors (the whole model: --weights takes it or the folder), checkpoints, metrics.jsonl, plot.svg and plot.png')
    .option('--resume <dir>', 'continue the run in this folder from its newest checkpoint, with its saved options')
    .action(train);
}

/** --weight-decay for weightDecay: how a config key is spelt as a flag */
const flag = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Options in the ranges a run folder may hold (`schema`), else a UsageError naming the flag. */
function checkedOptions<S extends z.ZodType>(schema: S, options: object): z.infer<S> {
  const { out: _out, resume: _resume, ...config } = options as { out?: string; resume?: string };
  const parsed = schema.safeParse(config);
  if (!parsed.success) throw new UsageError('ARG', describeIssues(parsed.error, config, flag));
  return parsed.data;
}

async function train(cli: TrainOptions, command: Command): Promise<void> {
  const runDir = cli.resume ?? cli.out;
  if (!runDir) throw new UsageError('NO_OUT', 'train needs --out RUN_DIR (or --resume RUN_DIR)');
  let given: Partial<TrainConfig> & { data: string };
  if (cli.resume) {
    const saved = await readRunConfig(runDir);
    // the saved options, except --epochs when given: a resumed run may be taken further
    given = checkedOptions(TRAIN_CONFIG, { ...saved, epochs: command.getOptionValueSource('epochs') === 'cli' ? cli.epochs : saved.epochs });
  } else {
    given = checkedOptions(TRAIN_CONFIG.partial({ arch: true }), cli); // --arch may come from the data
    await checkNewRunDir(runDir);
  }
  const trainAll = await openDataset(resolveDataset(given.data, 'train'));
  const valAll = await openDataset(resolveDataset(given.data, 'test'));
  const o: TrainConfig = cli.resume ? (given as TrainConfig) : checkedOptions(TRAIN_CONFIG, { ...given, ...(await optionsFromData(given, trainAll)) });
  const limit = o.limit && Math.min(o.limit, trainAll.length);
  const valLimit = o.valLimit ?? (limit ? Math.max(1, Math.round((limit * valAll.length) / trainAll.length)) : undefined);
  const trainSpec: DatasetSpec = { ...trainAll.spec, ...(limit && { limit }) };
  const valSpec: DatasetSpec = { ...valAll.spec, ...(valLimit && { limit: valLimit }) };
  const model: ModelOptions = o;
  const graph = buildModel(model);
  // weights, velocity, gradients and the optimiser's copies: four float32s a parameter at least
  const bytes = 16 * graph.paramCount();
  if (bytes > os.totalmem() / 2) throw new UsageError('TOO_LARGE', `this model has ${graph.paramCount().toLocaleString('en-US')} parameters: training needs over ${(bytes / 2 ** 30).toFixed(1)} GiB, more than half of this machine's memory (check --width and --size)`);
  const { devices } = o;
  const split = devices > 1 ? partition(graph, { devices }) : undefined;
  const [channels] = graph.input.shape;
  if (channels !== 1 && channels !== 3) throw new UsageError('CHANNELS', `images have 1 or 3 channels; this model takes ${channels}`);
  const { classes } = trainAll;
  if (classes.length !== graph.output.shape[0]) throw new UsageError('CLASSES', `the dataset has ${classes.length} classes and the model ${graph.output.shape[0]} outputs: pass --classes ${classes.length}`);
  const p = PREPROCESSING[model.arch];
  const crop = graph.input.shape[1];
  const preprocessing = { ...p, crop, resize: crop === p.crop ? p.resize : Math.round((crop * p.resize) / p.crop) };
  // everything a resumed run has done, checked before anything runs
  const run = cli.resume ? await readRunState(runDir, graph, o, { classes, channels, resize: preprocessing.resize }) : { history: [] };
  if ((run.checkpoint?.epoch ?? 0) >= o.epochs) {
    process.stdout.write(`${runDir} has completed ${run.checkpoint?.epoch ?? 0} epochs already (--epochs ${o.epochs})\n`);
    return;
  }
  // the files the folder lacks are written with the first epoch, so a run that fails before it leaves none
  const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
  const pending = new Map<string, Uint8Array>(cli.resume ? [] : [[CONFIG, encode(JSON.stringify(o, null, 2))], ['labels.txt', encode(`${classes.join('\n')}\n`)]]);
  let { stats } = run;
  if (!stats) {
    process.stderr.write(`computing the training set's mean image and pixel PCA (${preprocessing.resize}x${preprocessing.resize})...\n`);
    const bytes = writeStats(await computeStats(await openDataset(trainSpec), preprocessing.resize, channels), trainSpec.dir);
    pending.set('stats.safetensors', bytes);
    // read back: a resumed run sees the file's (float32) values, so this one must too
    stats = readStats(bytes, 'stats.safetensors');
  }
  // every weights file the run writes is the whole model: preset, options, names, statistics, preprocessing
  const first = await trainAll.load(0, channels);
  const domain = trainAll.spec.kind === 'fashion-mnist' ? { ...FASHION_MNIST_DOMAIN, width: first.width, height: first.height } : undefined;
  const description = { config: modelConfig(model), labels: classes, stats, preprocessing, domain };
  const encodeWeights = (params: Params, epoch: number): Uint8Array => {
    const { tensors, metadata } = describedWeights(params, description, { epoch: String(epoch) });
    return writeSafetensors(tensors, metadata);
  };
  const pipeline: PipelineSpec = { preprocessing, channels, train: true, pcaStd: o.pcaStd, stats };
  const schedule: Schedule = o.schedule === 'step' ? { kind: 'step', every: o.stepEpochs } : { kind: 'plateau', patience: o.patience, threshold: o.threshold };
  const init = o.init ?? (model.arch === 'mini' ? 'fan-in' : 'paper');
  const start =
    run.checkpoint ??
    (() => {
      const params = paperInit(graph, init === 'paper' ? { seed: o.seed } : { seed: o.seed, std: 'fan-in', unitBiases: new Set() });
      return { epoch: 0, schedule: startSchedule(o.lr), params, velocity: zeroVelocity(params) };
    })();
  // one kernel set per device, each wasm one with its own memory
  const threads = o.threads ?? (devices > 1 ? 1 : os.availableParallelism());
  const wasm = o.backend === 'wasm' ? await Promise.all(Array.from({ length: devices }, () => wasmTrainKernels(threads))) : undefined;
  const kernels: TrainKernels[] = wasm ?? Array.from({ length: devices }, () => referenceTrainKernels);
  const network = split ? new PartitionedTrainingNetwork(graph, kernels, split) : new TrainingNetwork(graph, kernels[0]);
  const on = split ? `${kernels[0].name} on each of ${devices} devices` : kernels[0].name;
  const images = `${limit ? `the first ${limit.toLocaleString('en-US')} of ` : ''}${trainAll.length.toLocaleString('en-US')} images of ${trainSpec.dir}`;
  process.stderr.write(`training ${model.arch} (${graph.paramCount().toLocaleString('en-US')} parameters) on ${images}, ${on}, from epoch ${start.epoch + 1} to ${o.epochs}\n`);
  try {
    await trainLoop(
      {
        graph,
        network,
        train: trainSpec,
        validation: valSpec,
        pipeline,
        validationCrops: o.valTta,
        batch: o.batch,
        epochs: o.epochs,
        seed: o.seed,
        workers: o.workers,
        sgd: { momentum: o.momentum, weightDecay: o.weightDecay },
        schedule,
        runDir,
        history: run.history,
        pending,
        log: (line) => process.stdout.write(`${line}\n`),
        progress: process.stderr.isTTY ? (epoch, count) => epochBar(epoch, o.epochs, count) : undefined,
        encodeWeights,
      },
      start,
    );
  } finally {
    await Promise.all(wasm?.map((k) => k.release()) ?? []);
  }
  process.stdout.write(`wrote ${path.join(runDir, 'weights.safetensors')} (the model: --weights ${runDir} takes it), metrics.jsonl, plot.svg and plot.png\n`);
}

/**
 * What the data decides when the user did not: the preset (mini, the built-in model's, for small
 * images, else the paper's), the classes, and grey (1 channel) or colour; said on stderr.
 */
async function optionsFromData(o: Partial<TrainConfig>, data: Dataset): Promise<Partial<TrainConfig>> {
  const first = await data.load(0, 3);
  const chosen: string[] = [];
  const arch = o.arch ?? (Math.max(first.width, first.height) <= 64 ? 'mini' : 'paper');
  if (!o.arch) chosen.push(`--arch ${arch} (${arch === 'mini' ? 'the built-in model\'s preset, ' : ''}for ${first.width}x${first.height} images)`);
  const classes = o.classes ?? data.classes.length;
  if (o.classes === undefined) chosen.push(`--classes ${classes}`);
  let inChannels = o.inChannels;
  if (inChannels === undefined) {
    inChannels = (await isGreyDataset(data)) ? 1 : 3;
    chosen.push(`--in-channels ${inChannels} (${inChannels === 1 ? 'grey' : 'colour'} images)`);
  }
  if (chosen.length) process.stderr.write(`from the data: ${chosen.join(', ')}\n`);
  return { arch, classes, inChannels };
}

function epochBar(epoch: number, epochs: number, images: number): EpochProgress {
  const bar = new ProgressBar(`epoch ${epoch}/${epochs}`, 'images', ['loss', 'error']);
  bar.start(images, { loss: '-', error: '-' });
  return {
    update: (seen, loss, error) => bar.update(seen, { loss: loss.toFixed(3), error: `${(100 * error).toFixed(2)}%` }),
    stop: () => bar.stop(),
  };
}
