// The kernels training runs on, forward and backward, behind one interface so that a test suite
// written once checks every implementation against the reference. `referenceTrainKernels` is the
// oracle (float64 loops). `wasmTrainKernels` does the heavy part in the wasm module: the conv
// forward is the inference backend's kernel, the conv gradients and FC layers are GEMMs (im2col /
// col2im + the packed micro-kernels; float32 accumulation), LRN and max-pool are wasm too, every
// kernel split over the threads.
import * as ref from '../backends/reference/kernels.js';
import { packPanels } from '../backends/wasm/index.js';
import { chooseBuild, compileBuild, instantiate } from '../backends/wasm/module.js';
import { CONTROL, ThreadPool } from '../backends/wasm/threads.js';
import type { OpOf } from '../graph/index.js';
import { isSquare, windowOf } from '../graph/index.js';
import { UsageError } from '../errors.js';
import type { Shape, Tensor } from '../tensor.js';
import { copyFloats, tensor } from '../tensor.js';
import { conv2dBackward, linearBackward, lrnBackward, maxpool2dBackward } from './backward.js';

export interface Grads {
  readonly dx?: Tensor;
  readonly dw: Tensor;
  readonly db: Tensor;
}

export interface TrainKernels {
  readonly name: string;
  conv2d(op: OpOf<'conv2d'>, x: Tensor, w: Tensor, b: Tensor, outShape: Shape): Tensor;
  /** `needDx` false skips the input gradient (the first layer's input is the data). */
  conv2dBackward(op: OpOf<'conv2d'>, x: Tensor, w: Tensor, dy: Tensor, needDx: boolean): Grads;
  linear(x: Tensor, w: Tensor, b: Tensor): Tensor;
  linearBackward(x: Tensor, w: Tensor, dy: Tensor): Grads;
  lrn(op: OpOf<'lrn'>, x: Tensor): Tensor;
  lrnBackward(op: OpOf<'lrn'>, x: Tensor, dy: Tensor): Tensor;
  maxpool2d(op: OpOf<'maxpool2d'>, x: Tensor, outShape: Shape): Tensor;
  maxpool2dBackward(op: OpOf<'maxpool2d'>, x: Tensor, dy: Tensor): Tensor;
}

export const referenceTrainKernels: TrainKernels = {
  name: 'reference',
  conv2d: ref.conv2d,
  conv2dBackward: (op, x, w, dy) => conv2dBackward(op, x, w, dy),
  linear: ref.linear,
  linearBackward,
  lrn: ref.lrn,
  lrnBackward,
  maxpool2d: ref.maxpool2d,
  maxpool2dBackward,
};

/**
 * The wasm module's training exports over one shared memory, on `threads` threads (this one and
 * the wasm backend's workers), with a bump layout per call. `release()` lets the workers go.
 * `jitterMs` is for testing the thread protocol (threads.ts).
 */
