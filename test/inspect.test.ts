// The unit inspector (src/notebook/inspect.ts) against independent facts: an explained value is the
// reference backend's output at that unit, and a receptive field is what the unit depends on —
// changing every input pixel outside it leaves the unit's output bit-identical, and (one conv with
// nonzero weights) changing one pixel inside changes it. On random awkward chains of ops (strides
// and padding per side, ceil mode, count_include_pad, groups, even and odd kernels, adaptive bins,
// grouped LRN), and on the real presets against the textbook field arithmetic.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { referenceBackend } from '../src/backends/reference/index.js';
import { Graph, windowOf } from '../src/graph/index.js';
import type { GraphNode, NodeSpec, Op } from '../src/graph/index.js';
import { alexnet } from '../src/models/index.js';
import type { ConvExplanation } from '../src/notebook/inspect.js';
import { explainUnit, layerInput, receptiveField } from '../src/notebook/inspect.js';
import { runGraph } from '../src/runtime/index.js';
import type { Weights } from '../src/runtime/index.js';
import type { Tensor } from '../src/tensor.js';
import { sizeOf, tensor } from '../src/tensor.js';
import { randomData } from './oracle.js';

/** Raw numbers for one op; build() fits them to the shape the op receives. */
const recipe = fc.record({
  kind: fc.constantFrom('conv2d', 'conv2d', 'conv2d', 'maxpool2d', 'avgpool2d', 'adaptiveavgpool2d', 'lrn', 'relu'),
  kernel: fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 })),
  stride: fc.oneof(fc.integer({ min: 1, max: 3 }).map((s): [number, number] => [s, s]), fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }))),
  pad: fc.oneof(fc.integer({ min: 0, max: 3 }).map((p): [number, number, number, number] => [p, p, p, p]), fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }))),
  ceil: fc.boolean(),
  countIncludePad: fc.boolean(),
  groupPick: fc.nat(),
  outPerGroup: fc.integer({ min: 1, max: 3 }),
  lrnSize: fc.constantFrom(1, 3, 5),
  alphaOverSize: fc.boolean(),
  adaptiveOut: fc.integer({ min: 1, max: 4 }),
});
type Recipe = typeof recipe extends fc.Arbitrary<infer R> ? R : never;

const divisors = (n: number): number[] => Array.from({ length: n }, (_, k) => k + 1).filter((d) => n % d === 0);

/** The op a recipe makes for input maps [c, h, w]: kernels shrunk to fit, a pool's padding below its kernel. */
function opFor(r: Recipe, [c, h, w]: readonly number[]): Op {
  const groups = (n: number) => divisors(n)[r.groupPick % divisors(n).length];
  let [kh, kw] = r.kernel;
  let [t, l, b, rt] = r.pad;
  switch (r.kind) {
    case 'conv2d': {
      const g = groups(c);
      return { type: 'conv2d', out: g * r.outPerGroup, kernel: [Math.min(kh, h + t + b), Math.min(kw, w + l + rt)], stride: r.stride, pad: r.pad, groups: g };
    }
    case 'maxpool2d':
    case 'avgpool2d': {
      const fit = (k: number, p1: number, p2: number, size: number): [number, number, number] => {
        [p1, p2] = [Math.min(p1, k - 1), Math.min(p2, k - 1)];
        while (k > size + p1 + p2) [k, p1, p2] = [k - 1, Math.min(p1, k - 2), Math.min(p2, k - 2)];
        return [k, p1, p2];
      };
      [kh, t, b] = fit(kh, t, b, h);
      [kw, l, rt] = fit(kw, l, rt, w);
      const base = { kernel: [kh, kw] as const, stride: r.stride, pad: [t, l, b, rt] as const, ceil: r.ceil };
      return r.kind === 'maxpool2d' ? { type: 'maxpool2d', ...base } : { type: 'avgpool2d', ...base, countIncludePad: r.countIncludePad };
    }
    case 'adaptiveavgpool2d':
      return { type: 'adaptiveavgpool2d', out: r.adaptiveOut };
    case 'lrn':
      // a large alpha, so that the neighbours' squares move the value
      return { type: 'lrn', size: r.lrnSize, alpha: 0.5, beta: 0.75, k: 1.5, alphaOverSize: r.alphaOverSize, groups: groups(c) };
    default:
      return { type: 'relu' };
  }
}

