// A property shared by the fast backends' suites: convolutions whose shapes stress tiling (channels
// and pixels off multiples of 4, 6, 8 and of the tiles; groups 1/2/4; strides 1/2/4; padding 0..3,
// the same on every side or not; kernels 1..11, mostly square, so that the wasm backend's Winograd
// and space-to-depth paths are taken with every padding), computed like the reference within 1e-5.
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Backend } from '../src/backends/backend.js';
import { referenceBackend } from '../src/backends/reference/index.js';
import type { Op } from '../src/graph/index.js';
import { sizeOf, tensor } from '../src/tensor.js';
import { randomData, relErr } from './oracle.js';
import { runOp } from './run-op.js';

export async function convolvesAwkwardShapes(backend: Backend, limits: { batch: number; maxOutPerGroup: number; maxSize: number; runs: number }): Promise<void> {
  const convCase = fc
    .record({
      n: fc.constantFrom(1, limits.batch),
      groups: fc.constantFrom(1, 2, 4),
      inPerGroup: fc.integer({ min: 1, max: 7 }),
      outPerGroup: fc.integer({ min: 1, max: limits.maxOutPerGroup }),
      kernel: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 11 }).map((k): [number, number] => [k, k]) }, { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 11 })) }),
      stride: fc.constantFrom(1, 2, 4),
      pad: fc.oneof(fc.integer({ min: 0, max: 3 }).map((p): [number, number, number, number] => [p, p, p, p]), fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }))),
      h: fc.integer({ min: 1, max: limits.maxSize }),
      w: fc.integer({ min: 1, max: limits.maxSize }),
      seed: fc.integer(),
    })
    .filter((c) => c.h + c.pad[0] + c.pad[2] >= c.kernel[0] && c.w + c.pad[1] + c.pad[3] >= c.kernel[1]);
  const random = (shape: number[], seed: number) => tensor(shape, randomData(sizeOf(shape), seed));
  await fc.assert(
    fc.asyncProperty(convCase, async (c) => {
      const out = c.groups * c.outPerGroup;
      const x = random([c.n, c.groups * c.inPerGroup, c.h, c.w], c.seed);
      const params = { weight: random([out, c.inPerGroup, ...c.kernel], c.seed + 1), bias: random([out], c.seed + 2) };
      const op: Op = { type: 'conv2d', out, kernel: c.kernel, stride: c.stride, pad: c.pad, groups: c.groups };
      const expected = await runOp(referenceBackend, op, x, params);
      const actual = await runOp(backend, op, x, params);
      expect(actual.shape).toEqual(expected.shape);
      expect(relErr(actual.data, expected.data)).toBeLessThanOrEqual(1e-5);
    }),
    { numRuns: limits.runs },
  );
}
