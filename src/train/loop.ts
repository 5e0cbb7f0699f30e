// The training loop: epochs of prefetched, augmented batches through a TrainingNetwork with the
// paper's SGD; after each epoch a validation pass (centre or ten crops), the schedule, one line of
// metrics, and the epoch committed to the run folder (run-folder.ts). Everything random is derived
// from (seed, epoch, step or sample), so a run resumed from a checkpoint computes exactly what an
// uninterrupted one does. A loss or weight that stops being finite ends the run with a named error
// before anything of that epoch is written.
import type { DatasetSpec } from '../data/datasets.js';
import type { PipelineSpec, TestCrops } from '../data/pipeline.js';
import { Prefetcher } from '../data/prefetch.js';
import { TrainingError } from '../errors.js';
import type { Graph } from '../graph/index.js';
import type { EpochMetrics } from './metrics.js';
import { topErrors } from './metrics.js';
import type { Params, Trainer } from './network.js';
import { stepRng } from './network.js';
import { commitEpoch } from './run-folder.js';
import type { TrainState } from './run-folder.js';
import type { Schedule } from './schedule.js';
import { afterEpoch } from './schedule.js';
import type { SgdOptions } from './sgd.js';
import { sgdStep } from './sgd.js';

export type { TrainState } from './run-folder.js';

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
  /** the metrics of the epochs already completed (a resumed run's), to which each epoch adds its row */
  readonly history: readonly EpochMetrics[];
  /** files the run folder lacks, written with the first epoch (a new run's config, labels, statistics) */
  readonly pending: ReadonlyMap<string, Uint8Array>;
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

/** The first parameter value that is NaN or infinite, if any. */
function nonFinite(params: Params): string | undefined {
  for (const [name, t] of params) {
    const { data } = t;
    // v - v is 0 for a finite v and NaN for NaN and ±∞
    for (let i = 0; i < data.length; i++) if (data[i] - data[i] !== 0) return `${name}[${i}] = ${data[i]}`;
  }
  return undefined;
}

/** Trains from `state` until `epochs` are complete; returns the final state. */
export async function trainLoop(o: LoopOptions, start: TrainState): Promise<TrainState> {
  const net = o.network;
  const classes = o.graph.output.shape[0];
  const trainData = await Prefetcher.open({ dataset: o.train, pipeline: o.pipeline, batch: o.batch, seed: o.seed, workers: o.workers, shuffle: true, dropLast: true });
  const valData = await Prefetcher.open({ dataset: o.validation, pipeline: { ...o.pipeline, train: false, testCrops: o.validationCrops }, batch: o.validationCrops === 'ten-crop' ? 50 : 500, seed: o.seed, workers: o.workers, shuffle: false });
  let state = start;
  const history = [...o.history];
  let pending = o.pending;
  const began = performance.now();
  const diverged = (epoch: number, what: string): never => {
    throw new TrainingError('DIVERGED', `epoch ${epoch + 1}: ${what} at learning rate ${state.schedule.lr}; ${state.epoch ? `the run folder keeps epoch ${state.epoch}` : 'nothing was written'}. Try a lower --lr (a new run), or check the data`);
  };
  try {
    for (let epoch = start.epoch; epoch < o.epochs; epoch++) {
      const bar = o.progress?.(epoch + 1, trainData.steps * o.batch);
      let [lossSum, wrong, seen, step] = [0, 0, 0, 0];
      const t0 = performance.now();
      for await (const b of trainData.epoch(epoch)) {
        const r = net.step(b.x, b.labels, state.params, stepRng(o.seed, epoch, step++));
        if (!Number.isFinite(r.loss)) diverged(epoch, `step ${step} has a loss of ${r.loss}`);
        sgdStep(state.params, r.grads, state.velocity, state.schedule.lr, o.sgd);
        lossSum += r.loss * b.labels.length;
        wrong += topErrors(r.prob.data, b.labels, classes).top1 * b.labels.length;
        seen += b.labels.length;
        bar?.update(seen, lossSum / seen, wrong / seen);
      }
      bar?.stop();
      const trainSeconds = (performance.now() - t0) / 1000;
      const bad = nonFinite(state.params) ?? nonFinite(state.velocity);
      if (bad) diverged(epoch, `a weight became ${bad}`);
      const val = await evaluate(net, valData, state.params, classes);
      if (!Number.isFinite(val.loss)) diverged(epoch, `the validation loss is ${val.loss}`);
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
      const next = { epoch: epoch + 1, schedule: afterEpoch(o.schedule, state.schedule, epoch, val.top1), params: state.params, velocity: state.velocity };
      history.push(metrics);
      await commitEpoch(o.runDir, { state: next, history, weights: o.encodeWeights(next.params, next.epoch), pending });
      state = next;
      pending = new Map();
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
