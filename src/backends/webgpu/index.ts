// The WebGPU backend: the WGSL kernels beside this file on one GPUDevice per loaded graph (so the
// two devices of a partitioned graph are two GPUDevices, each from its own adapter request). The
// GPU object is injected: a browser's navigator.gpu, or in Node the `webgpu` package (Dawn), which
// needs a Vulkan driver — on a machine without a GPU, Mesa's lavapipe (scripts/install-lavapipe.sh).
//
// Every node's output has a buffer of its own, made at the first run of a batch size and reused by
// every later run; flatten and dropout are views of their input. Pipelines are made at first use,
// once per device. Weights are uploaded at load; a weight matrix larger than the device's largest storage
// binding is kept in several buffers of whole rows.
import { BackendError } from '../../errors.js';
import type { Graph, GraphNode } from '../../graph/index.js';
import { windowOf } from '../../graph/index.js';
import type { Tensor } from '../../tensor.js';
import { sizeOf, tensor } from '../../tensor.js';
import type { Backend, Executor, Handle, MemoryReport } from '../backend.js';

export interface WebGpuOptions {
  /**
   * The GPUs to request adapters from, one per load in turn (so the devices of a partitioned graph
   * can be different GPUs: in Node, Dawn's create(['adapter=NAME']) gives each its own); default
   * navigator.gpu in a browser, the `webgpu` package (Dawn's default adapter) in Node.
   */
  readonly gpus?: readonly GPU[];
  /** Caps the bytes one storage binding may hold (to test weight splitting); default the adapter's limit. */
  readonly maxBindingBytes?: number;
  /** Wait for each node's work to finish, so the runtime's per-node times are GPU times. Default false. */
  readonly syncEachNode?: boolean;
  /**
   * The kernels for conv and FC: `tiled` (conv.wgsl's main, and linear.wgsl's gemm past 8 images:
   * workgroup memory, what a GPU wants), `direct` (conv.wgsl's direct, and gemv for every batch, 8
   * images per dispatch: no barriers, what a CPU-backed adapter wants), or `naive` (one output per
   * invocation: the kernel ladder's baseline). Default by the adapter: `direct` on a software one
   * (lavapipe, SwiftShader), `tiled` otherwise.
   */
  readonly kernels?: KernelChoice;
  /** WGSL text in place of a kernel file's (the kernel ladder's planted-bug test, a kernel in development). */
  readonly sources?: Partial<Record<KernelFile, string>>;
}

export const KERNEL_CHOICES = ['naive', 'tiled', 'direct'] as const;
export type KernelChoice = (typeof KERNEL_CHOICES)[number];

// The spec's flag values, so that nothing depends on browser globals (Node has none).
const STORAGE = 0x80;
const UNIFORM = 0x40;
const COPY_DST = 0x8;
const COPY_SRC = 0x4;
const MAP_READ = 0x1;
const MAP_MODE_READ = 0x1;

const KERNEL_FILES = ['conv', 'linear', 'maps', 'softmax'] as const;
/** Images per gemv dispatch (the size of linear.wgsl's accumulator arrays); past it, a GPU takes the tiled gemm. */
const GEMV_IMAGES = 8;

/**
 * linear.wgsl's gemv: invocations per feature (`split`) for rows of k weights, a power of two up to
 * 64 with at least 16 weights each: enough invocations per row for a GPU to stream the weights
 * (paper fc6: 4096 x 64), few enough that each has a run of work. A function of k alone, so an
 * output is summed in the same order whatever the batch, the device or the rows a partition gives it.
 */
export function gemvSplit(k: number): number {
  return Math.min(64, 2 ** Math.floor(Math.log2(Math.max(1, k / 16))));
}
export type KernelFile = (typeof KERNEL_FILES)[number];

