// Batches made ahead of time in worker threads while the current batch computes, as the paper did
// on the CPU while its GPUs trained. Batch b goes to worker b mod W; at most `depth` batches are in
// flight. Every sample draws from its own seed (see sampleSeed), so the batches are the same, bit for
// bit, for any number of workers, including none (made in this thread when asked for).
import type { Worker } from 'node:worker_threads';
import { AlexnetError, DatasetError, ImageError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { tensor } from '../tensor.js';
import { startWorker } from '../worker.js';
import type { Dataset, DatasetSpec } from './datasets.js';
import { openDataset } from './datasets.js';
import type { PipelineSpec } from './pipeline.js';
import { cropsPerImage } from './pipeline.js';
import { epochOrder, makeBatch } from './batches.js';

export interface Batch {
  /** [B, C, crop, crop]; with ten test crops, each image's 10 one after another ([10·B, ...]) */
  readonly x: Tensor;
  readonly labels: Int32Array;
  /** which dataset samples, in batch order */
  readonly indices: Uint32Array;
}

export interface PrefetchOptions {
  readonly dataset: DatasetSpec;
  readonly pipeline: PipelineSpec;
  readonly batch: number;
  readonly seed: number;
  /** worker threads; 0 makes every batch in this thread */
  readonly workers: number;
  /** batches in flight (default 2 per worker) */
  readonly depth?: number;
  /** a new order every epoch (training), or dataset order (testing) */
  readonly shuffle: boolean;
  /** drop a last batch smaller than `batch` (training keeps every step the same size) */
  readonly dropLast?: boolean;
}

export interface WorkerData {
  readonly dataset: DatasetSpec;
  readonly pipeline: PipelineSpec;
}
export interface WorkerRequest {
  readonly id: number;
  readonly seed: number;
  readonly epoch: number;
  readonly indices: Uint32Array;
}
export type WorkerReply = { id: number; x: Float32Array; labels: Int32Array } | { id: number; error: { name: string; code: string; message: string } };

const ERRORS: Record<string, new (code: string, message: string) => AlexnetError> = { DatasetError, ImageError };

export class Prefetcher {
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();

  private constructor(
    readonly dataset: Dataset,
    private readonly options: PrefetchOptions,
    private readonly workers: Worker[],
  ) {
    for (const w of workers) {
      w.on('message', (r: WorkerReply) => {
        this.waiting.get(r.id)?.resolve(r);
        this.waiting.delete(r.id);
      });
      w.on('error', (e) => {
        for (const p of this.waiting.values()) p.reject(e);
        this.waiting.clear();
      });
    }
  }

  static async open(options: PrefetchOptions): Promise<Prefetcher> {
    const dataset = await openDataset(options.dataset);
    const data: WorkerData = { dataset: options.dataset, pipeline: options.pipeline };
    return new Prefetcher(dataset, options, Array.from({ length: options.workers }, () => startWorker(import.meta.url, './prefetch-worker', data)));
  }

  /** Steps per epoch. */
  get steps(): number {
    const { batch, dropLast } = this.options;
    return dropLast ? Math.floor(this.dataset.length / batch) : Math.ceil(this.dataset.length / batch);
  }

  /** The epoch's batches in order; the next `depth` are being made while the caller uses one. */
  async *epoch(epoch: number): AsyncGenerator<Batch> {
    const { batch, seed, shuffle } = this.options;
    const order = epochOrder(this.dataset.length, seed, epoch, shuffle);
    const depth = Math.max(1, this.options.depth ?? 2 * this.workers.length);
    const pending: Promise<Batch>[] = [];
    let made = 0;
    const request = (): void => {
      const indices = order.slice(made * batch, Math.min((made + 1) * batch, order.length));
      const b = this.make(made++, epoch, indices);
      b.catch(() => {}); // a failure is thrown when its turn comes, not reported as unhandled before
      pending.push(b);
    };
    while (made < Math.min(depth, this.steps)) request();
    while (pending.length) {
      const b = await pending.shift()!;
      if (made < this.steps) request();
      yield b;
    }
  }

  private async make(step: number, epoch: number, indices: Uint32Array): Promise<Batch> {
    const { pipeline, seed } = this.options;
    const { crop } = pipeline.preprocessing;
    const shape = [indices.length * cropsPerImage(pipeline), pipeline.channels, crop, crop];
    if (!this.workers.length) {
      const { x, labels } = await makeBatch(this.dataset, pipeline, seed, epoch, indices);
      return { x: tensor(shape, x), labels, indices };
    }
    const id = this.next++;
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.workers[step % this.workers.length].postMessage({ id, seed, epoch, indices } satisfies WorkerRequest);
    });
    if ('error' in reply) {
      const Named = ERRORS[reply.error.name];
      throw Named ? new Named(reply.error.code, reply.error.message) : new Error(`a prefetch worker failed: ${reply.error.message}`);
    }
    return { x: tensor(shape, reply.x), labels: reply.labels, indices };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
