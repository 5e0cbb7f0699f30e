// A worker thread hosting one device of a partitioned graph on the wasm backend (see devices.ts):
// its own WebAssembly instance and memory, its own part of the graph and of the weights. It answers
// place / run / read / dispose requests; tensors cross only as transfers' payloads.
import { parentPort, workerData } from 'node:worker_threads';
import { Graph } from '../../graph/index.js';
import type { NodeSpec } from '../../graph/index.js';
import type { Tensor } from '../../tensor.js';
import { copyFloats, sizeOf, tensor } from '../../tensor.js';
import type { Executor, Handle } from '../backend.js';
import { wasmBackend } from './index.js';
import type { WasmOptions } from './index.js';

export interface DeviceWorkerData {
  readonly specs: readonly NodeSpec[];
  readonly params: readonly [string, readonly Tensor[]][];
  readonly options: WasmOptions;
}

/** Tensors travel through `staging`, a SharedArrayBuffer both sides copy into and out of: posting them costs milliseconds. */
export type DeviceRequest =
  | { readonly id: number; readonly kind: 'stage'; readonly staging: SharedArrayBuffer }
  | { readonly id: number; readonly kind: 'place'; readonly node: string; readonly shape: readonly number[] }
  | { readonly id: number; readonly kind: 'run'; readonly node: string; readonly inputs: readonly Handle[]; readonly relu: boolean }
  | { readonly id: number; readonly kind: 'read'; readonly handle: Handle }
  | { readonly id: number; readonly kind: 'dispose' };

const port = parentPort!;
const { specs, params, options } = workerData as DeviceWorkerData;
const graph = new Graph(specs);
let executor: Executor;
try {
  executor = await wasmBackend(options).load(graph, new Map(params));
  port.postMessage({ ready: true, details: executor.details, fusable: graph.nodes.filter((n) => executor.canFuseRelu?.(n)).map((n) => n.name) });
} catch (e) {
  port.postMessage({ ready: false, error: (e as Error).message });
  process.exit(1);
}

let staging = new Float32Array(new SharedArrayBuffer(0));
port.on('message', async (request: DeviceRequest) => {
  try {
    switch (request.kind) {
      case 'stage':
        staging = new Float32Array(request.staging);
        port.postMessage({ id: request.id });
        break;
      case 'place': {
        const x = tensor(request.shape, staging.subarray(0, sizeOf(request.shape)));
        port.postMessage({ id: request.id, handle: await executor.place(graph.node(request.node), x) });
        break;
      }
      case 'run': {
        const handle = await executor.run(graph.node(request.node), request.inputs, request.relu);
        port.postMessage({ id: request.id, handle, memory: executor.memory?.() });
        break;
      }
      case 'read': {
        const t = await executor.read(request.handle);
        copyFloats(staging, t.data);
        port.postMessage({ id: request.id, shape: t.shape });
        break;
      }
      case 'dispose':
        await executor.dispose();
        port.postMessage({ id: request.id });
        port.close();
        break;
    }
  } catch (e) {
    port.postMessage({ id: request.id, error: (e as Error).message });
  }
});
