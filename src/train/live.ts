// Training that a page drives a slice at a time: the same steps as `alexnet train` (trainLoop: its
// epoch order, batches and step seeds), on a dataset held in memory, with every state kept in this
// object, so stopping is not calling it and resuming is calling it again. Browser-safe: no node:
// module (prefetch.ts's workers and loop.ts's run folders are Node's); test/live-train.test.ts
// checks that it gives trainLoop's weights bit for bit.
import { epochOrder, makeBatch } from '../data/batches.js';
import type { Dataset, Split } from '../data/datasets.js';
import { idxDataset, parseIdx } from '../data/idx.js';
import type { PipelineSpec } from '../data/pipeline.js';
import { TrainingError, UsageError } from '../errors.js';
import type { Graph } from '../graph/index.js';
import type { Tensor } from '../tensor.js';
import { tensor } from '../tensor.js';
import { paperInit } from './init.js';
import type { TrainKernels } from './kernels.js';
import { topErrors } from './metrics.js';
import type { Params } from './network.js';
import { stepRng, TrainingNetwork } from './network.js';
import type { SgdOptions } from './sgd.js';
import { PAPER_SGD, sgdStep, zeroVelocity } from './sgd.js';

/** The bytes of an IDX file, inflated when gzipped (a server may have inflated them already, so the magic decides). */
export async function gunzipIfNeeded(bytes: Uint8Array): Promise<Uint8Array> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  // DecompressionStream: every current browser, and Node 18+, so the test runs this very code
  const stream = new Blob([bytes.slice()]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Fashion-MNIST-style IDX files (gzipped or not) as a Dataset in memory: what datasets.ts gives for
 * the same files (the same checks: data/idx.ts), without node:fs. `source` names them in messages.
 */
export async function fashionMnistInMemory(files: { images: Uint8Array; labels: Uint8Array }, classes: readonly string[], source: string, split: Split): Promise<Dataset> {
  const images = parseIdx(await gunzipIfNeeded(files.images), 3, `${source} (${split} images)`);
  const labels = parseIdx(await gunzipIfNeeded(files.labels), 1, `${source} (${split} labels)`);
  return idxDataset({ kind: 'fashion-mnist', dir: source, split }, classes, images, labels, source);
}

/**
 * A model's pipeline (its file describes the inference one: centre crop, no noise) for training:
 * random crops, mirrors and PCA colour noise at `alexnet train`'s default --pca-std.
 */
export const trainingPipeline = (spec: PipelineSpec, pcaStd = 0.1): PipelineSpec => ({ ...spec, train: true, pcaStd, testCrops: undefined });

export interface LiveOptions {
  readonly graph: Graph;
  readonly kernels: TrainKernels;
  readonly train: Dataset;
  /** held out: evaluated on centre crops, never trained on */
  readonly test: Dataset;
  /** the training pipeline (`trainingPipeline(model.spec)`); the held-out set gets its test mode */
  readonly pipeline: PipelineSpec;
  readonly seed: number;
  readonly lr: number;
  readonly batch: number;
  /**
   * the initialisation: the paper's N(0, 0.01) with unit biases, or N(0, 2/fan-in) with zero biases,
   * what `alexnet train` uses for mini (docs/training.md: with 0.01 mini's loss stays at ln 10). Default fan-in.
   */
  readonly init?: 'paper' | 'fan-in';
  readonly sgd?: SgdOptions;
  /** a held-out evaluation before the first step and after every this many (default 50) */
  readonly heldOutEvery?: number;
  /** held-out images per forward pass: the unit of work `runFor` does between training steps (default 100) */
  readonly heldOutChunk?: number;
}

export interface HeldOut {
  /** training steps done when it was measured */
  readonly step: number;
  readonly error: number;
  readonly loss: number;
}

/** What a page shows, as plain data (window.__alexnet.training). */
export interface LiveSnapshot {
  readonly steps: number;
  /** completed passes over the training set */
  readonly epoch: number;
  readonly losses: readonly number[];
  readonly errors: readonly number[];
  /** the latest held-out error, undefined before the first */
  readonly heldOutError?: number;
  readonly heldOut: readonly HeldOut[];
  readonly imagesPerSecond: number;
}

/** A batch as a tensor (batches.ts makes the floats). */
async function batchOf(data: Dataset, pipeline: PipelineSpec, seed: number, epoch: number, indices: Uint32Array): Promise<{ x: Tensor; labels: Int32Array }> {
  const { crop } = pipeline.preprocessing;
  const { x, labels } = await makeBatch(data, pipeline, seed, epoch, indices);
  return { x: tensor([indices.length, pipeline.channels, crop, crop], x), labels };
}

export class LiveTrainer {
  readonly params: Params;
  private readonly velocity: Params;
  private readonly net: TrainingNetwork;
  private readonly classes: number;
  private readonly heldOutEvery: number;
  private readonly heldOutChunk: number;
  private epochNow = 0;
  /** the step within the epoch, and that epoch's order */
  private at = 0;
  private order: Uint32Array;
  private readonly lossLog: number[] = [];
  private readonly errorLog: number[] = [];
  private readonly heldOutLog: HeldOut[] = [];
  /** a held-out evaluation is due (before the first step, then every heldOutEvery steps) */
  private due = true;
  /** the evaluation under way: after which step, the images done so far and their sums */
  private partial?: { step: number; done: number; wrong: number; loss: number };
  /** the held-out set's centre crops, made once (they never change) */
  private heldOutBatches?: { x: Tensor; labels: Int32Array }[];
  private trainMs = 0;
  private busy = false;

  constructor(private readonly o: LiveOptions) {
    if (!(Number.isSafeInteger(o.batch) && o.batch > 0 && o.batch <= o.train.length)) throw new UsageError('BATCH', `a batch of ${o.batch} images from a training set of ${o.train.length}`);
    this.net = new TrainingNetwork(o.graph, o.kernels);
    this.params = paperInit(o.graph, o.init === 'paper' ? { seed: o.seed } : { seed: o.seed, std: 'fan-in', unitBiases: new Set() });
    this.velocity = zeroVelocity(this.params);
    this.classes = o.graph.output.shape[0];
    this.heldOutEvery = o.heldOutEvery ?? 50;
    this.heldOutChunk = o.heldOutChunk ?? 100;
    this.order = epochOrder(o.train.length, o.seed, 0, true);
  }

  get steps(): number {
    return this.lossLog.length;
  }

  /** conv1's weights, the live tensor (updated in place by every step: copy it to keep one) */
  get conv1(): Tensor {
    const w = this.params.get('conv1.weight');
    if (!w) throw new UsageError('NO_CONV1', 'this graph has no conv1 layer');
    return w;
  }

  /** Steps per epoch: whole batches only, as `alexnet train` (every step the same size). */
  get stepsPerEpoch(): number {
    return Math.floor(this.o.train.length / this.o.batch);
  }

  snapshot(): LiveSnapshot {
    const images = this.steps * this.o.batch;
    return {
      steps: this.steps,
      epoch: this.epochNow,
      losses: this.lossLog,
      errors: this.errorLog,
      heldOutError: this.heldOutLog.at(-1)?.error,
      heldOut: this.heldOutLog,
      imagesPerSecond: this.trainMs > 0 ? (1000 * images) / this.trainMs : 0,
    };
  }

  /** One SGD step on the next batch; returns its loss and top-1 error. */
  async step(): Promise<{ loss: number; error: number }> {
    return this.exclusive(async () => {
      const { o } = this;
      const t0 = performance.now();
      const indices = this.order.subarray(this.at * o.batch, (this.at + 1) * o.batch);
      const { x, labels } = await batchOf(o.train, o.pipeline, o.seed, this.epochNow, indices);
      const r = this.net.step(x, labels, this.params, stepRng(o.seed, this.epochNow, this.at));
      if (!Number.isFinite(r.loss)) throw new TrainingError('DIVERGED', `step ${this.steps + 1} has a loss of ${r.loss} at learning rate ${o.lr}: try a lower one`);
      sgdStep(this.params, r.grads, this.velocity, o.lr, o.sgd ?? PAPER_SGD);
      const error = topErrors(r.prob.data, labels, this.classes).top1;
      this.lossLog.push(r.loss);
      this.errorLog.push(error);
      if (++this.at === this.stepsPerEpoch) {
        this.at = 0;
        this.order = epochOrder(o.train.length, o.seed, ++this.epochNow, true);
      }
      if (this.steps % this.heldOutEvery === 0) this.due = true;
      this.trainMs += performance.now() - t0;
      return { loss: r.loss, error };
    });
  }

  /**
   * Works for about `ms` (at least one unit: a chunk of a held-out evaluation when one is due, else a
   * training step), then yields to the event loop, so a page that loops on it stays responsive.
   */
  async runFor(ms: number): Promise<void> {
    const end = performance.now() + ms;
    do {
      if (this.due) await this.exclusive(() => this.heldOutPart());
      else await this.step();
    } while (performance.now() < end);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }

  /** Finishes the held-out evaluation under way (or runs one now) and returns it. */
  async evaluate(): Promise<HeldOut> {
    this.due = true;
    while (this.due) await this.exclusive(() => this.heldOutPart());
    return this.heldOutLog.at(-1)!;
  }

  /** One chunk of the held-out evaluation: inference mode (dropout off), centre crops. */
  private async heldOutPart(): Promise<void> {
    const { o } = this;
    if (!this.heldOutBatches) {
      const test = { ...o.pipeline, train: false, testCrops: 'center' as const };
      const all = Uint32Array.from({ length: o.test.length }, (_, i) => i);
      this.heldOutBatches = [];
      for (let i = 0; i < all.length; i += this.heldOutChunk) this.heldOutBatches.push(await batchOf(o.test, test, o.seed, 0, all.subarray(i, i + this.heldOutChunk)));
    }
    // a step since the last chunk (step() called between runFor's) starts it again: one set of weights
    if (this.partial?.step !== this.steps) this.partial = { step: this.steps, done: 0, wrong: 0, loss: 0 };
    const pending = this.partial;
    const b = this.heldOutBatches[pending.done / this.heldOutChunk];
    const prob = this.net.predict(b.x, this.params).data;
    pending.wrong += topErrors(prob, b.labels, this.classes).top1 * b.labels.length;
    for (let i = 0; i < b.labels.length; i++) pending.loss -= Math.log(Math.max(prob[i * this.classes + b.labels[i]], 1e-30));
    pending.done += b.labels.length;
    if (pending.done < o.test.length) return;
    this.heldOutLog.push({ step: this.steps, error: pending.wrong / pending.done, loss: pending.loss / pending.done });
    [this.due, this.partial] = [false, undefined];
  }

  /** One thing at a time: a step awaits its batch, and a second caller in that gap would interleave two steps. */
  private async exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.busy) throw new UsageError('BUSY', 'the trainer is already working: await the call under way before the next');
    this.busy = true;
    try {
      return await work();
    } finally {
      this.busy = false;
    }
  }
}