function chainGraph(input: [number, number, number], recipes: readonly Recipe[]): Graph {
  const specs: NodeSpec[] = [{ name: 'x', op: { type: 'input', shape: input } }];
  let shape: readonly number[] = input;
  recipes.forEach((r, k) => {
    specs.push({ name: `n${k}`, op: opFor(r, shape) });
    shape = new Graph(specs).output.shape;
  });
  return new Graph(specs);
}

/** Values of magnitude 0.25..1 with random signs: no weight is zero, so every tap matters. */
function nonzero(n: number, seed: number): Float32Array {
  return randomData(n, seed).map((v) => Math.sign(v || 1) * (0.25 + 0.75 * Math.abs(v)));
}

function randomWeights(graph: Graph, seed: number, make = nonzero): Map<string, Tensor> {
  return new Map(graph.params().map((p, k) => [p.name, tensor(p.shape, make(sizeOf(p.shape), seed + 17 * (k + 1)))]));
}

async function runAll(graph: Graph, weights: Weights, x: Tensor): Promise<Map<string, Tensor>> {
  const { activations } = await runGraph(graph, referenceBackend, weights, x, { keep: 'all' });
  // drop the batch of 1
  return new Map([...activations].map(([name, t]) => [name, tensor(t.shape.slice(1), t.data)]));
}

/** The value of unit (c, i, j) in a [C, H, W] or [F] tensor of one image. */
function unitOf(t: Tensor, c: number, i: number, j: number): number {
  const [, h, w] = t.shape.length === 3 ? t.shape : [t.shape[0], 1, 1];
  return t.data[(c * h + i) * w + j];
}

/**
 * The explained value, rounded to float32, is the reference's stored output: both sum float32
 * inputs in float64 (the inspector in the reference's order), and the reference rounds once on
 * store. So within 1e-9 relative (in practice bit for bit), and the float64 value itself within
 * float32 rounding (2^-24 relative) of it.
 */
function expectSameValue(value: number, ref: number): void {
  expect(Math.abs(Math.fround(value) - ref)).toBeLessThanOrEqual(1e-9 * Math.max(Math.abs(ref), 1e-30));
  expect(Math.abs(value - ref)).toBeLessThanOrEqual(2 ** -24 * Math.abs(ref) + 1e-45);
}

const caseArb = fc.record({
  c: fc.integer({ min: 1, max: 4 }),
  h: fc.integer({ min: 1, max: 12 }),
  w: fc.integer({ min: 1, max: 12 }),
  recipes: fc.array(recipe, { minLength: 1, maxLength: 3 }),
  seed: fc.integer(),
  unit: fc.tuple(fc.nat(), fc.nat(), fc.nat()),
  anyChannel: fc.boolean(),
});