export async function wasmTrainKernels(threads = 1, jitterMs = 0): Promise<TrainKernels & { release(): Promise<void> }> {
  const build = await chooseBuild();
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  const module = await compileBuild(build);
  const k = instantiate(module, memory);
  const align = (bytes: number): number => Math.ceil(bytes / 64) * 64;
  const control = align(k.heapBase());
  const edges = align(control + CONTROL.BYTES);
  const base = align(edges + threads * k.edgeBytes());
  if (memory.buffer.byteLength < base) memory.grow(Math.ceil((base - memory.buffer.byteLength) / 65536));
  const pool = await ThreadPool.create(module, memory, k, control, threads, jitterMs);
  const mr = k.panelRows();

  /** Byte offsets for regions of the given float counts, the memory grown to hold them all. */
  const layout = (...floats: number[]): number[] => {
    const offsets: number[] = [];
    let at = base;
    for (const f of floats) {
      offsets.push(at);
      at += align(f * 4);
    }
    const pages = Math.ceil(at / 65536) - memory.buffer.byteLength / 65536;
    if (pages > 0) memory.grow(pages);
    return offsets;
  };
  const view = (at: number, floats: number): Float32Array => new Float32Array(memory.buffer, at, floats);
  const put = (at: number, data: Float32Array): void => copyFloats(view(at, data.length), data);
  const read = (at: number, floats: number): Float32Array => {
    const out = new Float32Array(floats);
    copyFloats(out, view(at, floats));
    return out;
  };
  /** C (at pc) = op(A)·op(B), A and B already in the memory. */
  const sgemm = (pa: number, pb: number, pc: number, m: number, n: number, kk: number, transA: boolean, transB: boolean, pack: number): void => {
    pool.run('sgemmPack', [pa, pb, m, n, kk, +transA, +transB, pack]);
    pool.run('sgemmTiles', [pc, m, n, kk, 0, pack, edges]);
  };
  /** C = op(A)·op(B) on host arrays. */
  const gemm = (a: Float32Array, b: Float32Array, m: number, n: number, kk: number, transA: boolean, transB: boolean): Float32Array => {
    const [pa, pb, pc, pack] = layout(a.length, b.length, m * n, k.sgemmPackFloats(m, n, kk));
    put(pa, a);
    put(pb, b);
    sgemm(pa, pb, pc, m, n, kk, transA, transB, pack);
    return read(pc, m * n);
  };

  /**
   * x in the memory with room for one group's columns of every image [K, N·P] and the regions
   * `extra(K, N·P)` sizes; `fill(g)` writes group g's columns.
   */
  const columns = (op: OpOf<'conv2d'>, x: Tensor, oh: number, ow: number, extra: (kk: number, np: number) => number[]) => {
    const [n, c, h, w] = x.shape;
    const { k: kernel, s, p } = squareWindow(op, [h, w], [oh, ow]);
    const cg = c / op.groups;
    const kk = cg * kernel * kernel;
    const np = n * oh * ow;
    const at = layout(x.data.length, kk * np, ...extra(kk, np));
    put(at[0], x.data);
    const fill = (g: number): void => pool.run('im2colImages', [at[0], at[1], n, c, g * cg, cg, h, w, kernel, s, p, oh, ow]);
    return { at, fill, cg, kk, np };
  };

  return {
    name: `wasm (${build}, ${threads} thread${threads > 1 ? 's' : ''})`,
    release: () => pool.release(),
    conv2d(op, x, w, b, outShape) {
      // the inference backend's kernel: im2col tiles straight into packed panels, NCHW out with
      // the bias; only the weights are packed anew, as they change every step
      const [n, c, h, wd] = x.shape;
      const [, o, oh, ow] = outShape;
      const og = o / op.groups;
      const cg = c / op.groups;
      const { k: kernel, s, p } = squareWindow(op, [h, wd], [oh, ow]);
      const kk = cg * kernel * kernel;
      const groupFloats = Math.ceil(og / mr) * mr * (kk + 1);
      const [hp, wp] = [(oh - 1) * s + kernel, (ow - 1) * s + kernel];
      const [px, pw, py, scratch] = layout(x.data.length, op.groups * groupFloats, n * o * oh * ow, threads * k.convScratchFloats(cg, hp, wp, kernel, kernel, p > 0 ? 1 : 0));
      put(px, x.data);
      const packed = view(pw, op.groups * groupFloats);
      for (let g = 0; g < op.groups; g++) {
        packPanels(w.data.subarray(g * og * kk, (g + 1) * og * kk), b.data.subarray(g * og, (g + 1) * og), og, kk, mr, packed.subarray(g * groupFloats, (g + 1) * groupFloats));
      }
      pool.run('conv2d', [px, pw, py, scratch, edges, n, c, h, wd, o, kernel, kernel, s, s, p, p, p > 0 ? 1 : 0, op.groups, oh, ow, 0]);
      return tensor(outShape, read(py, n * o * oh * ow));
    },
    conv2dBackward(op, x, w, dy, needDx) {
      const [n, o, oh, ow] = dy.shape;
      const [, c, h, wd] = x.shape;
      const og = o / op.groups;
      const p = oh * ow;
      const { at, fill, cg, kk, np } = columns(op, x, oh, ow, (kk, np) => [og * kk, og * np, og * kk, kk * np, x.data.length, Math.max(k.sgemmPackFloats(og, kk, np), k.sgemmPackFloats(kk, np, og))]);
      const [, col, wg, dyg, dwg, dcol, dxAt, pack] = at;
      const dw = tensor(w.shape);
      const db = tensor([o]);
      if (needDx) view(dxAt, x.data.length).fill(0);
      for (let g = 0; g < op.groups; g++) {
        fill(g);
        const dyv = view(dyg, og * np);
        for (let oc = 0; oc < og; oc++) {
          let bias = 0;
          for (let ni = 0; ni < n; ni++) {
            const src = (ni * o + g * og + oc) * p;
            for (let i = 0; i < p; i++) {
              const v = dy.data[src + i];
              dyv[oc * np + ni * p + i] = v;
              bias += v;
            }
          }
          db.data[g * og + oc] = bias;
        }
        sgemm(dyg, col, dwg, og, kk, np, false, true, pack);
        dw.data.set(view(dwg, og * kk), g * og * kk);
        if (!needDx) continue;
        put(wg, w.data.subarray(g * og * kk, (g + 1) * og * kk));
        sgemm(wg, dyg, dcol, kk, np, og, true, false, pack);
        const { k: kernel, s, p: pad } = squareWindow(op, [h, wd], [oh, ow]);
        pool.run('col2imImages', [dcol, dxAt, n, c, g * cg, cg, h, wd, kernel, s, pad, oh, ow]);
      }
      return { dx: needDx ? tensor(x.shape, read(dxAt, x.data.length)) : undefined, dw, db };
    },
    linear(x, w, b) {
      const [n, inF] = x.shape;
      const [o] = w.shape;
      const y = gemm(x.data, w.data, n, o, inF, false, true);
      for (let i = 0; i < y.length; i++) y[i] += b.data[i % o];
      return tensor([n, o], y);
    },
    linearBackward(x, w, dy) {
      const [n, inF] = x.shape;
      const [o] = w.shape;
      const db = tensor([o]);
      for (let i = 0; i < dy.data.length; i++) db.data[i % o] += dy.data[i];
      return {
        dx: tensor(x.shape, gemm(dy.data, w.data, n, inF, o, false, false)),
        dw: tensor(w.shape, gemm(dy.data, x.data, o, inF, n, true, false)),
        db,
      };
    },
    lrn(op, x) {
      const [n, c, h, w] = x.shape;
      const [px, py] = layout(x.data.length, x.data.length);
      put(px, x.data);
      pool.run('lrn', [px, py, n, c, h * w, op.size, lrnScale(op), op.beta, op.k, op.groups]);
      return tensor(x.shape, read(py, x.data.length));
    },
    lrnBackward(op, x, dy) {
      const [n, c, h, w] = x.shape;
      const size = x.data.length;
      const [px, pdy, pdx, pt] = layout(size, size, size, size);
      put(px, x.data);
      put(pdy, dy.data);
      pool.run('lrnBackward', [px, pdy, pdx, pt, n, c, h * w, op.size, lrnScale(op), op.beta, op.k, op.groups]);
      return tensor(x.shape, read(pdx, size));
    },
    maxpool2d(op, x, outShape) {
      const [n, c, h, w] = x.shape;
      const [, , oh, ow] = outShape;
      const [px, py, rows] = layout(x.data.length, n * c * oh * ow, threads * w);
      put(px, x.data);
      const { k: kernel, s } = squareWindow(op, [h, w], [oh, ow]);
      pool.run('maxpool', [px, py, rows, n * c, h, w, kernel, kernel, s, s, oh, ow]);
      return tensor(outShape, read(py, n * c * oh * ow));
    },
    maxpool2dBackward(op, x, dy) {
      const [n, c, h, w] = x.shape;
      const [, , oh, ow] = dy.shape;
      const [px, pdy, pdx] = layout(x.data.length, dy.data.length, x.data.length);
      put(px, x.data);
      put(pdy, dy.data);
      view(pdx, x.data.length).fill(0);
      const { k: kernel, s } = squareWindow(op, [h, w], [oh, ow]);
      pool.run('maxpoolBackward', [px, pdy, pdx, n * c, h, w, kernel, s, oh, ow]);
      return tensor(x.shape, read(pdx, x.data.length));
    },
  };
}

