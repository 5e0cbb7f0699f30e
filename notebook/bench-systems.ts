// The systems the benchmark page times, each loaded on the same graph, weights and input: ours on
// WASM (1…N threads, the Web Worker pool) and on WebGPU (each adapter the browser offers), and the
// peers, TensorFlow.js (wasm, webgpu) and onnxruntime-web (wasm, webgpu), bundled by vite from
// their npm packages. Each loader answers a forward that returns the output probabilities.
import * as ort from 'onnxruntime-web/webgpu';
import tfjsWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import tfjsWasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import tfjsWasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { wasmBackend } from '../src/backends/wasm/index.js';
import type { WebGpuOptions } from '../src/backends/webgpu/index.js';
import { describeAdapter, isSoftwareAdapter, webgpuBackend } from '../src/backends/webgpu/index.js';
import type { Graph } from '../src/graph/index.js';
import { writeOnnx } from '../src/io/onnx.js'; // not io/index.js: its file writers import node:crypto
import type { NodeTiming } from '../src/runtime/index.js';
import { loadGraph } from '../src/runtime/index.js';
import type { Weights } from '../src/runtime/index.js';
import type { Tensor } from '../src/tensor.js';
import { loadTfjsPeer } from '../bench/peers/tfjs.js';

export type SystemKind = 'wasm' | 'webgpu' | 'tfjs-wasm' | 'tfjs-webgpu' | 'ort-web' | 'ort-web-webgpu';

/** A WebGPU adapter the browser offers, and how to ask for it again (a device consumes its adapter). */
export interface OfferedAdapter {
  readonly options: GPURequestAdapterOptions;
  readonly name: string;
  readonly vendor: string;
  readonly architecture: string;
  readonly software: boolean;
}

export interface SystemSpec {
  readonly kind: SystemKind;
  /** WASM threads (ours, tfjs-wasm, ort-web). */
  readonly threads: number;
  /** Ours on WebGPU: which adapter. */
  readonly adapter?: OfferedAdapter;
}

export interface LoadedSystem {
  forward(x: Tensor): Promise<Float32Array>;
  /** Ours only: one run's per-layer times (WebGPU waits for each node, so they are GPU times). */
  layers?(x: Tensor): Promise<readonly NodeTiming[]>;
  readonly details: string;
  dispose(): Promise<void>;
}

/** Every distinct adapter behind the three ways of asking (high-performance, low-power, the fallback). */
export async function offeredAdapters(): Promise<OfferedAdapter[]> {
  const gpu = navigator.gpu;
  if (!gpu) return [];
  const found: OfferedAdapter[] = [];
  for (const options of [{ powerPreference: 'high-performance' }, { powerPreference: 'low-power' }, { forceFallbackAdapter: true }] as GPURequestAdapterOptions[]) {
    const adapter = await gpu.requestAdapter(options).catch(() => null);
    if (!adapter) continue;
    const { info } = adapter;
    const name = describeAdapter(info);
    if (found.some((a) => a.name === name && a.vendor === info.vendor && a.architecture === info.architecture)) continue;
    found.push({ options, name, vendor: info.vendor, architecture: info.architecture, software: isSoftwareAdapter(info) });
  }
  return found;
}

/** A GPU that answers with this adapter each time it is asked (the backend asks once per device). */
export function gpuOf(adapter: OfferedAdapter): GPU {
  return { requestAdapter: () => navigator.gpu.requestAdapter(adapter.options) } as GPU;
}

export function systemLabel(spec: SystemSpec): string {
  switch (spec.kind) {
    case 'wasm':
      return `ours, wasm, ${spec.threads} thread${spec.threads > 1 ? 's' : ''}`;
    case 'webgpu':
      // the adapter is named in full beside it; two adapters are told apart by vendor
      return spec.adapter?.vendor ? `ours, webgpu (${spec.adapter.vendor})` : 'ours, webgpu';
    case 'tfjs-wasm':
      return 'TensorFlow.js wasm';
    case 'tfjs-webgpu':
      return 'TensorFlow.js webgpu';
    case 'ort-web':
      return 'onnxruntime-web wasm';
    case 'ort-web-webgpu':
      return 'onnxruntime-web webgpu';
  }
}

// onnxruntime-web reads its thread count once, at its first session
let ortThreads: number | undefined;

export async function loadSystem(spec: SystemSpec, graph: Graph, weights: Weights): Promise<LoadedSystem> {
  if (spec.kind === 'wasm' || spec.kind === 'webgpu') {
    const gpuOptions: { -readonly [K in keyof WebGpuOptions]: WebGpuOptions[K] } = { syncEachNode: false };
    if (spec.adapter) gpuOptions.gpus = [gpuOf(spec.adapter)];
    const session = await loadGraph(graph, spec.kind === 'webgpu' ? webgpuBackend(gpuOptions) : wasmBackend({ threads: spec.threads }), weights);
    return {
      forward: async (x) => (await session.run(x)).output.data,
      async layers(x) {
        gpuOptions.syncEachNode = true;
        try {
          return (await session.run(x)).timings;
        } finally {
          gpuOptions.syncEachNode = false;
        }
      },
      details: session.details ?? '',
      dispose: async () => session.dispose(),
    };
  }
  if (spec.kind === 'tfjs-wasm' || spec.kind === 'tfjs-webgpu') {
    const wasmPaths = { 'tfjs-backend-wasm.wasm': tfjsWasm, 'tfjs-backend-wasm-simd.wasm': tfjsWasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': tfjsWasmThreaded };
    const peer = await loadTfjsPeer(spec.kind, graph, weights, spec.threads, { wasmPaths });
    return { forward: (x) => peer.forward(x), details: peer.details, dispose: async () => peer.dispose() };
  }
  ort.env.wasm.wasmPaths = new URL('./ort/', location.href).href; // vite.config.ts's ortRuntime
  if (ortThreads === undefined) ort.env.wasm.numThreads = ortThreads = spec.threads;
  const webgpu = spec.kind === 'ort-web-webgpu';
  const session = await ort.InferenceSession.create(writeOnnx(graph, weights), { executionProviders: [webgpu ? 'webgpu' : 'wasm'], graphOptimizationLevel: 'all' });
  const threads = ort.env.wasm.numThreads ?? 1;
  return {
    async forward(x) {
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x.data, [...x.shape]) });
      return out[session.outputNames[0]].data as Float32Array;
    },
    details: webgpu ? 'WebGPU execution provider, default adapter' : `wasm SIMD, ${threads} thread${threads > 1 ? 's' : ''}`,
    dispose: () => session.release(),
  };
}
