// Backward passes. Every op's reference gradient against central finite differences of the
// independent float64 oracle (test/oracle.ts) over random small shapes, and the wasm training
// kernels against the reference gradients: one suite, both kernel sets.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { OpOf } from '../src/graph/index.js';
import type { Tensor } from '../src/tensor.js';
import { tensor } from '../src/tensor.js';
import { dropoutBackward, reluBackward, softmaxCrossEntropy } from '../src/train/backward.js';
import type { TrainKernels } from '../src/train/kernels.js';
import { referenceTrainKernels, wasmTrainKernels } from '../src/train/kernels.js';
import * as o from './oracle.js';
import { randomData, relErr } from './oracle.js';

/** L = Σ r·f(θ) in float64; its central difference at coordinate i of `theta`. */
function finiteDifference(f: (theta: Float64Array) => Float64Array, theta: Float64Array, r: ArrayLike<number>, i: number, h: number): number {
  const loss = (t: Float64Array): number => f(t).reduce((s, y, j) => s + y * r[j], 0);
  const plus = Float64Array.from(theta);
  const minus = Float64Array.from(theta);
  plus[i] += h;
  minus[i] -= h;
  return (loss(plus) - loss(minus)) / (2 * h);
}

/** Checks `grad` against finite differences at up to 12 coordinates spread over the tensor. */
function expectGradient(grad: Float32Array, f: (theta: Float64Array) => Float64Array, theta: Float64Array, r: ArrayLike<number>, h = 1e-4): void {
  const scale = Math.max(1e-6, ...Array.from(grad, Math.abs));
  const step = Math.max(1, Math.floor(theta.length / 12));
  for (let i = 0; i < theta.length; i += step) {
    const fd = finiteDifference(f, theta, r, i, h);
    expect(Math.abs(fd - grad[i]), `coordinate ${i}: finite difference ${fd}, backward ${grad[i]}`).toBeLessThanOrEqual(1e-3 * scale);
  }
}

const t32 = (shape: number[], seed: number, lo = -1, hi = 1): Tensor => tensor(shape, randomData(shape.reduce((a, b) => a * b, 1), seed, lo, hi));
const f64 = (t: Tensor): Float64Array => Float64Array.from(t.data);
const arr = (shape: readonly number[], data: Float64Array): o.Arr => ({ shape: [...shape], data });

const convArb = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  groups: fc.integer({ min: 1, max: 3 }),
  cg: fc.integer({ min: 1, max: 3 }),
  og: fc.integer({ min: 1, max: 3 }),
  kernel: fc.integer({ min: 1, max: 4 }),
  stride: fc.integer({ min: 1, max: 3 }),
  pad: fc.integer({ min: 0, max: 2 }),
  h: fc.integer({ min: 1, max: 9 }),
  w: fc.integer({ min: 1, max: 9 }),
  seed: fc.integer({ min: 0, max: 1e6 }),
});
type ConvCase = typeof convArb extends fc.Arbitrary<infer T> ? T : never;
const convCase = (c: ConvCase) => {
  const op: OpOf<'conv2d'> = { type: 'conv2d', out: c.og * c.groups, kernel: c.kernel, stride: c.stride, pad: c.pad, groups: c.groups };
  const oh = Math.floor((c.h + 2 * c.pad - c.kernel) / c.stride) + 1;
  const ow = Math.floor((c.w + 2 * c.pad - c.kernel) / c.stride) + 1;
  fc.pre(oh > 0 && ow > 0);
  const x = t32([c.n, c.cg * c.groups, c.h, c.w], c.seed);
  const w = t32([op.out, c.cg, c.kernel, c.kernel], c.seed + 1);
  const b = t32([op.out], c.seed + 2);
  const dy = t32([c.n, op.out, oh, ow], c.seed + 3);
  return { op, oh, ow, x, w, b, dy };
};

const lrnArb = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  groups: fc.integer({ min: 1, max: 3 }),
  perGroup: fc.integer({ min: 1, max: 7 }),
  size: fc.constantFrom(1, 3, 5),
  alphaOverSize: fc.boolean(),
  k: fc.constantFrom(1, 2),
  hw: fc.integer({ min: 1, max: 5 }),
  seed: fc.integer({ min: 0, max: 1e6 }),
});
const lrnOp = (c: { size: number; alphaOverSize: boolean; k: number; groups: number }): OpOf<'lrn'> => ({ type: 'lrn', size: c.size, alpha: 0.3, beta: 0.75, k: c.k, alphaOverSize: c.alphaOverSize, groups: c.groups });

