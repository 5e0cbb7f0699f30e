// The op suite: every op on every backend, over random small shapes (odd sizes, groups, stride,
// padding, batch 1 and > 1), against the independent float64 oracle in oracle.ts or a stated law.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Graph } from '../src/graph/index.js';
import type { NodeSpec, Op } from '../src/graph/index.js';
import { runGraph } from '../src/runtime/index.js';
import type { Tensor } from '../src/tensor.js';
import { tensor } from '../src/tensor.js';
import { backends } from './backends.js';
import * as oracle from './oracle.js';
import { randomData } from './oracle.js';
import { runOp } from './run-op.js';


const randomTensor = (shape: number[], seed: number, lo = -1, hi = 1): Tensor =>
  tensor(shape, randomData(shape.reduce((a, b) => a * b, 1), seed, lo, hi));
const f64 = (t: Tensor): oracle.Arr => oracle.fromF32(t.shape, t.data);

/** A size per axis: as often square as not (square 3x3 and 5x5 stride-1 convs take the Winograd path). */
const perAxis = (max: number) => fc.oneof(fc.integer({ min: 1, max }).map((k): [number, number] => [k, k]), fc.tuple(fc.integer({ min: 1, max }), fc.integer({ min: 1, max })));
/** Padding per side, [top, left, bottom, right]: as often the same on every side as not. */
const sides = (max: number) => fc.oneof(fc.integer({ min: 0, max }).map((p): [number, number, number, number] => [p, p, p, p]), fc.tuple(fc.integer({ min: 0, max }), fc.integer({ min: 0, max }), fc.integer({ min: 0, max }), fc.integer({ min: 0, max })));

const convCase = fc
  .record({
    n: fc.integer({ min: 1, max: 3 }),
    groups: fc.integer({ min: 1, max: 4 }),
    inPerGroup: fc.integer({ min: 1, max: 3 }),
    outPerGroup: fc.integer({ min: 1, max: 3 }),
    kernel: perAxis(5),
    stride: perAxis(4),
    pad: sides(3),
    h: fc.integer({ min: 1, max: 13 }),
    w: fc.integer({ min: 1, max: 13 }),
    seed: fc.integer(),
  })
  .filter((c) => c.h + c.pad[0] + c.pad[2] >= c.kernel[0] && c.w + c.pad[1] + c.pad[3] >= c.kernel[1]);

const mapsCase = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  c: fc.integer({ min: 1, max: 9 }),
  h: fc.integer({ min: 1, max: 11 }),
  w: fc.integer({ min: 1, max: 11 }),
  seed: fc.integer(),
});

