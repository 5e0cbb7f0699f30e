// TensorFlow.js as a benchmark peer: the project's graph rebuilt from tfjs ops on the same weights,
// run by tfjs-backend-wasm or by tfjs-backend-webgpu on Dawn (the `webgpu` package). tfjs is NHWC,
// so weights are laid out for it once at load, and the NCHW input is transposed inside forward
// (part of what it costs tfjs to take the project's input, as ort and our backends copy theirs).
import * as tf from '@tensorflow/tfjs-core';
import { defaultGpu, describeAdapter, requestAdapter } from '../../src/backends/webgpu/index.js';
import { BackendError } from '../../src/errors.js';
import type { Graph, GraphNode } from '../../src/graph/index.js';
import { windowOf } from '../../src/graph/index.js';
import type { Tensor } from '../../src/tensor.js';
import type { Weights } from '../../src/runtime/index.js';

export const TFJS_SYSTEMS = ['tfjs-wasm', 'tfjs-webgpu'] as const;
export type TfjsSystem = (typeof TFJS_SYSTEMS)[number];

export interface TfjsPeer {
  /** The output probabilities of a [N, C, H, W] batch. */
  forward(input: Tensor): Promise<Float32Array>;
  dispose(): void;
  /** What runs it: SIMD and threads, or the adapter. */
  readonly details: string;
}

type Layer = (x: tf.Tensor) => tf.Tensor;

/** How a bundled page runs tfjs-backend-wasm: where the bundler put its .wasm files. */
export interface TfjsInPage {
  readonly wasmPaths: Record<string, string>;
}

/**
 * `threads` is asked of tfjs-wasm (which gets 1 in Node and in a bundled page, see useWasm);
 * tfjs-webgpu has none to set.
 */
export async function loadTfjsPeer(system: TfjsSystem, graph: Graph, weights: Weights, threads: number, page?: TfjsInPage): Promise<TfjsPeer> {
  const { details, maxBindingBytes } = system === 'tfjs-wasm' ? await useWasm(threads, page) : await useWebgpu();
  tf.enableProdMode(); // no per-op NaN checks or debug validation, as an application would run it
  const held: tf.Tensor[] = [];
  let layers: Layer[] = [];
  tf.tidy(() => {
    layers = buildLayers(graph, weights, maxBindingBytes, (t) => (held.push(tf.keep(t)), t));
  });
  return {
    async forward(input) {
      const [n, c, h, w] = input.shape;
      const y = tf.tidy(() => layers.reduce<tf.Tensor>((x, layer) => layer(x), tf.transpose(tf.tensor4d(input.data, [n, c, h, w]), [0, 2, 3, 1])));
      const data = (await y.data()) as Float32Array;
      y.dispose();
      return data;
    },
    dispose: () => tf.dispose(held),
    details,
  };
}

async function setBackend(name: string): Promise<void> {
  // setBackend logs a failed init and answers false rather than throwing
  if (!(await tf.setBackend(name))) throw new BackendError('TFJS_BACKEND', `tfjs backend "${name}" failed to initialise (its error is logged above)`);
}

interface TfjsBackend {
  readonly details: string;
  /** The most bytes one tensor may have as a kernel's input (WebGPU's storage binding limit). */
  readonly maxBindingBytes: number;
}

async function useWasm(threads: number, page?: TfjsInPage): Promise<TfjsBackend> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (page) {
    wasm.setWasmPaths(page.wasmPaths);
    // its threaded build's pthread workers run a copy of the bundle's glue code that the bundler
    // has renamed, and die on start ("e is not defined", tfjs issue 4107), after which setBackend
    // never settles: the single-threaded SIMD build, as tfjs's maintainers advise there
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  }
  // Only the threaded build reads it, and tfjs-backend-wasm never picks that build in Node
  // (WASM_HAS_MULTITHREAD_SUPPORT is false there): forced on, it starts its pthread workers from a
  // blob: URL, which Node's worker_threads refuses (ERR_WORKER_PATH). So 1 thread, whatever THREADS.
  wasm.setThreadsCount(threads);
  await setBackend('wasm');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threaded = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const used = wasm.getThreadsCount();
  const why = page ? ": tfjs's threaded build cannot start its workers in a bundled page" : ': tfjs has no wasm threads in Node';
  const details = `wasm ${simd ? 'SIMD' : 'no SIMD'}, ${used} thread${used > 1 ? 's' : ''}${threaded ? '' : why}`;
  return { details, maxBindingBytes: Infinity };
}