/** Distinct values (a shuffled ramp), so no finite-difference step changes which input is a window's maximum. */
function distinct(n: number, seed: number): Float32Array {
  const keys = randomData(n, seed);
  return Float32Array.from(Array.from({ length: n }, (_, i) => i).sort((a, b) => keys[a] - keys[b]), (rank) => rank * 0.01 - n * 0.005);
}

describe('reference backward against finite differences of the float64 oracle', () => {
  const k = referenceTrainKernels;

  it('conv2d: dx, dw, db (groups, stride, padding, batch)', () => {
    fc.assert(
      fc.property(convArb, (c) => {
        const { op, x, w, b, dy } = convCase(c);
        const g = k.conv2dBackward(op, x, w, dy, true);
        const conv = (xx: Float64Array, ww: Float64Array, bb: Float64Array) => o.conv2d(arr(x.shape, xx), arr(w.shape, ww), arr(b.shape, bb), op.stride, op.pad, op.groups).data;
        expectGradient(g.dx!.data, (t) => conv(t, f64(w), f64(b)), f64(x), dy.data);
        expectGradient(g.dw.data, (t) => conv(f64(x), t, f64(b)), f64(w), dy.data);
        expectGradient(g.db.data, (t) => conv(f64(x), f64(w), t), f64(b), dy.data);
      }),
      { numRuns: 40 },
    );
  });

  it('linear: dx, dw, db', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer(), (n, inF, out, seed) => {
        const [x, w, b, dy] = [t32([n, inF], seed), t32([out, inF], seed + 1), t32([out], seed + 2), t32([n, out], seed + 3)];
        const g = k.linearBackward(x, w, dy);
        const lin = (xx: Float64Array, ww: Float64Array, bb: Float64Array) => o.linear(arr(x.shape, xx), arr(w.shape, ww), arr(b.shape, bb)).data;
        expectGradient(g.dx!.data, (t) => lin(t, f64(w), f64(b)), f64(x), dy.data);
        expectGradient(g.dw.data, (t) => lin(f64(x), t, f64(b)), f64(w), dy.data);
        expectGradient(g.db.data, (t) => lin(f64(x), f64(w), t), f64(b), dy.data);
      }),
    );
  });

  it('LRN: both alpha forms, groups, any window', () => {
    fc.assert(
      fc.property(lrnArb, (c) => {
        const op = lrnOp(c);
        const shape = [c.n, c.perGroup * c.groups, c.hw, c.hw];
        const x = t32(shape, c.seed, -2, 2);
        const dy = t32(shape, c.seed + 1);
        expectGradient(k.lrnBackward(op, x, dy).data, (t) => o.lrn(arr(shape, t), op.size, op.alpha, op.beta, op.k, op.alphaOverSize, op.groups).data, f64(x), dy.data);
      }),
    );
  });

  it('max-pool: to each window\'s maximum, overlapping windows adding up', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 3, max: 9 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer(), (n, c, h, kernel, stride, seed) => {
        fc.pre(kernel <= h);
        const op: OpOf<'maxpool2d'> = { type: 'maxpool2d', kernel, stride };
        const oh = Math.floor((h - kernel) / stride) + 1;
        const x = tensor([n, c, h, h], distinct(n * c * h * h, seed));
        const dy = t32([n, c, oh, oh], seed + 1);
        expectGradient(k.maxpool2dBackward(op, x, dy).data, (t) => o.maxpool2d(arr(x.shape, t), kernel, stride).data, f64(x), dy.data, 1e-4);
      }),
    );
  });

  it('ReLU and dropout', () => {
    const x = tensor([2, 7], Float32Array.from(randomData(14, 3), (v) => (Math.abs(v) < 0.01 ? 0.5 : v)));
    const dy = t32([2, 7], 4);
    expectGradient(reluBackward(x, dy).data, (t) => o.relu(arr(x.shape, t)).data, f64(x), dy.data);
    const mask = Float32Array.from({ length: 14 }, (_, i) => (i % 3 ? 2 : 0));
    expectGradient(dropoutBackward(mask, dy).data, (t) => t.map((v, i) => v * mask[i]), f64(x), dy.data);
  });

  it('softmax cross-entropy: the loss is −log p(label), its gradient (p − onehot) / N', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 9 }), fc.integer(), (n, f, seed) => {
        const logits = t32([n, f], seed, -5, 5);
        const labels = Int32Array.from({ length: n }, (_, i) => (((i * 7 + seed) % f) + f) % f);
        const { loss, prob, dlogits } = softmaxCrossEntropy(logits, labels);
        const p = o.softmax(arr(logits.shape, f64(logits))).data;
        expect(loss).toBeCloseTo(-Array.from(labels, (l, i) => Math.log(p[i * f + l])).reduce((a, b) => a + b, 0) / n, 5);
        expect(relErr(prob.data, p)).toBeLessThan(1e-6);
        const lossOf = (t: Float64Array) => Float64Array.of(-Array.from(labels, (l, i) => Math.log(o.softmax(arr(logits.shape, t)).data[i * f + l])).reduce((a, b) => a + b, 0) / n);
        expectGradient(dlogits.data, lossOf, f64(logits), [1]);
      }),
    );
  });
});

