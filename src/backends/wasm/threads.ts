// Runs a parallel kernel on every thread at once: this thread plus (threads - 1) workers, all on
// one shared WebAssembly.Memory. A call is published through a small control block in that memory
// rather than postMessage, so starting a kernel costs microseconds, not a message round trip. Each
// thread computes share `part` of `parts`; the kernels split work so that no output depends on the
// split. Workers outlive pools: a released pool's workers wait idle for the next one.
//
// The protocol, one call at a time:
//   caller: write KERNEL, ARGC and the arguments; DONE = 0; GENERATION += 1 (the seq-cst add
//           publishes the plain writes before it); notify GENERATION; run part 0; wait until
//           DONE = parts - 1; only then may the next call touch the control block or the memory.
//   worker: wait until GENERATION differs from the last generation it ran; read KERNEL, ARGC and
//           the arguments; run its part; DONE += 1 (publishing its outputs); notify DONE.
// Each side waits for a *value*, never for a wake-up. A worker that took a wake-up as a new call
// once ran a finished call again: preempted between its add and its notify, the caller's notify
// reached a worker that had already run that generation (seen the add while spinning) and gone back
// to sleep; the worker re-ran the old kernel while the caller moved on, and its second DONE was
// counted as its share of the next call, which the caller then read unfinished. Under load that
// changed a few outputs of one batch in hundreds (issue 22; test/threads.test.ts reproduces it
// with `jitterMs`, which widens every window of the protocol with random pauses).
//
// The workers are Node worker_threads (worker.js) or, in a browser, module Web Workers
// (web-worker.js), both running worker-loop.js. A browser lends a shared memory to a worker only in
// a cross-origin isolated page, and its main thread may not Atomics.wait, so there the caller spins.
import { BackendError } from '../../errors.js';
import { PARALLEL_KERNELS } from './module.js';
import type { Kernels, ParallelKernel } from './module.js';

/** Control block layout, in i32 slots, then float64 argument slots from byte 64. */
export const CONTROL = { GENERATION: 0, DONE: 1, KERNEL: 2, ARGC: 3, FAILED: 4, BYTES: 64 + 8 * 32 } as const;
const EXIT = -1;

export class ThreadPool {
  private constructor(
    private readonly kernels: Record<ParallelKernel, (...args: number[]) => void>,
    private readonly control: Int32Array,
    private readonly args: Float64Array,
    private readonly workers: PoolWorker[],
    private readonly pause: () => void,
  ) {}

  /** `jitterMs` > 0 (testing only): every thread pauses up to that long at random steps of the protocol. */
  static async create(module: WebAssembly.Module, memory: WebAssembly.Memory, kernels: Kernels, controlOffset: number, threads: number, jitterMs = 0): Promise<ThreadPool> {
    if (!IN_NODE && threads > 1 && !globalThis.crossOriginIsolated) {
      throw new BackendError('NOT_ISOLATED', `${threads} wasm threads need a cross-origin isolated page (shared memory), and this one is not; 1 thread works anywhere`);
    }
    const control = new Int32Array(memory.buffer, controlOffset, 16);
    const args = new Float64Array(memory.buffer, controlOffset + 64, 32);
    const workers = await Promise.all(
      Array.from({ length: threads - 1 }, async (_, i) => {
        const worker = idle.pop() ?? (await spawn());
        const ready = worker.next();
        worker.post({ module, memory, controlOffset, part: i + 1, parts: threads, kernels: PARALLEL_KERNELS, jitterMs });
        await ready;
        return worker;
      }),
    );
    return new ThreadPool(kernels as unknown as Record<ParallelKernel, (...args: number[]) => void>, control, args, workers, jitterMs > 0 ? pauser(jitterMs) : () => {});
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  /** Runs kernel(...args, part, parts) on every thread and returns when all are done. */
  run(kernel: ParallelKernel, args: readonly number[]): void {
    const parts = this.threads;
    if (parts === 1) {
      this.kernels[kernel](...args, 0, 1);
      return;
    }
    const { control } = this;
    this.args.set(args);
    control[CONTROL.KERNEL] = PARALLEL_KERNELS.indexOf(kernel);
    control[CONTROL.ARGC] = args.length;
    Atomics.store(control, CONTROL.DONE, 0);
    Atomics.add(control, CONTROL.GENERATION, 1);
    this.pause();
    Atomics.notify(control, CONTROL.GENERATION);
    this.kernels[kernel](...args, 0, parts);
    this.pause();
    for (let done = Atomics.load(control, CONTROL.DONE); done < parts - 1; done = Atomics.load(control, CONTROL.DONE)) {
      if (MAY_WAIT) Atomics.wait(control, CONTROL.DONE, done);
    }
    if (Atomics.exchange(control, CONTROL.FAILED, 0) !== 0) throw new BackendError('WORKER_FAILED', `a wasm worker failed in ${kernel}; see the message it printed`);
  }

  /** Releases the workers: they leave this memory and wait, idle, for the next pool. */
  async release(): Promise<void> {
    if (this.workers.length === 0) return;
    const left = this.workers.map((w) => w.next());
    this.control[CONTROL.KERNEL] = EXIT;
    Atomics.add(this.control, CONTROL.GENERATION, 1);
    Atomics.notify(this.control, CONTROL.GENERATION);
    await Promise.all(left);
    idle.push(...this.workers);
  }
}

/** A random pause of up to `ms` at half the calls (worker-loop.js has the same for the workers). */
function pauser(ms: number): () => void {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  return () => {
    if (Math.random() < 0.5) Atomics.wait(cell, 0, 0, Math.random() * ms);
  };
}

const IN_NODE = typeof process !== 'undefined' && process.versions?.node !== undefined;
const MAY_WAIT = IN_NODE || typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';

/** A worker thread of either kind, as the pool uses it. */
interface PoolWorker {
  post(message: unknown): void;
  /** Resolves on the worker's next message ('ready' or 'idle'); rejects if it dies first. */
  next(): Promise<void>;
}

/** Workers between pools: starting a thread costs tens of milliseconds, lending one a memory about one. */
const idle: PoolWorker[] = [];

async function spawn(): Promise<PoolWorker> {
  if (!IN_NODE) {
    // this exact form lets bundlers (vite) find and bundle the worker's module
    const worker = new Worker(new URL('./web-worker.js', import.meta.url), { type: 'module' });
    return {
      post: (message) => worker.postMessage(message),
      next: () =>
        new Promise<void>((resolve, reject) => {
          const controller = new AbortController();
          worker.addEventListener('message', () => (controller.abort(), resolve()), { signal: controller.signal });
          worker.addEventListener('error', (e) => (controller.abort(), reject(new BackendError('WORKER_FAILED', `a wasm worker failed to start: ${e.message}`))), { signal: controller.signal });
        }),
    };
  }
  const { Worker: NodeWorker } = await import('node:worker_threads');
  const worker = new NodeWorker(new URL('./worker.js', import.meta.url));
  worker.unref(); // idle workers must not keep the process alive
  return {
    post: (message) => worker.postMessage(message),
    next: () =>
      new Promise<void>((resolve, reject) => {
        const fail = (e: Error): void => {
          worker.off('message', done);
          reject(e);
        };
        const done = (): void => {
          worker.off('error', fail);
          resolve();
        };
        worker.once('message', done);
        worker.once('error', fail);
      }),
  };
}
