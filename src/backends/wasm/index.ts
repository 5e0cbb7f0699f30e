// The wasm backend: the AssemblyScript SIMD kernels on one shared WebAssembly.Memory laid out as
//   [static data | thread control block | small per-thread buffers | packed weights | scratch | arena]
// Weights are packed once at load into what the kernels read (GEMM panels, Winograd's transformed
// filters; conv-plan.ts says which conv gets which); the scratch and the activation arena are sized
// per batch size, the arena from tensor lifetimes (plan.ts), and the memory grows to fit.
import { BackendError, UsageError } from '../../errors.js';
import type { Graph, GraphNode, Window } from '../../graph/index.js';
import { windowOf } from '../../graph/index.js';
import type { Tensor } from '../../tensor.js';
import { copyFloats, sizeOf, tensor } from '../../tensor.js';
import type { Backend, Executor, Handle, MemoryReport } from '../backend.js';
import { planConv, spaceToDepthWeights } from './conv-plan.js';
import type { ConvPlan } from './conv-plan.js';
import { chooseBuild, compileBuild, instantiate } from './module.js';
import type { Kernels, WasmBuild } from './module.js';
import { planArena } from './plan.js';
import type { ArenaPlan } from './plan.js';
import { CONTROL, ThreadPool } from './threads.js';
import { packWinograd, winogradFloats } from './winograd.js';

export { WASM_BUILDS } from './module.js';
export type { WasmBuild } from './module.js';

export interface WasmOptions {
  /** Threads, this one included. Default: the available cores. */
  readonly threads?: number;
  /** Kernel build; default ALEXNET_WASM, else relaxed where the engine accepts it. */
  readonly build?: WasmBuild;
  /** Testing only: random pauses of up to this many ms in the thread protocol (threads.ts), to widen its races. */
  readonly jitterMs?: number;
}

/** Columns per B panel (assembly/gemm.ts NR). */
const NR = 8;
const PAGE = 65536;

interface WasmTensor extends Handle {
  /** Byte offset in the memory. */
  readonly offset: number;
}

export function wasmBackend(options: WasmOptions = {}): Backend {
  const { threads, jitterMs = 0 } = options;
  if (threads !== undefined && !(Number.isSafeInteger(threads) && threads >= 1)) throw new UsageError('THREADS', `threads must be a positive integer, got ${threads}`);
  return {
    name: 'wasm',
    async load(graph, params) {
      const build = await chooseBuild(options.build);
      return WasmExecutor.create(graph, params, build, threads ?? (await cores()), jitterMs);
    },
  };
}

/**
 * The available cores: navigator's count where there is one (browsers, Node 21+), else node:os's,
 * imported only then so that a browser bundle never needs it. A page that is not cross-origin
 * isolated cannot share memory with workers: one.
 */
export async function cores(): Promise<number> {
  const browser = typeof process === 'undefined' || process.versions?.node === undefined;
  if (browser && !globalThis.crossOriginIsolated) return 1;
  const count = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return count ?? (await import('node:os')).availableParallelism();
}

const align = (n: number, to = 64): number => Math.ceil(n / to) * to;

/** Packs a row-major [rows x k] matrix and its biases into panels of `mr` rows: [mr biases][k x mr], zero-padded (assembly/gemm.ts). */
export function packPanels(w: Float32Array, bias: Float32Array, rows: number, k: number, mr: number, out: Float32Array): void {
  const panelFloats = mr * (k + 1);
  for (let r = 0; r < rows; r++) {
    const panel = Math.floor(r / mr) * panelFloats;
    const lane = r % mr;
    out[panel + lane] = bias[r];
    const row = w.subarray(r * k, (r + 1) * k);
    for (let i = 0; i < k; i++) out[panel + mr + i * mr + lane] = row[i];
  }
}

class WasmExecutor implements Executor<WasmTensor> {
  private plan: { batch: number; arena: ArenaPlan; arenaBase: number; scratchBytes: number } | undefined;