describe('explainUnit', () => {
  it('recomputes every unit of every node of random awkward chains as the reference backend computes it', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ c, h, w, recipes, seed }) => {
        const graph = chainGraph([c, h, w], recipes);
        const weights = randomWeights(graph, seed);
        const x = tensor([1, c, h, w], randomData(c * h * w, seed, -2, 2));
        const acts = await runAll(graph, weights, x);
        for (const node of graph.nodes.slice(1)) {
          const input = acts.get(node.inputs[0])!;
          const output = acts.get(node.name)!;
          const [oc, oh, ow] = node.shape;
          for (let ch = 0; ch < oc; ch++) {
            for (let i = 0; i < oh; i++) {
              for (let j = 0; j < ow; j++) {
                const e = explainUnit(graph, weights, node.name, input, ch, i, j, { output });
                expectSameValue(e.value, unitOf(output, ch, i, j));
                expect(e.op).toBe(node.op.type);
                expect(e.text.endsWith(` = ${String(Number(e.value.toPrecision(4)))}`)).toBe(true);
                // a conv's sum has one term per kernel tap that lands inside the input
                if (e.op === 'conv2d') {
                  const { kh, kw } = windowOf(node.op as Extract<Op, { type: 'conv2d' }>);
                  expect(e.terms + e.paddingTaps).toBe((input.shape[0] / (node.op as Extract<Op, { type: 'conv2d' }>).groups) * kh * kw);
                }
              }
            }
          }
        }
      }),
      { numRuns: 120 },
    );
  });

  it('explains every layer of the mini preset on a real forward pass (linear, softmax, flatten, dropout, grouped LRN)', async () => {
    const graph = alexnet({ preset: 'mini' });
    const weights = randomWeights(graph, 7, (n, seed) => randomData(n, seed, -0.15, 0.15));
    const image = tensor([1, 1, 32, 32], randomData(32 * 32, 3, -1, 1));
    const acts = await runAll(graph, weights, image);
    const cells = graph.nodes.slice(1).map((n) => ({ name: n.name, output: acts.get(n.name)! }));
    const pick = fc.sample(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { numRuns: 12, seed: 1 });
    for (const node of graph.nodes.slice(1)) {
      const input = layerInput(graph, cells, node.name, image);
      const output = acts.get(node.name)!;
      const [oc, oh, ow] = node.shape.length === 3 ? node.shape : [node.shape[0], 1, 1];
      for (const [a, b, d] of pick) {
        const e = explainUnit(graph, weights, node.name, input, a % oc, b % oh, d % ow, { output });
        expectSameValue(e.value, unitOf(output, a % oc, b % oh, d % ow));
        expect(e.backend!.error).toBeLessThanOrEqual(2 ** -24);
      }
    }
    const fc8 = explainUnit(graph, weights, 'fc8', acts.get('drop7')!, 3);
    expect(fc8.op === 'linear' && fc8.terms).toBe(512);
    expect(fc8.op === 'linear' && fc8.largest.map((t) => Math.abs(t.wx))).toEqual(fc8.op === 'linear' ? [...fc8.largest.map((t) => Math.abs(t.wx))].sort((p, q) => q - p) : []);
    const prob = explainUnit(graph, weights, 'prob', acts.get('fc8')!, 3);
    expect(prob.text).toMatch(/^p\[k=3\] = exp\(x\[k\] − max x\) \/ Σ_\{j<10\} exp\(x\[j\] − max x\) = exp\(/);
  });

  it('writes the real numbers into the formula', () => {
    // one 2x2 kernel over a 3x3 map, padding 1: unit (0, 0) sees x[0, 0] only, at tap (1, 1)
    const graph = new Graph([
      { name: 'x', op: { type: 'input', shape: [1, 3, 3] } },
      { name: 'conv', op: { type: 'conv2d', out: 1, kernel: 2, stride: 1, pad: 1, groups: 1 } },
      { name: 'pool', op: { type: 'maxpool2d', kernel: 2, stride: 2, ceil: true } },
      { name: 'norm', op: { type: 'lrn', size: 5, alpha: 1e-4, beta: 0.75, k: 2, alphaOverSize: false, groups: 1 } },
    ]);
    const weights = new Map([
      ['conv.weight', tensor([1, 1, 2, 2], Float32Array.from([0.5, -0.25, 2, 0.125]))],
      ['conv.bias', tensor([1], Float32Array.from([0.0123456]))],
    ]);
    const x = tensor([1, 3, 3], Float32Array.from([1.5, 2, 3, 4, 5, 6, 7, 8, 9]));
    const conv = explainUnit(graph, weights, 'conv', x, 0, 0, 0) as ConvExplanation;
    expect(conv.text).toBe('y[o=0, i=0, j=0] = b 0.01235 + Σ of 1 products w·x (3 taps in the zero padding left out) (largest: w[0,0,1,1]·x[0,0,0] = 0.125·1.5 = 0.1875) = 0.1998');
    expect(conv.window).toEqual({ node: 'x', channels: { start: 0, end: 1 }, rows: { start: -1, end: 1 }, cols: { start: -1, end: 1 }, clippedRows: { start: 0, end: 1 }, clippedCols: { start: 0, end: 1 }, padding: { top: 1, left: 1, bottom: 0, right: 0 } });
    const pool = explainUnit(graph, weights, 'pool', tensor([1, 4, 4], Float32Array.from([1, 2, 3, 4, 5, 9, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])), 0, 0, 1);
    expect(pool.text).toBe('y[c=0, i=0, j=1] = max of 4 values x[0, 0..1, 2..3], largest at x[0, 1, 3] = 8');
    const norm = explainUnit(graph, weights, 'norm', tensor([1, 2, 2], Float32Array.from([3, 1, 4, 1])), 0, 1, 1);
    expect(norm.text).toBe('b[c=0, i=1, j=1] = a[c] / (2 + 0.0001 · Σ_{j=0..0} a[j]²)^0.75 = 1 / (2 + 0.0001 · 1)^0.75 = 1 / 1.682 = 0.5946');
  });

  it('refuses units outside the output and inputs of the wrong shape', () => {
    const graph = alexnet({ preset: 'mini' });
    const weights = randomWeights(graph, 1);
    expect(() => explainUnit(graph, weights, 'conv1', tensor([1, 32, 32]), 24, 0, 0)).toThrow(/not in it/);
    expect(() => explainUnit(graph, weights, 'conv1', tensor([1, 31, 32]), 0, 0, 0)).toThrow(/expected \[1, 32, 32\]/);
    expect(() => explainUnit(graph, new Map(), 'conv1', tensor([1, 32, 32]), 0, 0, 0)).toThrow(/no parameter "conv1.weight"/);
  });
});