/** conv.wgsl's `direct` weights: [O, C/groups, kh, kw] as [group][block of 8 channels][k][8], zeros past a group's last channel. */
export function packDirectConv(w: Tensor, groups: number): Float32Array {
  const [o] = w.shape;
  const k = sizeOf(w.shape) / o;
  const og = o / groups;
  const blocks = Math.ceil(og / 8);
  const packed = new Float32Array(groups * blocks * k * 8);
  for (let g = 0; g < groups; g++) {
    for (let oc = 0; oc < og; oc++) {
      const at = ((g * blocks + Math.floor(oc / 8)) * k) * 8 + (oc % 8);
      const row = (g * og + oc) * k;
      for (let i = 0; i < k; i++) packed[at + i * 8] = w.data[row + i];
    }
  }
  return packed;
}

let nodeGpu: Promise<GPU> | undefined;

/**
 * The GPU of this environment, or a clear error saying how to get one. In Node it is made once and
 * kept: Dawn's instance must outlive every device made from it (a collected one takes its
 * devices' pending work down with it).
 */
export function defaultGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return Promise.resolve(nav.gpu);
  nodeGpu ??= import('webgpu').then(
    ({ create }) => (create as (flags: string[]) => GPU)([]),
    (e: Error) => {
      nodeGpu = undefined;
      throw new BackendError('NO_WEBGPU', `WebGPU is not available here (${e.message}); in Node it comes from the 'webgpu' package`);
    },
  );
  return nodeGpu;
}

/** The adapter for people; a software one (lavapipe, llvmpipe, SwiftShader) is labelled as the CPU it runs on. */
export function describeAdapter(info: GPUAdapterInfo): string {
  // Dawn in Node names the driver in description; Chrome leaves it empty (its fallback adapter: vendor google, architecture swiftshader)
  const name = info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'unnamed adapter';
  return isSoftwareAdapter(info) ? `WebGPU on software Vulkan (CPU): ${name}` : name;
}

