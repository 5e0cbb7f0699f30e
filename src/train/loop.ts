// The training loop: epochs of prefetched, augmented batches through a TrainingNetwork with the
// paper's SGD; after each epoch a validation pass (centre or ten crops), the schedule, one line of
// metrics (JSON lines), the plot, and a checkpoint. Everything random is derived from (seed, epoch,
// step or sample), so a run resumed from a checkpoint computes exactly what an uninterrupted one does.
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DatasetSpec } from '../data/datasets.js';
import type { PipelineSpec, TestCrops } from '../data/pipeline.js';
import { sampleSeed } from '../data/pipeline.js';
import { Prefetcher } from '../data/prefetch.js';
import { splitEmbeddedStats } from '../data/stats.js';
import { CheckpointError } from '../errors.js';
import type { Graph } from '../graph/index.js';
import { checkWeights, readSafetensors, writeFileAtomic, writeSafetensors } from '../io/index.js';
import { createRng } from '../random.js';
import type { EpochMetrics } from './metrics.js';
import { renderSvg, svgToPng } from '../charts.js';
import { topErrors, trainingChart } from './metrics.js';
import type { Params, Trainer } from './network.js';
import type { Schedule, ScheduleState } from './schedule.js';
import { afterEpoch } from './schedule.js';
import type { SgdOptions } from './sgd.js';
import { sgdStep } from './sgd.js';

export interface TrainState {
  /** epochs completed */
  readonly epoch: number;
  readonly schedule: ScheduleState;
  readonly params: Params;
  readonly velocity: Params;
}

export interface LoopOptions {
  readonly graph: Graph;
  /** the graph on one device (TrainingNetwork) or split over several */
  readonly network: Trainer;
  readonly train: DatasetSpec;
  readonly validation: DatasetSpec;
  /** the training pipeline; validation uses it in test mode with `validationCrops` */
  readonly pipeline: PipelineSpec;
  readonly validationCrops: TestCrops;
  readonly batch: number;
  readonly epochs: number;
  readonly seed: number;
  readonly workers: number;
  readonly sgd: SgdOptions;
  readonly schedule: Schedule;
  readonly runDir: string;
  /** report each epoch (a line for people) */
  readonly log: (line: string) => void;
  /** progress within an epoch (the CLI draws a bar): called at its start with the images it will see */
  readonly progress?: (epoch: number, images: number) => EpochProgress;
  /** the bytes of a weights file for these parameters after `epoch` epochs (the CLI's carry the model's description) */
  readonly encodeWeights: (params: Params, epoch: number) => Uint8Array;
}

export interface EpochProgress {
  /** after each step: images seen this epoch, and their mean loss and top-1 error so far */
  update(images: number, loss: number, error: number): void;
  stop(): void;
}

const CHECKPOINTS = 'checkpoints';

/** Trains from `state` until `epochs` are complete; returns the final state. */
export async function trainLoop(o: LoopOptions, start: TrainState): Promise<TrainState> {
  const net = o.network;
  const classes = o.graph.output.shape[0];
  const trainData = await Prefetcher.open({ dataset: o.train, pipeline: o.pipeline, batch: o.batch, seed: o.seed, workers: o.workers, shuffle: true, dropLast: true });
  const valData = await Prefetcher.open({ dataset: o.validation, pipeline: { ...o.pipeline, train: false, testCrops: o.validationCrops }, batch: o.validationCrops === 'ten-crop' ? 50 : 500, seed: o.seed, workers: o.workers, shuffle: false });
  let state = start;
  const began = performance.now();
  try {
    for (let epoch = start.epoch; epoch < o.epochs; epoch++) {
      const bar = o.progress?.(epoch + 1, trainData.steps * o.batch);
      let [lossSum, wrong, seen, step] = [0, 0, 0, 0];
      const t0 = performance.now();
      for await (const b of trainData.epoch(epoch)) {
        const rng = createRng(sampleSeed(o.seed ^ 0x5bd1e995, epoch, step++));
        const r = net.step(b.x, b.labels, state.params, rng);
        sgdStep(state.params, r.grads, state.velocity, state.schedule.lr, o.sgd);
        lossSum += r.loss * b.labels.length;
        wrong += topErrors(r.prob.data, b.labels, classes).top1 * b.labels.length;
        seen += b.labels.length;
        bar?.update(seen, lossSum / seen, wrong / seen);
      }
      bar?.stop();
      const trainSeconds = (performance.now() - t0) / 1000;
      const val = await evaluate(net, valData, state.params, classes);
      const metrics: EpochMetrics = {
        epoch: epoch + 1,
        lr: state.schedule.lr,
        train_loss: lossSum / seen,
        train_error: wrong / seen,
        val_loss: val.loss,
        val_top1_error: val.top1,
        val_top5_error: val.top5,
        images_per_s: seen / trainSeconds,
        elapsed_s: (performance.now() - began) / 1000,
      };
      state = { epoch: epoch + 1, schedule: afterEpoch(o.schedule, state.schedule, epoch, val.top1), params: state.params, velocity: state.velocity };
      await saveCheckpoint(o.runDir, state, o.encodeWeights);
      await appendFile(path.join(o.runDir, 'metrics.jsonl'), `${JSON.stringify(metrics)}\n`);
      const svg = await renderSvg(trainingChart(await readMetrics(o.runDir)));
      await writeFileAtomic(path.join(o.runDir, 'plot.svg'), new TextEncoder().encode(svg));
      await writeFileAtomic(path.join(o.runDir, 'plot.png'), await svgToPng(svg));
      o.log(`epoch ${epoch + 1}: train loss ${metrics.train_loss.toFixed(4)} error ${(100 * metrics.train_error).toFixed(2)}%, validation top-1 ${(100 * val.top1).toFixed(2)}% top-5 ${(100 * val.top5).toFixed(2)}%, ${metrics.images_per_s.toFixed(0)} img/s, lr ${metrics.lr}`);
    }
  } finally {
    await Promise.all([trainData.close(), valData.close()]);
  }
  return state;
}