/** Every input position (channel, row, col) of maps [c, h, w] outside a field box. */
function outside(f: ReturnType<typeof receptiveField>['field'], [c, h, w]: readonly number[]): [number, number, number][] {
  const inside = (s: { start: number; end: number }, v: number) => v >= s.start && v < s.end;
  const out: [number, number, number][] = [];
  for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (!(inside(f.channels, ch) && inside(f.rows, y) && inside(f.cols, x))) out.push([ch, y, x]);
  return out;
}

/**
 * A field holds what the unit depends on: every pixel outside can change at once without changing
 * it. And it holds no more than that where one op's window is dense in its input: one conv with
 * nonzero weights, an average, an LRN (a large alpha) or a ReLU changes when any one pixel inside
 * does (the corners and the middle are tried); a max may ignore a pixel, and a chain may leave gaps
 * (a stride wider than a kernel) or zeros (a ReLU).
 */
async function fieldIsWhatTheUnitReads(cases: typeof caseArb, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(cases, async ({ c, h, w, recipes, seed, unit, anyChannel }) => {
      const graph = chainGraph([c, h, w], recipes);
      const last: GraphNode = graph.output;
      const [oc, oh, ow] = last.shape;
      const [ch, i, j] = [unit[0] % oc, unit[1] % oh, unit[2] % ow];
      const { field, window } = receptiveField(graph, last.name, i, j, anyChannel ? undefined : ch);
      const weights = randomWeights(graph, seed);
      const data = randomData(c * h * w, seed, -1, 1);
      const at = (p: number[]) => (p[0] * h + p[1]) * w + p[2];
      const unitValue = async (d: Float32Array, channel: number) => unitOf((await runAll(graph, weights, tensor([1, c, h, w], d))).get(last.name)!, channel, i, j);
      const channels = anyChannel ? Array.from({ length: oc }, (_, k) => k) : [ch];
      const before = await Promise.all(channels.map((k) => unitValue(data, k)));

      const moved = Float32Array.from(data);
      for (const p of outside(field, [c, h, w])) moved[at(p)] = data[at(p)] + 3.5;
      expect(await Promise.all(channels.map((k) => unitValue(moved, k)))).toEqual(before);

      const { channels: cs, rows, cols } = field;
      if (graph.nodes.length === 2 && last.op.type !== 'maxpool2d' && !anyChannel && rows.end > rows.start && cols.end > cols.start) {
        expect([field.rows, field.cols, field.channels]).toEqual([window.clippedRows, window.clippedCols, window.channels]);
        const mid = (s: { start: number; end: number }) => (s.start + s.end - 1) >> 1;
        for (const p of [[cs.start, rows.start, cols.start], [cs.end - 1, rows.end - 1, cols.end - 1], [mid(cs), mid(rows), mid(cols)]]) {
          const one = Float32Array.from(data);
          one[at(p)] += 4;
          expect(await unitValue(one, ch)).not.toBe(before[0]);
        }
      }
    }),
    { numRuns },
  );
}