/** A CPU pretending to be a GPU: Mesa's lavapipe (llvmpipe) or Chrome's SwiftShader. */
export function isSoftwareAdapter(info: GPUAdapterInfo): boolean {
  return info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${info.description} ${info.device} ${info.architecture}`);
}

/** Finds a GPU adapter, or fails saying how to get one (no GPU: Mesa's lavapipe). */
export async function requestAdapter(gpu: GPU): Promise<GPUAdapter> {
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    throw new BackendError('NO_ADAPTER', 'no WebGPU adapter: this machine has no GPU or Vulkan driver; on Debian, scripts/install-lavapipe.sh installs Mesa\'s software one (lavapipe)');
  }
  return adapter;
}

export function webgpuBackend(options: WebGpuOptions = {}): Backend {
  let loads = 0;
  return {
    name: 'webgpu',
    async load(graph, params) {
      const gpus = options.gpus?.length ? options.gpus : [await defaultGpu()];
      const adapter = await requestAdapter(gpus[loads++ % gpus.length]);
      const device = await adapter.requestDevice({
        requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
      });
      return WebGpuExecutor.create(graph, params, device, adapter.info, options);
    },
  };
}

const wgslCache = new Map<KernelFile, Promise<string>>();

async function readWgsl(file: KernelFile): Promise<string> {
  let text = wgslCache.get(file);
  if (!text) {
    const url = new URL(`./${file}.wgsl`, import.meta.url);
    text =
      url.protocol === 'file:'
        ? import('node:fs/promises').then(({ readFile }) => readFile(url, 'utf8'))
        : fetch(url).then((r) => r.text());
    wgslCache.set(file, text);
  }
  return text;
}

/** A compute pipeline from WGSL, or a BackendError carrying the compiler's messages with their lines. */
export async function compilePipeline(device: GPUDevice, code: string, entryPoint: string, label: string, constants?: Record<string, number>): Promise<GPUComputePipeline> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code, label });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint, constants }, label: `${label}:${entryPoint}` });
  const error = await device.popErrorScope();
  if (error) {
    const info = await module.getCompilationInfo();
    const messages = info.messages.filter((m) => m.type === 'error').map((m) => `${label}:${m.lineNum}:${m.linePos}: ${m.message}`);
    throw new BackendError('WGSL', `${label} does not compile: ${messages.length ? messages.join('; ') : error.message}`);
  }
  return pipeline;
}

/** One dispatch of a node's compute pass. */
interface Dispatch {
  readonly pipeline: GPUComputePipeline;
  readonly group: GPUBindGroup;
  readonly workgroups: [number, number, number];
}

interface GpuTensor extends Handle {
  readonly buffer: GPUBuffer;
}

/** A node's packed weights: one or more buffers of whole rows, and the bias. */
interface NodeWeights {
  readonly chunks: { buffer: GPUBuffer; rowBase: number; rows: number }[];
  readonly bias: GPUBuffer;
}

class WebGpuExecutor implements Executor<GpuTensor> {
  private readonly outputs = new Map<string, GPUBuffer>(); // `${node}@${batch}`
  /** Compiled on first use, once per device. */
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();
  private readonly bindGroups = new Map<string, Dispatch[]>();
  private readonly scratch = new Map<string, GPUBuffer>(); // gemv's partial sums, per `${node}@${batch}`
  private scratchBytes = 0;
  private readback: GPUBuffer | undefined;
  private lost: string | undefined;
  private activationBytes = 0;

  private constructor(
    private readonly device: GPUDevice,
    private readonly weights: ReadonlyMap<string, NodeWeights>,
    private readonly weightBytes: number,
    readonly details: string,
    private readonly kernels: KernelChoice,
    private readonly options: WebGpuOptions,
  ) {
    void device.lost.then((info) => {
      this.lost = info.message || info.reason;
    });
  }

  static async create(graph: Graph, params: ReadonlyMap<string, readonly Tensor[]>, device: GPUDevice, info: GPUAdapterInfo, options: WebGpuOptions): Promise<WebGpuExecutor> {
    const maxBinding = Math.min(options.maxBindingBytes ?? Infinity, device.limits.maxStorageBufferBindingSize);
    const kernels = options.kernels ?? (isSoftwareAdapter(info) ? 'direct' : 'tiled');
    const weights = new Map<string, NodeWeights>();
    let weightBytes = 0;
    const upload = (data: Float32Array, label: string): GPUBuffer => {
      const buffer = device.createBuffer({ size: Math.max(16, data.byteLength), usage: STORAGE | COPY_DST, label });
      device.queue.writeBuffer(buffer, 0, data as Float32Array<ArrayBuffer>);
      weightBytes += data.byteLength;
      return buffer;
    };
    for (const node of graph.nodes) {
      const [w, b] = params.get(node.name) ?? [];
      if (!w) continue;
      if (node.op.type === 'conv2d' && kernels === 'direct') {
        const packed = packDirectConv(w, node.op.groups);
        if (packed.byteLength > maxBinding) throw new BackendError('WEIGHTS_TOO_LARGE', `${node.name}'s weights (${packed.byteLength} bytes) exceed one storage binding (${maxBinding} bytes)`);
        weights.set(node.name, { chunks: [{ buffer: upload(packed, `${node.name}.weight`), rowBase: 0, rows: w.shape[0] }], bias: upload(b.data, `${node.name}.bias`) });
        continue;
      }
      const rowFloats = sizeOf(w.shape) / w.shape[0];
      const rowsPerChunk = Math.max(1, Math.floor(maxBinding / 4 / rowFloats));
      const chunks = [];
      for (let row = 0; row < w.shape[0]; row += rowsPerChunk) {
        const rows = Math.min(rowsPerChunk, w.shape[0] - row);
        chunks.push({ buffer: upload(w.data.subarray(row * rowFloats, (row + rows) * rowFloats), `${node.name}.weight[${row}]`), rowBase: row, rows });
      }
      if (node.op.type === 'conv2d' && chunks.length > 1) {
        throw new BackendError('WEIGHTS_TOO_LARGE', `${node.name}'s weights (${w.data.byteLength} bytes) exceed one storage binding (${maxBinding} bytes)`);
      }
      weights.set(node.name, { chunks, bias: upload(b.data, `${node.name}.bias`) });
    }
    return new WebGpuExecutor(device, weights, weightBytes, describeAdapter(info), kernels, options);
  }

  canFuseRelu(node: GraphNode): boolean {
    return node.op.type === 'conv2d' || node.op.type === 'linear';
  }

  place(node: GraphNode, x: Tensor): GpuTensor {
    this.check();
    const buffer = this.outputBuffer(node, x.shape[0]);
    this.device.queue.writeBuffer(buffer, 0, x.data as Float32Array<ArrayBuffer>);
    return { shape: x.shape, buffer };
  }

  async run(node: GraphNode, inputs: readonly GpuTensor[], reluAfter: boolean): Promise<GpuTensor> {
    this.check();
    const [x] = inputs;
    const n = x.shape[0];
    const shape = [n, ...node.shape];
    const { op } = node;
    if (op.type === 'flatten' || op.type === 'dropout') return { shape, buffer: x.buffer }; // views
    if (op.type === 'input' || op.type === 'transfer') throw new Error(`a${op.type === 'input' ? 'n input' : ' transfer'} node is placed by place(), not run`);
    const y = this.outputBuffer(node, n);
    const encoder = this.device.createCommandEncoder({ label: node.name });
    if (op.type === 'concat' || op.type === 'slice') {
      // per sample, contiguous blocks: buffer-to-buffer copies
      const per = sizeOf(node.shape) * 4;
      for (let s = 0; s < n; s++) {
        if (op.type === 'concat') {
          let at = s * per;
          for (const t of inputs) {
            const block = (sizeOf(t.shape) / n) * 4;
            encoder.copyBufferToBuffer(t.buffer, s * block, y, at, block);
            at += block;
          }
        } else {
          const [c, ...rest] = node.inputShapes[0];
          const inner = sizeOf(rest) * 4;
          encoder.copyBufferToBuffer(x.buffer, (s * c + op.from) * inner, y, s * per, (op.to - op.from) * inner);
        }
      }
    } else {
      const pass = encoder.beginComputePass({ label: node.name });
      for (const { pipeline, group, workgroups } of await this.bind(node, n, x.buffer, y, reluAfter)) {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(...workgroups);
      }
      pass.end();
    }
    this.device.pushErrorScope('validation');
    this.device.queue.submit([encoder.finish()]);
    const error = await this.device.popErrorScope();
    if (error) throw new BackendError('WEBGPU', `node "${node.name}" (${op.type}): ${error.message}`);
    if (this.options.syncEachNode) await this.device.queue.onSubmittedWorkDone();
    return { shape, buffer: y };
  }

  async read(h: GpuTensor): Promise<Tensor> {
    this.check();
    const bytes = sizeOf(h.shape) * 4;
    if (!this.readback || this.readback.size < bytes) {
      this.readback?.destroy();
      this.readback = this.device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST, label: 'readback' });
    }
    const readback = this.readback;
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(h.buffer, 0, readback, 0, bytes);
    this.device.queue.submit([encoder.finish()]);
    await readback.mapAsync(MAP_MODE_READ, 0, bytes);
    const data = new Float32Array(readback.getMappedRange(0, bytes).slice(0));
    readback.unmap();
    this.check();
    return tensor(h.shape, data);
  }

  memory(): MemoryReport {
    return { weights: this.weightBytes, activations: this.activationBytes, scratch: this.scratchBytes, total: this.weightBytes + this.activationBytes + this.scratchBytes };
  }

  dispose(): void {
    this.device.destroy();
  }

  private check(): void {
    if (this.lost !== undefined) throw new BackendError('DEVICE_LOST', `the WebGPU device was lost: ${this.lost}`);
  }

  private outputBuffer(node: GraphNode, batch: number): GPUBuffer {
    const key = `${node.name}@${batch}`;
    let buffer = this.outputs.get(key);
    if (!buffer) {
      const bytes = Math.max(16, batch * sizeOf(node.shape) * 4);
      buffer = this.device.createBuffer({ size: bytes, usage: STORAGE | COPY_SRC | COPY_DST, label: key });
      this.activationBytes += bytes;
      this.outputs.set(key, buffer);
    }
    return buffer;
  }

  private scratchBuffer(key: string, bytes: number): GPUBuffer {
    let buffer = this.scratch.get(key);
    if (!buffer) {
      buffer = this.device.createBuffer({ size: Math.max(16, bytes), usage: STORAGE, label: `${key}:scratch` });
      this.scratchBytes += buffer.size;
      this.scratch.set(key, buffer);
    }
    return buffer;
  }

  private uniform(values: readonly [number, 'u32' | 'f32'][]): GPUBuffer {
    const data = new ArrayBuffer(Math.ceil((values.length * 4) / 16) * 16);
    const view = new DataView(data);
    values.forEach(([v, type], i) => (type === 'u32' ? view.setUint32(i * 4, v, true) : view.setFloat32(i * 4, v, true)));
    const buffer = this.device.createBuffer({ size: data.byteLength, usage: UNIFORM | COPY_DST });
    this.device.queue.writeBuffer(buffer, 0, data);
    return buffer;
  }

  private pipeline(file: KernelFile, entry: string, constants?: Record<string, number>): Promise<GPUComputePipeline> {
    const key = `${file}:${entry}:${JSON.stringify(constants ?? {})}`;
    let made = this.pipelines.get(key);
    if (!made) {
      const source = this.options.sources?.[file];
      made = (source !== undefined ? Promise.resolve(source) : readWgsl(file)).then((code) => compilePipeline(this.device, code, entry, `${file}.wgsl`, constants));
      this.pipelines.set(key, made);
    }
    return made;
  }

  /** The pipeline, bind groups and dispatch sizes of a node at a batch size: made once, then reused. */
  private async bind(node: GraphNode, n: number, x: GPUBuffer, y: GPUBuffer, relu: boolean) {
    // the output buffer is fixed per batch size; the input is not: a ReLU fused into the node before
    // in one run (nobody kept its output) and run on its own in the next gives the input another buffer
    const key = `${node.name}@${n}@${relu}@${x.label}`;
    const cached = this.bindGroups.get(key);
    if (cached) return cached;
    /** A dispatch; buffers[i] goes to @binding(i), an undefined one is a binding the entry point does not use. */
    const dispatch = (pipeline: GPUComputePipeline, buffers: (GPUBuffer | undefined)[], workgroups: [number, number, number]): Dispatch => ({
      pipeline,
      group: this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: buffers.flatMap((buffer, binding) => (buffer ? [{ binding, resource: { buffer } }] : [])) }),
      workgroups,
    });
    /** Workgroups for `count` items at 256 per group, over x and (past 65535) y. */
    const spread = (count: number): [number, number, number] => {
      const groups = Math.ceil(count / 256);
      return [Math.min(groups, 65535), Math.ceil(groups / 65535), 1];
    };
    const u = (v: number): [number, 'u32'] => [v, 'u32'];
    const f = (v: number): [number, 'f32'] => [v, 'f32'];
    const { op } = node;
    const count = n * sizeOf(node.shape);
    let made: Dispatch[];
    switch (op.type) {
      case 'conv2d': {
        const [c, h, w] = node.inputShapes[0];
        const [o, oh, ow] = node.shape;
        const pipeline = await this.pipeline('conv', this.kernels === 'tiled' ? 'main' : this.kernels);
        const { chunks, bias } = this.weights.get(node.name)!;
        const win = windowOf(op);
        const params = this.uniform([u(c), u(h), u(w), u(o), u(oh), u(ow), u(win.kh), u(win.kw), u(win.sh), u(win.sw), u(win.top), u(win.left), u(op.groups), u(relu ? 1 : 0)]);
        const og = o / op.groups;
        const workgroups: [number, number, number] =
          this.kernels === 'direct'
            ? [Math.ceil((oh * ow) / 4 / 64), Math.ceil(og / 8), n * op.groups]
            : this.kernels === 'naive'
              ? [Math.ceil((oh * ow) / 64), o, n]
              : [Math.ceil((oh * ow) / 64), Math.ceil(og / 64), n * op.groups];
        made = [dispatch(pipeline, [params, x, chunks[0].buffer, bias, y], workgroups)];
        break;
      }
      case 'linear': {
        const k = node.inputShapes[0][0];
        const { chunks, bias } = this.weights.get(node.name)!;
        const params = (rows: number, rowBase: number, split = 0, image0 = 0) => this.uniform([u(n), u(k), u(op.out), u(rowBase), u(rows), u(relu ? 1 : 0), u(split), u(image0)]);
        if (this.kernels === 'naive') {
          const pipeline = await this.pipeline('linear', 'naive');
          made = chunks.map((c) => dispatch(pipeline, [params(c.rows, c.rowBase), x, c.buffer, bias, y], [Math.ceil(c.rows / 64), n, 1]));
          break;
        }
        if (n > GEMV_IMAGES && this.kernels === 'tiled') {
          const pipeline = await this.pipeline('linear', 'gemm');
          made = chunks.map((c) => dispatch(pipeline, [params(c.rows, c.rowBase), x, c.buffer, bias, y], [Math.ceil(n / 64), Math.ceil(c.rows / 64), 1]));
          break;
        }
        const split = gemvSplit(k);
        const rowsMax = Math.max(...chunks.map((c) => c.rows));
        const scratch = this.scratchBuffer(`${node.name}@${n}`, Math.min(n, GEMV_IMAGES) * rowsMax * split * 4); // reused by each dispatch in turn
        made = [];
        for (let image0 = 0; image0 < n; image0 += GEMV_IMAGES) {
          const images = Math.min(GEMV_IMAGES, n - image0);
          const [partial, sum] = await Promise.all([this.pipeline('linear', k % 4 === 0 ? 'gemv4' : 'gemv', { IMAGES: images }), this.pipeline('linear', 'gemvSum', { IMAGES: images })]);
          for (const c of chunks) {
            const p = params(c.rows, c.rowBase, split, image0);
            made.push(dispatch(partial, [p, x, c.buffer, undefined, undefined, scratch], spread(c.rows * split)), dispatch(sum, [p, undefined, undefined, bias, y, scratch], spread(images * c.rows)));
          }
        }
        break;
      }
      case 'relu':
      case 'lrn':
      case 'maxpool2d':
      case 'avgpool2d':
      case 'adaptiveavgpool2d': {
        const [c, h, w] = node.inputShapes[0].length === 3 ? node.inputShapes[0] : [node.inputShapes[0][0], 1, 1];
        const [, oh, ow] = node.shape.length === 3 ? node.shape : [0, 1, 1];
        const entry = op.type === 'maxpool2d' ? 'maxpool' : op.type === 'relu' || op.type === 'lrn' ? op.type : 'avgpool';
        const pipeline = await this.pipeline('maps', entry);
        const win = op.type === 'maxpool2d' || op.type === 'avgpool2d' ? windowOf(op) : undefined;
        const lrn = op.type === 'lrn' ? op : undefined;
        const params = this.uniform([
          u(count), u(c), u(h), u(w), u(oh), u(ow),
          u(win?.kh ?? 0), u(win?.kw ?? 0), u(win?.sh ?? 0), u(win?.sw ?? 0), u(win?.top ?? 0), u(win?.left ?? 0), u(win?.bottom ?? 0), u(win?.right ?? 0),
          u(op.type === 'avgpool2d' && op.countIncludePad ? 1 : 0), u(op.type === 'adaptiveavgpool2d' ? 1 : 0),
          u(lrn?.size ?? 0), u(lrn?.groups ?? 1), f(lrn ? (lrn.alphaOverSize ? lrn.alpha / lrn.size : lrn.alpha) : 0), f(lrn?.beta ?? 0), f(lrn?.k ?? 0),
        ]);
        made = [dispatch(pipeline, [params, x, y], op.type === 'lrn' ? [Math.ceil((h * w) / 256), c, n] : spread(count))];
        break;
      }
      case 'softmax': {
        const pipeline = await this.pipeline('softmax', 'main');
        made = [dispatch(pipeline, [this.uniform([u(node.shape[0])]), x, y], [n, 1, 1])];
        break;
      }
      default:
        throw new Error(`no kernel binding for ${op.type}`);
    }
    this.bindGroups.set(key, made);
    return made;
  }
}
