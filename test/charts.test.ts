// The charts (bench/charts.ts specs, src/train/metrics.ts's training curves) rendered by Vega as the
// benchmark and `train` render them, checked by reading the SVG back: each mark's geometry from its
// path or line (Vega labels every mark with its data in aria-label), well-formedness with a small
// tag-balance check, and the PNG resvg makes of it.
import { describe, expect, it } from 'vitest';
import { barChart, LAYER_GROUPS, stackedBars } from '../bench/charts.js';
import type { BarRow, StackedRow } from '../bench/charts.js';
import { renderSvg, svgToPng } from '../src/charts.js';
import type { EpochMetrics } from '../src/train/metrics.js';
import { trainingChart } from '../src/train/metrics.js';

const OPTIONS = { title: 'AlexNet forward', unit: 'ms/image' };

/** Throws unless every tag closes in order, attributes are quoted, and text holds no raw < > or stray &. */
function checkWellFormed(svg: string): void {
  const stack: string[] = [];
  const entity = /&(amp|lt|gt|quot|apos|#x[0-9A-Fa-f]+|#\d+);/g;
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>/g;
  let at = 0;
  for (const m of svg.matchAll(tag)) {
    const text = svg.slice(at, m.index);
    if (/[<>]/.test(text) || /&/.test(text.replace(entity, ''))) throw new Error(`bad text ${JSON.stringify(text)}`);
    if (/&/.test(m[3].replace(entity, ''))) throw new Error(`unescaped & in ${m[0]}`);
    at = m.index + m[0].length;
    const [, close, name, , selfClosing] = m;
    if (close) {
      if (stack.pop() !== name) throw new Error(`</${name}> closes nothing open`);
    } else if (!selfClosing) stack.push(name);
  }
  if (svg.slice(at).trim() !== '' || stack.length) throw new Error(`unclosed or malformed: ${stack.join(', ')} / ${svg.slice(at)}`);
  if (!svg.trimStart().startsWith('<svg')) throw new Error('not an svg');
}

/** Every rectangle Vega drew as `kind` ("bar", "tick"): its left edge, width and fill, in drawing order. */
function rects(svg: string, kind: string): { x: number; width: number; fill: string; label: string }[] {
  return [...svg.matchAll(new RegExp(`<path aria-label="([^"]*)"[^>]*aria-roledescription="${kind}" d="M([-\\d.e]+),[-\\d.e]+h([-\\d.e]+)[^"]*"(?: fill="([^"]*)")?`, 'g'))].map((m) => ({ label: m[1], x: Number(m[2]), width: Number(m[3]), fill: m[4] ?? '' }));
}

/** Every rule mark: where it starts (its translate) and how far it reaches. */
function rules(svg: string): { x1: number; x2: number }[] {
  return [...svg.matchAll(/aria-roledescription="rule mark" transform="translate\(([-\d.e]+),[-\d.e]+\)" x2="([-\d.e]+)"/g)].map((m) => ({ x1: Number(m[1]), x2: Number(m[1]) + Number(m[2]) }));
}

const ROWS: BarRow[] = [
  { label: 'wasm relaxed SIMD, 2 threads', median: 12.8, min: 12, max: 16.3 },
  { label: 'onnxruntime-web', median: 32.5, min: 30.7, max: 39.1 },
  { label: 'onnxruntime-node', median: 11.2, min: 10, max: 13.3 },
];

describe('barChart', () => {
  it('is well-formed and deterministic', async () => {
    const svg = await renderSvg(barChart(ROWS, OPTIONS));
    checkWellFormed(svg);
    expect(await renderSvg(barChart(ROWS, OPTIONS))).toBe(svg);
  });

  it('draws bars proportional to the medians, from one origin, in the rows\' order', async () => {
    const bars = rects(await renderSvg(barChart(ROWS, OPTIONS)), 'bar');
    expect(bars.map((b) => b.label.replace(/^.*label: /, ''))).toEqual(ROWS.map((r) => r.label));
    expect(new Set(bars.map((b) => b.x))).toEqual(new Set([0]));
    for (const [i, b] of bars.entries()) expect(b.width / bars[0].width).toBeCloseTo(ROWS[i].median / ROWS[0].median, 3);
  });

  it('spans each whisker from min to max on the bars\' scale, and writes the median past it', async () => {
    const svg = await renderSvg(barChart(ROWS, OPTIONS));
    const bars = rects(svg, 'bar');
    const whiskers = rules(svg);
    for (const [i, b] of bars.entries()) {
      const perUnit = b.width / ROWS[i].median;
      expect(whiskers[i].x1 / perUnit).toBeCloseTo(ROWS[i].min, 1);
      expect(whiskers[i].x2 / perUnit).toBeCloseTo(ROWS[i].max, 1);
    }
    const written = [...svg.matchAll(/aria-roledescription="text mark"[^>]*>([^<]*)</g)].map((m) => m[1]);
    expect(written).toEqual(['12.8', '32.5', '11.2']);
  });

  it('wraps a long label onto lines instead of cutting it', async () => {
    const long = 'WebGPU on software Vulkan (CPU): llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1, paper, batch 1, and then some';
    const svg = await renderSvg(barChart([{ label: long, median: 1234.5, min: 1000, max: 1500 }], OPTIONS));
    checkWellFormed(svg);
    const lines = [...svg.matchAll(/<tspan[^>]*>([^<]*)</g)].map((m) => m[1].replace(/&amp;/g, '&'));
    expect(lines.join(' ')).toBe(long);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(44);
  });
});

const STACK: StackedRow[] = [
  { label: 'wasm', parts: [{ name: 'conv1', value: 8 }, { name: 'norm1', value: 1 }, { name: 'pool1', value: 1 }, { name: 'conv2', value: 10 }, { name: 'fc6', value: 20 }] },
  // unfused: relu1 joins conv1, and a name of no group goes to other
  { label: 'reference', parts: [{ name: 'conv1', value: 30 }, { name: 'relu1', value: 10 }, { name: 'conv2', value: 40 }, { name: 'prob', value: 5 }] },
];

describe('stackedBars', () => {
  it('is well-formed and deterministic', async () => {
    const svg = await renderSvg(stackedBars(STACK, OPTIONS));
    checkWellFormed(svg);
    expect(await renderSvg(stackedBars(STACK, OPTIONS))).toBe(svg);
  });

  it('merges parts into one segment per layer group, in the groups\' order, coloured by the group', async () => {
    const segs = rects(await renderSvg(stackedBars(STACK, OPTIONS)), 'bar');
    const colour = Object.fromEntries(LAYER_GROUPS);
    const of = (label: string) => segs.filter((s) => s.label.endsWith(`label: ${label}`) || s.label.includes(`label: ${label};`));
    expect(of('wasm').map((s) => s.fill)).toEqual(['conv1', 'conv2', 'norm', 'pool', 'fc6'].map((g) => colour[g]));
    expect(of('reference').map((s) => s.fill)).toEqual(['conv1', 'conv2', 'other'].map((g) => colour[g]));
  });

  it('lays segments end to end, proportional to their values, summing to the bar\'s total', async () => {
    const svg = await renderSvg(stackedBars(STACK, OPTIONS));
    const segs = rects(svg, 'bar');
    const of = (label: string) => segs.filter((s) => s.label.includes(`label: ${label}`));
    const [wasm, reference] = [of('wasm'), of('reference')];
    const perUnit = reference.reduce((s, r) => s + r.width, 0) / 85;
    for (const bar of [wasm, reference]) {
      expect(bar[0].x).toBe(0);
      bar.slice(1).forEach((s, j) => expect(s.x).toBeCloseTo(bar[j].x + bar[j].width, 6));
    }
    expect(wasm.reduce((s, r) => s + r.width, 0) / perUnit).toBeCloseTo(40, 6);
    expect(reference[0].width / perUnit).toBeCloseTo(40, 6); // conv1 30 + relu1 10
    const totals = [...svg.matchAll(/aria-roledescription="text mark"[^>]*>([^<]*)</g)].map((m) => m[1]);
    expect(totals).toEqual(['40', '85']);
  });

  it('shows each group used once in the legend, in the groups\' order', async () => {
    const svg = await renderSvg(stackedBars(STACK, OPTIONS));
    expect(svg).toContain('Symbol legend for fill color with 6 values: conv1, conv2, norm, pool, fc6, other');
  });
});

describe('the training chart', () => {
  const row = (epoch: number, lr: number, loss: number, error: number): EpochMetrics => ({ epoch, lr, train_loss: loss, train_error: error, val_loss: loss * 0.9, val_top1_error: error * 0.8, val_top5_error: error * 0.1, images_per_s: 100, elapsed_s: epoch * 10 });
  const rows = [row(1, 0.01, 2, 0.5), row(2, 0.01, 1, 0.3), row(3, 0.001, 0.5, 0.2)];

  it('puts the loss and the error on axes of their own, the error in %, against whole epochs', async () => {
    const svg = await renderSvg(trainingChart(rows));
    checkWellFormed(svg);
    expect(svg).toMatch(/Y-axis titled 'loss'/);
    expect(svg).toMatch(/Y-axis titled 'error \(%\)' for a linear scale with values from 0 to 50/);
    const labels = [...svg.matchAll(/X-axis titled 'epoch'[\s\S]*?role-axis-label[^>]*>((?:<text[^>]*>[^<]*<\/text>)*)/g)].map((m) => [...m[1].matchAll(/<text[^>]*>([^<]*)</g)].map((t) => t[1]));
    expect(labels).toEqual([['1', '2', '3'], ['1', '2', '3']]); // both panels, whole epochs only
  });

  it('marks the learning-rate drop between the epochs it fell', async () => {
    const svg = await renderSvg(trainingChart(rows));
    expect(svg).toContain('lr 0.001');
    expect(svg.match(/aria-roledescription="rule mark"/g)).toHaveLength(2); // one per panel
  });

  it('writes no NaN for one epoch', async () => {
    expect(await renderSvg(trainingChart([row(1, 0.01, 1, 0.5)]))).not.toMatch(/NaN|Infinity/);
  });
});

describe('every chart', () => {
  const nasty = 'a<b & c>"d" \'e\'';

  it('escapes text: a label, title or unit with <&> does not break the markup', async () => {
    const specs = [barChart([{ label: nasty, median: 1, min: 1, max: 1 }], { title: nasty, unit: '<&>' }), stackedBars([{ label: nasty, parts: [{ name: 'conv1', value: 1 }] }], { title: nasty, unit: '<&>' })];
    for (const spec of specs) {
      const svg = await renderSvg(spec);
      checkWellFormed(svg);
      expect(svg).toContain('a&lt;b &amp; c&gt;');
    }
  });

  it('draws no NaN or Infinity for no rows, one row, or all-zero values', async () => {
    const cases: BarRow[][] = [[], [{ label: 'one', median: 5, min: 5, max: 5 }], [{ label: 'zero', median: 0, min: 0, max: 0 }]];
    for (const rows of cases) {
      for (const spec of [barChart(rows, OPTIONS), stackedBars(rows.map((r) => ({ label: r.label, parts: [{ name: 'conv1', value: r.median }] })), OPTIONS)]) {
        const svg = await renderSvg(spec);
        checkWellFormed(svg);
        expect(svg).not.toMatch(/NaN|Infinity/);
      }
    }
  });

  it('becomes a PNG at twice its size', async () => {
    const svg = await renderSvg(barChart(ROWS, OPTIONS));
    const png = await svgToPng(svg, 2);
    expect(Buffer.from(png.subarray(1, 4)).toString()).toBe('PNG');
    const width = new DataView(png.buffer, png.byteOffset).getUint32(16);
    expect(width).toBe(2 * Number(/width="(\d+)"/.exec(svg)![1]));
  });

  it('fails the well-formedness check on broken markup (the check itself can fail)', () => {
    expect(() => checkWellFormed('<svg><g></svg>')).toThrow();
    expect(() => checkWellFormed('<svg><text>a<b</text></svg>')).toThrow();
    expect(() => checkWellFormed('<svg><text>a & b</text></svg>')).toThrow();
  });
});