  private constructor(
    private readonly graph: Graph,
    private readonly wasmMemory: WebAssembly.Memory,
    private readonly kernels: Kernels,
    private readonly pool: ThreadPool,
    private readonly build: WasmBuild,
    /** Node name -> byte offset of its packed weights. */
    private readonly packed: ReadonlyMap<string, number>,
    private readonly convs: ReadonlyMap<string, ConvPlan>,
    private readonly weightsBytes: number,
    private readonly weightsEnd: number,
    /** Per-thread small buffers (kernels' `edges`): partial GEMM tiles, Winograd temporaries. */
    private readonly edges: number,
  ) {}

  static async create(graph: Graph, params: ReadonlyMap<string, readonly Tensor[]>, build: WasmBuild, threads: number, jitterMs: number): Promise<WasmExecutor> {
    const module = await compileBuild(build);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const kernels = instantiate(module, memory);
    const mr = kernels.panelRows();
    const control = align(kernels.heapBase());
    const edges = align(control + CONTROL.BYTES);
    let end = edges + threads * kernels.edgeBytes();

    // Lay out and fill the packed weights of every conv (A panels per group, or Winograd's U
    // matrices and the biases) and FC (B panels).
    const packed = new Map<string, number>();
    const convs = new Map<string, ConvPlan>();
    const layout: [GraphNode, number, number][] = [];
    for (const node of graph.nodes) {
      const { op } = node;
      let floats = 0;
      if (op.type === 'conv2d') {
        const plan = planConv({ ...node, op });
        convs.set(node.name, plan);
        floats = plan.winograd
          ? winogradFloats(plan.op, plan.c, mr) + op.out
          : op.groups * Math.ceil(op.out / op.groups / mr) * mr * ((plan.c / op.groups) * plan.window.kh * plan.window.kw + 1);
      } else if (op.type === 'linear') {
        floats = Math.ceil(op.out / NR) * NR * (node.inputShapes[0][0] + 1);
      } else continue;
      end = align(end);
      packed.set(node.name, end);
      layout.push([node, end, floats]);
      end += floats * 4;
    }
    grow(memory, end);
    for (const [node, offset, floats] of layout) {
      const out = new Float32Array(memory.buffer, offset, floats);
      const [w, b] = params.get(node.name)!;
      const plan = convs.get(node.name);
      if (plan?.winograd) {
        // [U panels][biases]
        packWinograd(plan.op, spaceToDepthWeights(w, plan), mr, out);
        out.set(b.data, winogradFloats(plan.op, plan.c, mr));
      } else if (plan) {
        const { groups, out: o } = plan.op;
        const og = o / groups;
        const k = sizeOf(w.shape.slice(1));
        const groupFloats = Math.ceil(og / mr) * mr * (k + 1);
        for (let g = 0; g < groups; g++) {
          packPanels(w.data.subarray(g * og * k, (g + 1) * og * k), b.data.subarray(g * og, (g + 1) * og), og, k, mr, out.subarray(g * groupFloats, (g + 1) * groupFloats));
        }
      } else {
        packPanels(w.data, b.data, w.shape[0], w.shape[1], NR, out);
      }
    }
    const pool = await ThreadPool.create(module, memory, kernels, control, threads, jitterMs);
    const weightsStart = layout.length ? layout[0][1] : end;
    return new WasmExecutor(graph, memory, kernels, pool, build, packed, convs, end - weightsStart, align(end), edges);
  }

  get details(): string {
    return `${this.build === 'relaxed' ? 'relaxed SIMD' : 'SIMD128'}, ${this.pool.threads} thread${this.pool.threads > 1 ? 's' : ''}`;
  }

  place(node: GraphNode, x: Tensor): WasmTensor {
    const plan = this.planFor(x.shape[0]);
    const offset = plan.arenaBase + plan.arena.offsets.get(node.name)!;
    copyFloats(new Float32Array(this.wasmMemory.buffer, offset, x.data.length), x.data);
    return { shape: x.shape, offset };
  }

  canFuseRelu(node: GraphNode): boolean {
    return node.op.type === 'conv2d' || node.op.type === 'linear';
  }