describe.each(backends)('ops on the $name backend', ({ backend, opTolerance, runsScale }) => {
  const runs = (n: number) => ({ numRuns: Math.max(3, Math.round(n * runsScale)) });
  it('conv2d equals a direct summation over a padded input (random groups, kernels, strides and padding per axis and side, batch)', async () => {
    await fc.assert(
      fc.asyncProperty(convCase, async (c) => {
        const cin = c.groups * c.inPerGroup;
        const out = c.groups * c.outPerGroup;
        const x = randomTensor([c.n, cin, c.h, c.w], c.seed);
        const weight = randomTensor([out, c.inPerGroup, ...c.kernel], c.seed + 1);
        const bias = randomTensor([out], c.seed + 2);
        const op: Op = { type: 'conv2d', out, kernel: c.kernel, stride: c.stride, pad: c.pad, groups: c.groups };
        const y = await runOp(backend, op, x, { weight, bias });
        const expected = oracle.conv2d(f64(x), f64(weight), f64(bias), c.stride, c.pad, c.groups);
        expect(y.shape).toEqual(expected.shape);
        expect(oracle.relErr(y.data, expected.data)).toBeLessThanOrEqual(opTolerance);
      }),
      runs(60),
    );
  });

  it('a window that reaches only padding gives the bias (a stride jumping over a 1-pixel map from its leading padding)', async () => {
    const x = tensor([1, 2, 1, 1], Float32Array.of(1, 2));
    const params = { weight: tensor([2, 1, 1, 1], Float32Array.of(3, 4)), bias: tensor([2], Float32Array.of(0.5, 0.25)) };
    for (const stride of [[3, 3], [1, 3]] as [number, number][]) {
      const y = await runOp(backend, { type: 'conv2d', out: 2, kernel: [1, 1], stride, pad: [0, 2, 0, 0], groups: 2 }, x, params);
      expect(Array.from(y.data), `stride ${stride}`).toEqual([0.5, 0.25]);
    }
  });

  it('conv2d with groups is the concatenation of one conv per group, bit for bit', async () => {
    await fc.assert(
      fc.asyncProperty(
        convCase.filter((c) => c.groups > 1),
        async (c) => {
          const { n, groups, inPerGroup: cg, outPerGroup: og } = c;
          const [kh, kw] = c.kernel;
          const x = randomTensor([n, groups * cg, c.h, c.w], c.seed);
          const weight = randomTensor([groups * og, cg, kh, kw], c.seed + 1);
          const bias = randomTensor([groups * og], c.seed + 2);
          const conv = (out: number, groupCount: number): Op => ({ type: 'conv2d', out, kernel: c.kernel, stride: c.stride, pad: c.pad, groups: groupCount });
          const grouped = await runOp(backend, conv(groups * og, groups), x, { weight, bias });
          const [, , oh, ow] = grouped.shape;
          for (let g = 0; g < groups; g++) {
            // this group's input maps, weights and biases, run as an ordinary (groups = 1) conv
            const xg = tensor([n, cg, c.h, c.w]);
            for (let s = 0; s < n; s++) xg.data.set(x.data.subarray((s * groups + g) * cg * c.h * c.w, (s * groups + g + 1) * cg * c.h * c.w), s * cg * c.h * c.w);
            const wg = tensor([og, cg, kh, kw], weight.data.slice(g * og * cg * kh * kw, (g + 1) * og * cg * kh * kw));
            const bg = tensor([og], bias.data.slice(g * og, (g + 1) * og));
            const yg = await runOp(backend, conv(og, 1), xg, { weight: wg, bias: bg });
            for (let s = 0; s < n; s++) {
              const part = grouped.data.subarray((s * groups + g) * og * oh * ow, (s * groups + g + 1) * og * oh * ow);
              expect(Array.from(part)).toEqual(Array.from(yg.data.subarray(s * og * oh * ow, (s + 1) * og * oh * ow)));
            }
          }
        },
      ),
      runs(30),
    );
  });

  it('conv2d and pools give one output per window position that fits, and in ceil mode one per window that starts inside', async () => {
    await fc.assert(
      fc.asyncProperty(convCase, fc.boolean(), async (c, ceil) => {
        // count by enumeration: window starts -before, -before + s, ... whose end stays within the
        // padded map; in ceil mode also the next, if the floor left input uncovered (it starts less
        // than a stride past the last full window) and it starts inside the map or its leading padding
        const fits = (size: number, k: number, s: number, before: number, after: number, ceilMode: boolean): number => {
          let count = 0;
          let start = -before;
          for (; start + k <= size + after; start += s) count++;
          if (ceilMode && start < size + after - k + s && start < size) count++;
          return count;
        };
        const [kh, kw] = c.kernel;
        const [sh, sw] = c.stride;
        const [t, l, b, r] = c.pad;
        const x = randomTensor([c.n, c.groups, c.h, c.w], c.seed);
        const conv: Op = { type: 'conv2d', out: c.groups, kernel: c.kernel, stride: c.stride, pad: c.pad, groups: c.groups };
        const y = await runOp(backend, conv, x, { weight: randomTensor([c.groups, 1, kh, kw], 1), bias: randomTensor([c.groups], 2) });
        expect(y.shape).toEqual([c.n, c.groups, fits(c.h, kh, sh, t, b, false), fits(c.w, kw, sw, l, r, false)]);
        // a pool's padding is narrower than its window
        const pad: [number, number, number, number] = [Math.min(t, kh - 1), Math.min(l, kw - 1), Math.min(b, kh - 1), Math.min(r, kw - 1)];
        if (c.h + pad[0] + pad[2] >= kh && c.w + pad[1] + pad[3] >= kw) {
          const pooled = await runOp(backend, { type: 'maxpool2d', kernel: c.kernel, stride: c.stride, pad, ceil }, x);
          expect(pooled.shape).toEqual([c.n, c.groups, fits(c.h, kh, sh, pad[0], pad[2], ceil), fits(c.w, kw, sw, pad[1], pad[3], ceil)]);
        }
      }),
      runs(60),
    );
  });

  it('lrn follows its formula in both alpha forms, within its groups', async () => {
    const lrnCase = fc.record({
      n: fc.integer({ min: 1, max: 2 }),
      groups: fc.integer({ min: 1, max: 4 }),
      perGroup: fc.integer({ min: 1, max: 7 }),
      h: fc.integer({ min: 1, max: 6 }),
      w: fc.integer({ min: 1, max: 6 }),
      size: fc.constantFrom(1, 3, 5, 7),
      alpha: fc.double({ min: 1e-5, max: 1, noNaN: true }),
      beta: fc.double({ min: 0.25, max: 1.5, noNaN: true }),
      k: fc.double({ min: 0.5, max: 3, noNaN: true }),
      alphaOverSize: fc.boolean(),
      seed: fc.integer(),
    });
    await fc.assert(
      fc.asyncProperty(lrnCase, async (c) => {
        const x = randomTensor([c.n, c.groups * c.perGroup, c.h, c.w], c.seed, -3, 3);
        const op: Op = { type: 'lrn', size: c.size, alpha: c.alpha, beta: c.beta, k: c.k, alphaOverSize: c.alphaOverSize, groups: c.groups };
        const y = await runOp(backend, op, x);
        const expected = oracle.lrn(f64(x), c.size, c.alpha, c.beta, c.k, c.alphaOverSize, c.groups);
        expect(oracle.relErr(y.data, expected.data)).toBeLessThanOrEqual(opTolerance);
      }),
      runs(60),
    );
  });

  it('lrn with groups treats each group as a separate tensor', async () => {
    // The paper's LRN runs per tower: normalising two halves separately must equal groups = 2.
    const x = randomTensor([2, 8, 3, 3], 7, -5, 5);
    const op = (groups: number): Op => ({ type: 'lrn', size: 5, alpha: 0.1, beta: 0.75, k: 2, alphaOverSize: false, groups });
    const whole = await runOp(backend, op(2), x);
    for (let g = 0; g < 2; g++) {
      const half = tensor([2, 4, 3, 3]);
      for (let s = 0; s < 2; s++) half.data.set(x.data.subarray((s * 8 + g * 4) * 9, (s * 8 + g * 4 + 4) * 9), s * 36);
      const y = await runOp(backend, op(1), half);
      for (let s = 0; s < 2; s++) expect(Array.from(whole.data.subarray((s * 8 + g * 4) * 9, (s * 8 + g * 4 + 4) * 9))).toEqual(Array.from(y.data.subarray(s * 36, s * 36 + 36)));
    }
  });

  /** A pool's window, stride, padding narrower than the window, ceil or floor mode, over maps it fits. */
  const poolCase = fc
    .record({ maps: mapsCase, kernel: perAxis(4), stride: perAxis(3), pad: sides(3), ceil: fc.boolean(), countIncludePad: fc.boolean(), out: fc.integer({ min: 1, max: 7 }) })
    .map((c) => ({ ...c, pad: [Math.min(c.pad[0], c.kernel[0] - 1), Math.min(c.pad[1], c.kernel[1] - 1), Math.min(c.pad[2], c.kernel[0] - 1), Math.min(c.pad[3], c.kernel[1] - 1)] as [number, number, number, number] }))
    .filter((c) => c.maps.h + c.pad[0] + c.pad[2] >= c.kernel[0] && c.maps.w + c.pad[1] + c.pad[3] >= c.kernel[1]);

  it('maxpool2d takes the largest value of each (overlapping, padded, ceil-mode) window, exactly', async () => {
    await fc.assert(
      fc.asyncProperty(poolCase, async ({ maps: m, kernel, stride, pad, ceil }) => {
        const x = randomTensor([m.n, m.c, m.h, m.w], m.seed, -10, 10);
        const y = await runOp(backend, { type: 'maxpool2d', kernel, stride, pad, ceil }, x);
        const expected = oracle.maxpool2d(f64(x), kernel, stride, pad, ceil);
        expect(y.shape).toEqual(expected.shape);
        expect(Array.from(y.data)).toEqual(Array.from(expected.data));
      }),
      runs(60),
    );
  });

  it('avgpool2d averages each window, padding counted or not; adaptive pooling uses PyTorch bins', async () => {
    const bins = (inSize: number, outSize: number): [number, number][] =>
      Array.from({ length: outSize }, (_, o) => [Math.floor((o * inSize) / outSize), Math.ceil(((o + 1) * inSize) / outSize)]);
    await fc.assert(
      fc.asyncProperty(poolCase, async ({ maps: m, kernel, stride, pad, ceil, countIncludePad, out }) => {
        const x = randomTensor([m.n, m.c, m.h, m.w], m.seed);
        const fixed = await runOp(backend, { type: 'avgpool2d', kernel, stride, pad, ceil, countIncludePad }, x);
        const fixedExpected = oracle.avgpool2d(f64(x), kernel, stride, pad, ceil, countIncludePad);
        expect(fixed.shape).toEqual(fixedExpected.shape);
        expect(oracle.relErr(fixed.data, fixedExpected.data)).toBeLessThanOrEqual(opTolerance);
        const adaptive = await runOp(backend, { type: 'adaptiveavgpool2d', out }, x);
        const adaptiveExpected = oracle.avgpoolBins(f64(x), bins(m.h, out), bins(m.w, out));
        expect(adaptive.shape).toEqual(adaptiveExpected.shape);
        expect(oracle.relErr(adaptive.data, adaptiveExpected.data)).toBeLessThanOrEqual(opTolerance);
      }),
      runs(60),
    );
  });

  it('linear computes b + W x for every sample of the batch', async () => {
    const linearCase = fc.record({ n: fc.integer({ min: 1, max: 5 }), in: fc.integer({ min: 1, max: 67 }), out: fc.integer({ min: 1, max: 33 }), seed: fc.integer() });
    await fc.assert(
      fc.asyncProperty(linearCase, async (c) => {
        const x = randomTensor([c.n, c.in], c.seed);
        const weight = randomTensor([c.out, c.in], c.seed + 1);
        const bias = randomTensor([c.out], c.seed + 2);
        const y = await runOp(backend, { type: 'linear', out: c.out }, x, { weight, bias });
        const expected = oracle.linear(f64(x), f64(weight), f64(bias));
        expect(y.shape).toEqual([c.n, c.out]);
        expect(oracle.relErr(y.data, expected.data)).toBeLessThanOrEqual(opTolerance);
      }),
      runs(60),
    );
  });

  it('softmax sums to 1, is invariant to a shift, and matches exp(x - logsumexp x)', async () => {
    const softmaxCase = fc.record({ n: fc.integer({ min: 1, max: 4 }), f: fc.integer({ min: 1, max: 40 }), shift: fc.double({ min: -50, max: 50, noNaN: true }), seed: fc.integer() });
    await fc.assert(
      fc.asyncProperty(softmaxCase, async (c) => {
        const x = randomTensor([c.n, c.f], c.seed, -20, 20);
        const shifted = tensor(x.shape, x.data.map((v) => v + c.shift));
        const y = await runOp(backend, { type: 'softmax' }, x);
        const ys = await runOp(backend, { type: 'softmax' }, shifted);
        for (let s = 0; s < c.n; s++) {
          const sum = y.data.subarray(s * c.f, (s + 1) * c.f).reduce((a, v) => a + v, 0);
          expect(Math.abs(sum - 1)).toBeLessThanOrEqual(1e-5);
        }
        expect(oracle.relErr(ys.data, y.data)).toBeLessThanOrEqual(1e-5);
        expect(oracle.relErr(y.data, oracle.softmax(f64(x)).data)).toBeLessThanOrEqual(opTolerance);
      }),
      runs(60),
    );
  });

  it('softmax of huge logits does not overflow', async () => {
    const y = await runOp(backend, { type: 'softmax' }, tensor([1, 3], Float32Array.of(1000, 1000, -1000)));
    expect(Array.from(y.data)).toEqual([0.5, 0.5, 0]);
  });

  it('concat joins along channels (or features) per sample; slice takes a range back out; transfer is the identity', async () => {
    const caseArb = fc.record({ n: fc.integer({ min: 1, max: 3 }), parts: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }), h: fc.integer({ min: 1, max: 5 }), flat: fc.boolean(), seed: fc.integer() });
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ n, parts, h, flat, seed }) => {
        const rest = flat ? [] : [h, h + 1];
        const inner = rest.reduce((a, b) => a * b, 1);
        const total = parts.reduce((a, b) => a + b, 0);
        const x = randomTensor([n, total, ...rest], seed);
        // slice every part back out, then concat them: the identity, whatever the backend
        const specs: NodeSpec[] = [{ name: 'x', op: { type: 'input', shape: [total, ...rest] } }];
        let from = 0;
        parts.forEach((c, i) => {
          specs.push({ name: `s${i}`, op: { type: 'slice', from, to: from + c }, inputs: ['x'] });
          from += c;
        });
        // s0 goes to device 1 and back, so every backend also runs as two devices
        specs.push({ name: 'there', op: { type: 'transfer', from: 0, to: 1 }, inputs: ['s0'], device: 1 });
        specs.push({ name: 'back', op: { type: 'transfer', from: 1, to: 0 }, inputs: ['there'], device: 0 });
        specs.push({ name: 'joined', op: { type: 'concat' }, inputs: ['back', ...parts.slice(1).map((_, i) => `s${i + 1}`)] });
        const result = await runGraph(new Graph(specs), backend, new Map(), x, { keep: 'all' });
        expect(Array.from(result.output.data)).toEqual(Array.from(x.data));
        // and each slice holds exactly its channels, read from the input by index
        let c0 = 0;
        parts.forEach((c, i) => {
          const got = result.activations.get(`s${i}`)!;
          expect(got.shape).toEqual([n, c, ...rest]);
          for (let s = 0; s < n; s++) {
            for (let j = 0; j < c * inner; j++) expect(got.data[(s * c) * inner + j]).toBe(x.data[(s * total + c0) * inner + j]);
          }
          c0 += c;
        });
      }),
      runs(30),
    );
  });

  it('relu zeroes negatives and keeps the rest; flatten keeps C, H, W order; dropout is the identity at inference', async () => {
    await fc.assert(
      fc.asyncProperty(mapsCase, async (m) => {
        const x = randomTensor([m.n, m.c, m.h, m.w], m.seed);
        const r = await runOp(backend, { type: 'relu' }, x);
        expect(Array.from(r.data)).toEqual(Array.from(oracle.relu(f64(x)).data));
        const flat = await runOp(backend, { type: 'flatten' }, x);
        expect(flat.shape).toEqual([m.n, m.c * m.h * m.w]);
        expect(Array.from(flat.data)).toEqual(Array.from(x.data));
        const d = await runOp(backend, { type: 'dropout', p: 0.5 }, x);
        expect(Array.from(d.data)).toEqual(Array.from(x.data));
      }),
      runs(20),
    );
  });
});
