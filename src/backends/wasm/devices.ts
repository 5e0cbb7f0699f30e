// The wasm backend with each loaded graph in a worker thread of its own. The runtime loads one
// graph per device of a partitioned graph (src/runtime/run.ts), so with this backend every device
// computes on its own core, in its own WebAssembly memory, at the same time as the others: the
// 2012 network's two towers on two workers, exchanging only the transfers' tensors.
import type { Worker } from 'node:worker_threads';
import { BackendError } from '../../errors.js';
import type { Graph, GraphNode } from '../../graph/index.js';
import type { Tensor } from '../../tensor.js';
import { copyFloats, sizeOf, tensor } from '../../tensor.js';
import { startWorker } from '../../worker.js';
import type { Backend, Executor, Handle, MemoryReport } from '../backend.js';
import type { DeviceRequest, DeviceWorkerData } from './device-worker.js';
import type { WasmOptions } from './index.js';

type Reply = { id: number; error?: string; handle?: Handle; memory?: MemoryReport; shape?: number[] };
type Request = DeviceRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** One thread per device unless told otherwise: the devices are what run in parallel. */
export function wasmDevicesBackend(options: WasmOptions = {}): Backend {
  return { name: 'wasm', load: (graph, params) => DeviceExecutor.start(graph, params, { ...options, threads: options.threads ?? 1 }) };
}

class DeviceExecutor implements Executor {
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private lastMemory: MemoryReport | undefined;
  /** Shared with the worker: tensors placed or read pass through it (grown as needed). */
  private staging = new Float32Array(new SharedArrayBuffer(0));

  private constructor(
    private readonly worker: Worker,
    readonly details: string | undefined,
    private readonly fusable: ReadonlySet<string>,
  ) {
    worker.on('message', (reply: Reply) => {
      const pending = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (reply.memory) this.lastMemory = reply.memory;
      if (reply.error) pending?.reject(new BackendError('DEVICE_FAILED', `wasm device worker: ${reply.error}`));
      else pending?.resolve(reply);
    });
    worker.on('error', (e) => {
      for (const { reject } of this.waiting.values()) reject(new BackendError('DEVICE_FAILED', `wasm device worker died: ${e.message}`));
      this.waiting.clear();
    });
  }

  static async start(graph: Graph, params: ReadonlyMap<string, readonly Tensor[]>, options: WasmOptions): Promise<DeviceExecutor> {
    const data: DeviceWorkerData = { specs: graph.nodes.map(({ name, op, inputs, device }) => ({ name, op, inputs, device })), params: [...params], options };
    const worker = startWorker(import.meta.url, './device-worker', data);
    const ready = await new Promise<{ ready: boolean; error?: string; details?: string; fusable?: string[] }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (!ready.ready) {
      await worker.terminate();
      throw new BackendError('DEVICE_FAILED', `a wasm device worker could not load its graph: ${ready.error}`);
    }
    return new DeviceExecutor(worker, ready.details, new Set(ready.fusable));
  }

  async place(node: GraphNode, x: Tensor): Promise<Handle> {
    await this.stage(x.data.length);
    copyFloats(this.staging, x.data);
    return (await this.ask({ kind: 'place', node: node.name, shape: x.shape })).handle!;
  }

  run(node: GraphNode, inputs: readonly Handle[], relu: boolean): Promise<Handle> {
    return this.ask({ kind: 'run', node: node.name, inputs, relu }).then((r) => r.handle!);
  }

  async read(h: Handle): Promise<Tensor> {
    await this.stage(sizeOf(h.shape));
    const { shape } = await this.ask({ kind: 'read', handle: h });
    const out = new Float32Array(sizeOf(shape!));
    copyFloats(out, this.staging.subarray(0, out.length));
    return tensor(shape!, out);
  }

  canFuseRelu(node: GraphNode): boolean {
    return this.fusable.has(node.name);
  }

  memory(): MemoryReport | undefined {
    return this.lastMemory;
  }

  async dispose(): Promise<void> {
    await this.ask({ kind: 'dispose' });
    await this.worker.terminate();
  }

  /** Grows the staging buffer to at least `floats` (a new one, handed to the worker). */
  private async stage(floats: number): Promise<void> {
    if (this.staging.length >= floats) return;
    const staging = new SharedArrayBuffer(Math.max(floats, 2 * this.staging.length) * 4);
    await this.ask({ kind: 'stage', staging });
    this.staging = new Float32Array(staging);
  }

  private ask(request: Request): Promise<Reply> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id });
    });
  }
}