describe('receptiveField', () => {
  it('of one op is exactly what the unit reads', async () => {
    await fieldIsWhatTheUnitReads(caseArb.map((k) => ({ ...k, recipes: k.recipes.slice(0, 1) })), 200);
  });

  it('through a chain of ops holds everything the unit depends on', async () => {
    await fieldIsWhatTheUnitReads(caseArb, 150);
  });

  it('reads its group\'s channels (grouped conv) and its neighbours within the group (grouped LRN), on the paper preset', () => {
    const paper = alexnet({ preset: 'paper' });
    // conv5: 256 maps in 2 groups over conv4's 384: output 200 is in the second group
    expect(receptiveField(paper, 'conv5', 6, 6, 200).window.channels).toEqual({ start: 192, end: 384 });
    expect(receptiveField(paper, 'conv5', 6, 6, 127).window.channels).toEqual({ start: 0, end: 192 });
    // norm1: 96 maps in two towers of 48, window 5: map 47 reads 45..47, map 48 reads 48..50
    expect(receptiveField(paper, 'norm1', 0, 0, 47).window.channels).toEqual({ start: 45, end: 48 });
    expect(receptiveField(paper, 'norm1', 0, 0, 48).window.channels).toEqual({ start: 48, end: 51 });
    // flat layers: fc8 reads all of fc7; one feature of flatten reads one value of pool5
    const fc8 = receptiveField(paper, 'fc8', 0, 0, 5);
    expect(fc8.window).toMatchObject({ node: 'drop7', channels: { start: 0, end: 4096 }, rows: { start: 0, end: 1 } });
    expect(fc8.field).toMatchObject({ channels: { start: 0, end: 3 }, rows: { start: 0, end: 227 }, cols: { start: 0, end: 227 } });
    const f = 2 * 36 + 3 * 6 + 4; // pool5 [256, 6, 6]: map 2, row 3, col 4
    expect(receptiveField(paper, 'flatten', 0, 0, f).window).toMatchObject({ node: 'pool5', channels: { start: 2, end: 3 }, rows: { start: 3, end: 4 }, cols: { start: 4, end: 5 } });
  });

  // the textbook arithmetic, from the graph's own ops: r_out = r_in + (k − 1)·j_in, j_out = j_in·s,
  // and the first unit's field starts at start_in − pad_before·j_in
  for (const preset of ['mini', 'paper'] as const) {
    it(`gives the ${preset} preset's conv1 and conv5 the field size and spacing of the arithmetic`, () => {
      const graph = alexnet({ preset });
      const expected = new Map<string, { r: number; j: number; start: number }>();
      let geo = { r: 1, j: 1, start: 0 };
      for (const node of graph.nodes) {
        const { op } = node;
        if (op.type === 'conv2d' || op.type === 'maxpool2d') {
          const win = windowOf(op);
          expect([win.kh, win.sh, win.top]).toEqual([win.kw, win.sw, win.left]); // square, so one axis tells both
          geo = { r: geo.r + (win.kh - 1) * geo.j, j: geo.j * win.sh, start: geo.start - win.top * geo.j };
        }
        expected.set(node.name, geo);
      }
      const size = graph.input.shape[1];
      if (preset === 'paper') {
        expect(expected.get('conv1')).toEqual({ r: 11, j: 4, start: 0 });
        expect(expected.get('conv5')).toMatchObject({ r: 163, j: 16 });
      }
      for (const layer of ['conv1', 'conv5']) {
        const e = expected.get(layer)!;
        const n = graph.node(layer).shape[1];
        const mid = n >> 1;
        const f = (u: number) => receptiveField(graph, layer, u, mid).field;
        // every unit's textbook field: r wide, j apart
        for (const u of [0, mid, n - 1]) {
          expect(f(u).unclippedRows).toEqual({ start: e.start + u * e.j, end: e.start + u * e.j + e.r });
          expect(f(u).unclippedCols).toEqual(f(mid).unclippedRows);
        }
        // a central unit's field clipped to the image (the mini conv5's field, 43 wide, is wider than its 32-pixel image)
        const clipped = { start: Math.max(0, e.start + mid * e.j), end: Math.min(size, e.start + mid * e.j + e.r) };
        expect(f(mid).rows).toEqual(clipped);
        expect(f(mid).channels).toEqual({ start: 0, end: graph.input.shape[0] });
      }
      // conv1 of the paper: 11x11 at stride 4, no padding: unit (i, j) sees rows 4i..4i+10
      if (preset === 'paper') expect(receptiveField(graph, 'conv1', 54, 10).field).toMatchObject({ rows: { start: 216, end: 227 }, cols: { start: 40, end: 51 } });
    });
  }
});