const lrnScale = (op: OpOf<'lrn'>): number => (op.alphaOverSize ? op.alpha / op.size : op.alpha);

/**
 * The k x k window, stride s, padding p on every side that the wasm training kernels take: every
 * preset's convs and pools. Others (imported ONNX graphs) train on the reference kernels.
 */
function squareWindow(op: OpOf<'conv2d' | 'maxpool2d'>, input: readonly number[], output: readonly number[]): { k: number; s: number; p: number } {
  const w = windowOf(op);
  // ceil mode that gives the floor's size is floor mode (Caffe's bvlc pools at 227)
  const floor = (size: number): number => Math.floor((size + w.top + w.bottom - w.kh) / w.sh) + 1;
  const ceilMatters = w.ceil && (floor(input[0]) !== output[0] || floor(input[1]) !== output[1]);
  if (!isSquare(w) || ceilMatters || (op.type === 'maxpool2d' && w.top > 0)) {
    throw new UsageError('TRAIN_WINDOW', `the wasm training kernels take square windows with the same padding on every side (a maxpool none, in floor mode); this ${op.type} has ${JSON.stringify({ kernel: op.kernel, stride: op.stride, pad: op.pad ?? 0, ceil: w.ceil })}: train it with --backend reference`);
  }
  return { k: w.kh, s: w.sh, p: w.top };
}