/**
 * Mean loss and top-1/top-5 error over a dataset, inference mode. With several crops per image
 * (ten-crop batches), an image's probabilities are the mean of its crops', as the paper averaged.
 */
export async function evaluate(net: Trainer, data: Prefetcher, params: Params, classes: number): Promise<{ loss: number; top1: number; top5: number }> {
  let [loss, top1, top5, n] = [0, 0, 0, 0];
  for await (const b of data.epoch(0)) {
    const crops = b.x.shape[0] / b.labels.length;
    const perCrop = net.predict(b.x, params).data;
    const prob = new Float64Array(b.labels.length * classes);
    for (let j = 0; j < perCrop.length; j++) prob[Math.floor(j / (crops * classes)) * classes + (j % classes)] += perCrop[j] / crops;
    const e = topErrors(prob, b.labels, classes);
    for (let i = 0; i < b.labels.length; i++) loss -= Math.log(Math.max(prob[i * classes + b.labels[i]], 1e-30));
    top1 += e.top1 * b.labels.length;
    top5 += e.top5 * b.labels.length;
    n += b.labels.length;
  }
  return { loss: loss / n, top1: top1 / n, top5: top5 / n };
}

export async function readMetrics(runDir: string): Promise<EpochMetrics[]> {
  const file = path.join(runDir, 'metrics.jsonl');
  if (!existsSync(file)) return [];
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as EpochMetrics);
}

const epochDir = (runDir: string, epoch: number): string => path.join(runDir, CHECKPOINTS, `epoch-${String(epoch).padStart(4, '0')}`);

/**
 * Weights, velocities and the schedule after `state.epoch` epochs, written to a temporary folder and
 * renamed into place whole; the two newest checkpoints are kept, so a damaged newest one leaves the
 * one before it. The run's top-level weights.safetensors follows the newest.
 */
export async function saveCheckpoint(runDir: string, state: TrainState, encodeWeights: LoopOptions['encodeWeights']): Promise<void> {
  const dir = epochDir(runDir, state.epoch);
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const weights = encodeWeights(state.params, state.epoch);
  await writeFileAtomic(path.join(tmp, 'weights.safetensors'), weights);
  await writeFileAtomic(path.join(tmp, 'velocity.safetensors'), writeSafetensors(state.velocity));
  await writeFileAtomic(path.join(tmp, 'state.json'), new TextEncoder().encode(JSON.stringify({ epoch: state.epoch, schedule: state.schedule })));
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  await writeFileAtomic(path.join(runDir, 'weights.safetensors'), weights);
  const all = await checkpointEpochs(runDir);
  for (const old of all.slice(0, -2)) await rm(epochDir(runDir, old), { recursive: true, force: true });
}

async function checkpointEpochs(runDir: string): Promise<number[]> {
  const dir = path.join(runDir, CHECKPOINTS);
  if (!existsSync(dir)) return [];
  return (await readdir(dir))
    .map((name) => /^epoch-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** The newest checkpoint of a run, checked against the model; undefined when the run has none. */
export async function loadCheckpoint(runDir: string, graph: Graph): Promise<TrainState | undefined> {
  const epochs = await checkpointEpochs(runDir);
  const epoch = epochs.at(-1);
  if (epoch === undefined) return undefined;
  const dir = epochDir(runDir, epoch);
  try {
    const { params } = splitEmbeddedStats(readSafetensors(await readFile(path.join(dir, 'weights.safetensors')), path.join(dir, 'weights.safetensors')).tensors);
    const velocity = readSafetensors(await readFile(path.join(dir, 'velocity.safetensors')), path.join(dir, 'velocity.safetensors')).tensors;
    checkWeights(graph.params(), params, path.join(dir, 'weights.safetensors'));
    checkWeights(graph.params(), velocity, path.join(dir, 'velocity.safetensors'));
    const saved = JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8')) as { epoch: number; schedule: ScheduleState };
    if (saved.epoch !== epoch || typeof saved.schedule?.lr !== 'number') throw new CheckpointError('STATE', `state.json does not describe epoch ${epoch}`);
    return { epoch, schedule: { ...saved.schedule, best: saved.schedule.best ?? Infinity }, params, velocity };
  } catch (e) {
    const previous = epochs.at(-2);
    const keep = previous === undefined ? '' : `; the checkpoint of epoch ${previous} (${epochDir(runDir, previous)}) is intact: delete ${dir} to resume from it`;
    throw new CheckpointError('CORRUPT', `checkpoint ${dir} cannot be read (${(e as Error).message})${keep}`);
  }
}