  run(node: GraphNode, inputs: readonly WasmTensor[], reluAfter: boolean): WasmTensor {
    const [x] = inputs;
    const { arena, arenaBase } = this.plan!;
    const n = x.shape[0];
    // A fused ReLU works in place (plan.ts), so the conv/FC output and the ReLU output share an offset.
    const y = arenaBase + arena.offsets.get(node.name)!;
    const out: WasmTensor = { shape: [n, ...node.shape], offset: y };
    const relu = reluAfter ? 1 : 0;
    const scratch = this.weightsEnd;
    const { op } = node;
    switch (op.type) {
      case 'input':
      case 'transfer':
        throw new Error(`a${op.type === 'input' ? 'n input' : ' transfer'} node is placed by place(), not run`);
      case 'conv2d': {
        const conv = this.convs.get(node.name)!;
        const { c, h, w } = conv;
        const [o, oh, ow] = node.shape;
        const weights = this.packed.get(node.name)!;
        let input = x.offset;
        let work = scratch;
        if (conv.spaceToDepth) {
          const [c0, h0, w0] = node.inputShapes[0];
          const { stride, top, left } = conv.spaceToDepth;
          this.pool.run('spaceToDepth', [x.offset, scratch, n, c0, h0, w0, stride, top, left, h, w]);
          input = scratch;
          work = scratch + align(n * c * h * w * 4);
        }
        const { groups } = conv.op;
        const { kh, kw, sh, sw, top, left } = conv.window;
        if (conv.winograd) {
          const bias = weights + winogradFloats(conv.op, c, this.kernels.panelRows()) * 4;
          this.pool.run('winograd', [input, weights, bias, y, work, this.edges, n, c, h, w, o, kh, top, left, groups, oh, ow, relu]);
        } else {
          this.pool.run('conv2d', [input, weights, y, work, this.edges, n, c, h, w, o, kh, kw, sh, sw, top, left, padded(conv.window) ? 1 : 0, groups, oh, ow, relu]);
        }
        return out;
      }
      case 'relu':
        this.pool.run('relu', [x.offset, y, n * sizeOf(node.shape)]);
        return out;
      case 'lrn': {
        const [c, h, w] = node.shape;
        const scale = op.alphaOverSize ? op.alpha / op.size : op.alpha;
        this.pool.run('lrn', [x.offset, y, n, c, h * w, op.size, scale, op.beta, op.k, op.groups]);
        return out;
      }
      case 'maxpool2d': {
        const [c, h, w] = node.inputShapes[0];
        const [oh, ow] = [node.shape[1], node.shape[2]];
        const win = windowOf(op);
        if (!padded(win) && !win.ceil) {
          this.pool.run('maxpool', [x.offset, y, scratch, n * c, h, w, win.kh, win.kw, win.sh, win.sw, oh, ow]);
          return out;
        }
        // padding and ceil-mode overhang never win: the maps padded with -∞ to the windows' reach
        const [hp, wp] = [(oh - 1) * win.sh + win.kh, (ow - 1) * win.sw + win.kw];
        const rows = scratch + align(n * c * hp * wp * 4);
        this.pool.run('padPlanes', [x.offset, scratch, n * c, h, w, win.top, win.left, hp, wp, -Infinity]);
        this.pool.run('maxpool', [scratch, y, rows, n * c, hp, wp, win.kh, win.kw, win.sh, win.sw, oh, ow]);
        return out;
      }
      case 'avgpool2d':
      case 'adaptiveavgpool2d': {
        const [c, h, w] = node.inputShapes[0];
        const win = op.type === 'avgpool2d' ? windowOf(op) : undefined;
        const window = win ? [win.kh, win.kw, win.sh, win.sw, win.top, win.left, win.bottom, win.right, op.type === 'avgpool2d' && op.countIncludePad ? 1 : 0, 0] : [0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        this.pool.run('avgpool', [x.offset, y, n * c, h, w, node.shape[1], node.shape[2], ...window]);
        return out;
      }
      case 'flatten':
      case 'dropout':
        return out; // a view: plan.ts gave it its input's offset
      case 'concat':
      case 'slice': {
        // per sample, contiguous blocks: copies within the memory
        const f32 = new Float32Array(this.wasmMemory.buffer);
        const per = sizeOf(node.shape);
        for (let s = 0; s < n; s++) {
          if (op.type === 'concat') {
            let at = y / 4 + s * per;
            for (const t of inputs) {
              const block = sizeOf(t.shape) / n;
              f32.copyWithin(at, t.offset / 4 + s * block, t.offset / 4 + (s + 1) * block);
              at += block;
            }
          } else {
            const [c, ...rest] = node.inputShapes[0];
            const inner = sizeOf(rest);
            f32.copyWithin(y / 4 + s * per, x.offset / 4 + (s * c + op.from) * inner, x.offset / 4 + (s * c + op.to) * inner);
          }
        }
        return out;
      }
      case 'linear': {
        const k = node.inputShapes[0][0];
        const weights = this.packed.get(node.name)!;
        if (n === 1) {
          this.pool.run('linearGemv', [x.offset, weights, y, this.edges, k, op.out, relu]);
        } else {
          this.kernels.packRows(x.offset, scratch, n, k);
          this.pool.run('linearGemm', [scratch, weights, y, this.edges, n, k, op.out, relu]);
        }
        return out;
      }
      case 'softmax':
        this.kernels.softmax(x.offset, y, n, node.shape[0]);
        return out;
      default:
        return op satisfies never;
    }
  }

  read(h: WasmTensor): Tensor {
    const out = new Float32Array(sizeOf(h.shape));
    copyFloats(out, new Float32Array(this.wasmMemory.buffer, h.offset, out.length));
    return tensor(h.shape, out);
  }

  memory(): MemoryReport {
    return {
      weights: this.weightsBytes,
      activations: this.plan?.arena.bytes ?? 0,
      scratch: this.plan?.scratchBytes ?? 0,
      total: this.wasmMemory.buffer.byteLength,
    };
  }

  async dispose(): Promise<void> {
    await this.pool.release();
  }

  /**
   * The layout for a batch size: scratch for the most any node needs (a conv's space-to-depth copy
   * and per-thread work areas, a pool's per-thread row, a packed FC batch), then the arena.
   */
  private planFor(batch: number) {
    if (this.plan?.batch === batch) return this.plan;
    let scratchFloats = 0;
    for (const node of this.graph.nodes) {
      if (node.op.type === 'conv2d') {
        // [space-to-depth copy of the input, when the plan has one][one work area per thread]
        const { c, h, w, op, window: win, winograd, spaceToDepth } = this.convs.get(node.name)!;
        const { groups, out } = op;
        const [oh, ow] = [node.shape[1], node.shape[2]];
        const perThread = winograd
          ? this.kernels.winogradScratchFloats(c / groups, out / groups, oh, ow, win.kh)
          : this.kernels.convScratchFloats(c / groups, (oh - 1) * win.sh + win.kh, (ow - 1) * win.sw + win.kw, win.kh, win.kw, padded(win) ? 1 : 0);
        const copy = spaceToDepth ? align(batch * c * h * w * 4) / 4 : 0;
        scratchFloats = Math.max(scratchFloats, copy + this.pool.threads * perThread);
      }
      if (node.op.type === 'maxpool2d') {
        // [the maps padded with -∞, when the op pads][one row of column maxima per thread]
        const win = windowOf(node.op);
        const [c, , w] = node.inputShapes[0];
        const [oh, ow] = [node.shape[1], node.shape[2]];
        const copy = padded(win) || win.ceil ? align(batch * c * ((oh - 1) * win.sh + win.kh) * ((ow - 1) * win.sw + win.kw) * 4) / 4 : 0;
        scratchFloats = Math.max(scratchFloats, copy + this.pool.threads * (copy ? (ow - 1) * win.sw + win.kw : w));
      }
      if (node.op.type === 'linear' && batch > 1) scratchFloats = Math.max(scratchFloats, this.kernels.packedRowsFloats(batch, node.inputShapes[0][0]));
    }
    const scratchBytes = align(scratchFloats * 4);
    const arena = planArena(this.graph, batch);
    const arenaBase = this.weightsEnd + scratchBytes;
    grow(this.wasmMemory, arenaBase + arena.bytes);
    this.plan = { batch, arena, arenaBase, scratchBytes };
    return this.plan;
  }
}

/** Whether a window has any padding. */
const padded = (w: Window): boolean => w.top + w.left + w.bottom + w.right > 0;

function grow(memory: WebAssembly.Memory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (bytes > 2 ** 32) throw new BackendError('WASM_MEMORY', `the wasm backend needs ${(bytes / 2 ** 30).toFixed(1)} GiB, over WebAssembly's 4 GiB: use a smaller batch or width`);
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / PAGE));
}