async function useWebgpu(): Promise<TfjsBackend> {
  // tfjs-backend-webgpu registers itself on import only if navigator.gpu exists, and uses the
  // WebGPU flag constants (GPUBufferUsage, ...) as globals: a browser has both; in Node, Dawn's
  // bindings provide them.
  const gpu = await defaultGpu();
  if (typeof window === 'undefined') {
    const { globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  }
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  await setBackend('webgpu');
  const backend = tf.backend();
  if (!(backend instanceof WebGPUBackend)) throw new BackendError('TFJS_BACKEND', 'tfjs backend "webgpu" is not tfjs-backend-webgpu\'s');
  // tfjs keeps only vendor and architecture of its adapter; the same default adapter, asked again, names it
  const details = describeAdapter((await requestAdapter(gpu)).info);
  return { details, maxBindingBytes: backend.device.limits.maxStorageBufferBindingSize };
}

/** One closure per node, a relu folded into the conv or linear before it; `hold` keeps a weight past the tidy. */
function buildLayers(graph: Graph, weights: Weights, maxBindingBytes: number, hold: <T extends tf.Tensor>(t: T) => T): Layer[] {
  const layers: Layer[] = [];
  const nodes = graph.nodes;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    const op = node.op;
    const activation = nodes[i + 1]?.op.type === 'relu' ? 'relu' : 'linear';
    switch (op.type) {
      case 'input':
      case 'dropout':
        break;
      case 'conv2d': {
        // [out, in/groups, k, k] -> [k, k, in/groups, out], then one filter and bias per group
        const weight = param(weights, node, 'weight');
        const filters = tf.split<tf.Tensor4D>(tf.transpose(tf.tensor4d(weight.data, weight.shape as [number, number, number, number]), [2, 3, 1, 0]), op.groups, 3).map(hold);
        const biases = tf.split(tf.tensor1d(param(weights, node, 'bias').data), op.groups).map(hold);
        layers.push((x) => {
          const parts = op.groups > 1 ? tf.split<tf.Tensor4D>(x, op.groups, 3) : [x as tf.Tensor4D];
          const win = windowOf(op);
          const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [win.top, win.bottom], [win.left, win.right], [0, 0]];
          const ys = parts.map((part, g) => tf.fused.conv2d({ x: part, filter: filters[g], strides: [win.sh, win.sw], pad, bias: biases[g], activation }));
          return ys.length > 1 ? tf.concat(ys, 3) : ys[0];
        });
        if (activation === 'relu') i++;
        break;
      }
      case 'linear': {
        // [out, in] -> [in, out] in blocks of outputs: fc6's weight (144 MiB) is larger than a WebGPU
        // storage binding may be (128 MiB on lavapipe), and tfjs does not split a tensor itself. Not
        // transposeB, which tfjs 4.22 gets wrong: wasm's fused matMul with a bias (rows past the
        // first), and webgpu's split-K matMul (fc6's last block, [1, 9216] x [456, 9216]ᵀ)
        const { shape: [out, inputs], data: weight } = param(weights, node, 'weight');
        const bias = param(weights, node, 'bias').data;
        const rowsPerBlock = Math.min(out, Math.floor(maxBindingBytes / (4 * inputs)));
        const blocks: { weight: tf.Tensor2D; bias: tf.Tensor1D }[] = [];
        for (let row = 0; row < out; row += rowsPerBlock) {
          const rows = Math.min(rowsPerBlock, out - row);
          const block = tf.transpose(tf.tensor2d(weight.subarray(row * inputs, (row + rows) * inputs), [rows, inputs]));
          blocks.push({ weight: hold(block), bias: hold(tf.tensor1d(bias.subarray(row, row + rows))) });
        }
        layers.push((x) => {
          const ys = blocks.map((b) => tf.fused.matMul({ a: x as tf.Tensor2D, b: b.weight, bias: b.bias, activation }));
          return ys.length > 1 ? tf.concat(ys, 1) : ys[0];
        });
        if (activation === 'relu') i++;
        break;
      }
      case 'relu':
        layers.push((x) => tf.relu(x));
        break;
      case 'lrn': {
        // tfjs: x / (bias + alpha·Σ x²)^beta over channels d-r..d+r, clipped at the tensor's edge;
        // groups are split apart so that the window stops at a group's edge, as the project's does
        const depthRadius = Math.floor(op.size / 2);
        const alpha = op.alphaOverSize ? op.alpha / op.size : op.alpha;
        const lrn = (x: tf.Tensor4D): tf.Tensor4D => tf.localResponseNormalization(x, depthRadius, op.k, alpha, op.beta);
        layers.push((x) => (op.groups > 1 ? tf.concat(tf.split<tf.Tensor4D>(x, op.groups, 3).map(lrn), 3) : lrn(x as tf.Tensor4D)));
        break;
      }
      case 'maxpool2d':
        layers.push((x) => {
          const win = windowOf(op);
          return tf.maxPool(x as tf.Tensor4D, [win.kh, win.kw], [win.sh, win.sw], 'valid');
        });
        break;
      case 'flatten':
        // the project flattens C, H, W: back to NCHW first, so that fc6's rows line up
        layers.push((x) => tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [x.shape[0], -1]));
        break;
      case 'softmax':
        layers.push((x) => tf.softmax(x));
        break;
      default:
        throw new BackendError('TFJS_OP', `node "${node.name}": op ${op.type} has no tfjs mapping in the benchmark peer`);
    }
  }
  return layers;
}

function param(weights: Weights, node: GraphNode, kind: 'weight' | 'bias'): Tensor {
  const t = weights.get(`${node.name}.${kind}`);
  if (!t) throw new BackendError('TFJS_WEIGHTS', `no ${node.name}.${kind} in the weights`);
  return t;
}