describe('wasm training kernels against the reference', () => {
  let wasm: TrainKernels; // 1 thread
  const ref = referenceTrainKernels;
  beforeAll(async () => {
    wasm = await wasmTrainKernels();
  });
  const TOL = 1e-4;

  it('conv2d forward and backward', () => {
    fc.assert(
      fc.property(convArb, (c) => {
        const { op, oh, ow, x, w, b, dy } = convCase(c);
        const shape = [c.n, op.out, oh, ow];
        expect(relErr(wasm.conv2d(op, x, w, b, shape).data, ref.conv2d(op, x, w, b, shape).data)).toBeLessThan(TOL);
        const [gw, gr] = [wasm.conv2dBackward(op, x, w, dy, true), ref.conv2dBackward(op, x, w, dy, true)];
        for (const key of ['dx', 'dw', 'db'] as const) expect(relErr(gw[key]!.data, gr[key]!.data), key).toBeLessThan(TOL);
        expect(wasm.conv2dBackward(op, x, w, dy, false).dx).toBeUndefined();
      }),
      { numRuns: 60 },
    );
  });

  it('linear forward and backward (sizes off the 6x8 tile)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 19 }), fc.integer(), (n, inF, out, seed) => {
        const [x, w, b, dy] = [t32([n, inF], seed), t32([out, inF], seed + 1), t32([out], seed + 2), t32([n, out], seed + 3)];
        expect(relErr(wasm.linear(x, w, b).data, ref.linear(x, w, b).data)).toBeLessThan(TOL);
        const [gw, gr] = [wasm.linearBackward(x, w, dy), ref.linearBackward(x, w, dy)];
        for (const key of ['dx', 'dw', 'db'] as const) expect(relErr(gw[key]!.data, gr[key]!.data), key).toBeLessThan(TOL);
      }),
    );
  });

  it('give the same bits on 1 and 2 threads (every share is a whole output unit)', async () => {
    const two = await wasmTrainKernels(2);
    try {
      fc.assert(
        fc.property(convArb, (c) => {
          const { op, x, w, dy } = convCase(c);
          const [a, b] = [wasm.conv2dBackward(op, x, w, dy, true), two.conv2dBackward(op, x, w, dy, true)];
          for (const key of ['dx', 'dw', 'db'] as const) expect(b[key]!.data, key).toEqual(a[key]!.data);
          const lrn = lrnOp({ size: 5, alphaOverSize: false, k: 2, groups: 1 });
          expect(two.lrnBackward(lrn, x, x).data).toEqual(wasm.lrnBackward(lrn, x, x).data);
        }),
        { numRuns: 30 },
      );
    } finally {
      await two.release();
    }
  });

  it('LRN and max-pool forward and backward', () => {
    fc.assert(
      fc.property(lrnArb, (c) => {
        const op = lrnOp(c);
        const shape = [c.n, c.perGroup * c.groups, c.hw + 2, c.hw + 2];
        const x = t32(shape, c.seed, -2, 2);
        const dy = t32(shape, c.seed + 1);
        expect(relErr(wasm.lrn(op, x).data, ref.lrn(op, x).data)).toBeLessThan(TOL);
        expect(relErr(wasm.lrnBackward(op, x, dy).data, ref.lrnBackward(op, x, dy).data)).toBeLessThan(TOL);
        const pool: OpOf<'maxpool2d'> = { type: 'maxpool2d', kernel: 3, stride: 2 };
        const ph = Math.floor((c.hw + 2 - 3) / 2) + 1;
        const pdy = t32([c.n, shape[1], ph, ph], c.seed + 2);
        expect(wasm.maxpool2d(pool, x, [c.n, shape[1], ph, ph]).data).toEqual(ref.maxpool2d(pool, x, [c.n, shape[1], ph, ph]).data);
        expect(relErr(wasm.maxpool2dBackward(pool, x, pdy).data, ref.maxpool2dBackward(pool, x, pdy).data)).toBeLessThan(TOL);
      }),
    );
  });
});
