// The benchmark's SVG charts (bench/charts.ts), checked by reading the markup back: geometry from
// the rects' and lines' attributes, well-formedness with a small tag-balance check (no XML parser
// in the dependencies).
import { describe, expect, it } from 'vitest';
import { barChart, LAYER_GROUPS, stackedBars } from '../bench/charts.js';
import type { BarRow, StackedRow } from '../bench/charts.js';

const OPTIONS = { title: 'AlexNet forward', unit: 'ms/image' };

/** Throws unless every tag closes in order, attributes are quoted, and text holds no raw < > or stray &. */
function checkWellFormed(svg: string): void {
  const stack: string[] = [];
  const entity = /&(amp|lt|gt|quot|apos);/g;
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
  if (/[<>]/.test(svg.slice(at)) || stack.length) throw new Error(`unclosed or malformed: ${stack.join(', ')} / ${svg.slice(at)}`);
  if (!svg.trimStart().startsWith('<svg')) throw new Error('not an svg');
}

/** The attributes of every element `<name ... class="cls" ...>`, numbers where they parse. */
function elements(svg: string, name: string, cls: string): Record<string, string>[] {
  return [...svg.matchAll(new RegExp(`<${name}\\s([^>]*)>`, 'g'))]
    .map((m) => Object.fromEntries([...m[1].matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]])))
    .filter((a) => a.class === cls);
}
const n = (s: string): number => Number(s);

const ROWS: BarRow[] = [
  { label: 'wasm relaxed SIMD, 2 threads', median: 12.8, min: 12, max: 16.3 },
  { label: 'onnxruntime-web', median: 32.5, min: 30.7, max: 39.1 },
  { label: 'onnxruntime-node', median: 11.2, min: 10, max: 13.3 },
];

describe('barChart', () => {
  const svg = barChart(ROWS, OPTIONS);

  it('is well-formed and deterministic', () => {
    checkWellFormed(svg);
    expect(barChart(ROWS, OPTIONS)).toBe(svg);
  });

  it('draws bars proportional to the medians, from one origin', () => {
    const bars = elements(svg, 'rect', 'bar');
    expect(bars).toHaveLength(3);
    expect(new Set(bars.map((b) => b.x)).size).toBe(1);
    for (const [i, b] of bars.entries()) expect(n(b.width) / n(bars[0].width)).toBeCloseTo(ROWS[i].median / ROWS[0].median, 3);
  });

  it('spans each whisker from min to max on the bars\' scale, and writes the value past it', () => {
    const bars = elements(svg, 'rect', 'bar');
    const whiskers = elements(svg, 'line', 'whisker');
    const values = elements(svg, 'text', 'value');
    for (const [i, b] of bars.entries()) {
      const perUnit = n(b.width) / ROWS[i].median;
      expect((n(whiskers[i].x1) - n(b.x)) / perUnit).toBeCloseTo(ROWS[i].min, 1);
      expect((n(whiskers[i].x2) - n(b.x)) / perUnit).toBeCloseTo(ROWS[i].max, 1);
      expect(n(values[i].x)).toBeGreaterThan(n(whiskers[i].x2));
    }
    expect([...svg.matchAll(/class="value"[^>]*>([^<]*)</g)].map((m) => m[1])).toEqual(['12.8', '32.5', '11.2']);
  });

  it('keeps long labels and the values inside the 800 px width', () => {
    const long = 'WebGPU on software Vulkan (CPU): llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1, paper, batch 1, and then some';
    const wide = barChart([{ label: long, median: 1234.5, min: 1000, max: 1500 }], OPTIONS);
    checkWellFormed(wide);
    const lines = [...wide.matchAll(/<tspan[^>]*>([^<]*)</g)].map((m) => m[1]);
    expect(lines.join(' ')).toBe(long);
    const barX = n(elements(wide, 'rect', 'bar')[0].x);
    // 7 px per character of 12 px sans-serif, as the chart assumes: the widest line ends left of the bars
    expect(Math.max(...lines.map((l) => l.length)) * 7).toBeLessThan(barX);
    expect(barX).toBeLessThanOrEqual(400); // wrapped, so that the labels leave the bars half the width
    const value = elements(wide, 'text', 'value')[0];
    expect(n(value.x) + '1235'.length * 7).toBeLessThanOrEqual(800);
  });
});

const STACK: StackedRow[] = [
  { label: 'wasm', parts: [{ name: 'conv1', value: 8 }, { name: 'norm1', value: 1 }, { name: 'pool1', value: 1 }, { name: 'conv2', value: 10 }, { name: 'fc6', value: 20 }] },
  // unfused: relu1 joins conv1, and a name of no group goes to other
  { label: 'reference', parts: [{ name: 'conv1', value: 30 }, { name: 'relu1', value: 10 }, { name: 'conv2', value: 40 }, { name: 'prob', value: 5 }] },
];

describe('stackedBars', () => {
  const svg = stackedBars(STACK, OPTIONS);
  const groups = [...svg.matchAll(/<g class="stack">(.*?)<\/g>/g)].map((m) => ({
    segs: elements(m[1], 'rect', 'seg'),
    value: elements(m[1], 'text', 'value')[0],
  }));

  it('is well-formed and deterministic', () => {
    checkWellFormed(svg);
    expect(stackedBars(STACK, OPTIONS)).toBe(svg);
  });

  it('merges parts into one segment per layer group, coloured by the group', () => {
    const colour = Object.fromEntries(LAYER_GROUPS);
    expect(groups[0].segs.map((s) => s.fill)).toEqual(['conv1', 'conv2', 'norm', 'pool', 'fc6'].map((g) => colour[g]));
    expect(groups[1].segs.map((s) => s.fill)).toEqual(['conv1', 'conv2', 'other'].map((g) => colour[g]));
    expect(svg).toContain('<title>conv1: 40.0 ms/image</title>');
  });

  it('lays segments end to end, proportional to their values, summing to the bar\'s total', () => {
    const totals = [40, 85];
    const widths = groups.map((g) => g.segs.reduce((s, r) => s + n(r.width), 0));
    expect(widths[0] / widths[1]).toBeCloseTo(totals[0] / totals[1], 3);
    for (const [i, g] of groups.entries()) {
      const perUnit = widths[i] / totals[i];
      expect(n(g.segs[0].x)).toBe(n(groups[0].segs[0].x));
      g.segs.slice(1).forEach((s, j) => expect(n(s.x)).toBeCloseTo(n(g.segs[j].x) + n(g.segs[j].width), 1));
      // the total is written 6 px past the end of the last segment
      const end = n(g.segs.at(-1)!.x) + n(g.segs.at(-1)!.width);
      expect(n(g.value.x) - 6).toBeCloseTo(end, 1);
      expect((end - n(g.segs[0].x)) / perUnit).toBeCloseTo(totals[i], 1);
    }
    expect(n(groups[1].segs[0].width) / n(groups[1].segs[1].width)).toBeCloseTo(40 / 40, 2);
    expect(n(groups[0].segs[4].width) / n(groups[0].segs[0].width)).toBeCloseTo(20 / 8, 2);
  });

  it('shows each group used once in the legend', () => {
    const swatches = elements(svg, 'rect', 'swatch').map((s) => s.fill);
    expect(swatches).toEqual(LAYER_GROUPS.filter(([g]) => ['conv1', 'conv2', 'norm', 'pool', 'fc6', 'other'].includes(g)).map(([, c]) => c));
  });
});

describe('both charts', () => {
  const nasty = 'a<b & c>"d" \'e\'';
  const charts = (rows: BarRow[], options = OPTIONS): string[] => [barChart(rows, options), stackedBars(rows.map((r) => ({ label: r.label, parts: [{ name: 'conv1', value: r.median }] })), options)];

  it('escape text: a label, title or unit with <&> does not break the markup', () => {
    for (const svg of charts([{ label: nasty, median: 1, min: 1, max: 1 }], { title: nasty, unit: '<&>' })) {
      checkWellFormed(svg);
      expect(svg).toContain('a&lt;b &amp; c&gt;&quot;d&quot; &apos;e&apos;');
      expect(svg).toContain('&lt;&amp;&gt;');
    }
  });

  it('write no NaN or Infinity for no rows, one row, or all-zero values', () => {
    const cases: BarRow[][] = [[], [{ label: 'one', median: 5, min: 5, max: 5 }], [{ label: 'zero', median: 0, min: 0, max: 0 }]];
    for (const rows of cases) {
      for (const svg of charts(rows)) {
        checkWellFormed(svg);
        expect(svg).not.toMatch(/NaN|Infinity/);
      }
    }
  });

  it('fail the well-formedness check on broken markup (the check itself can fail)', () => {
    expect(() => checkWellFormed('<svg><g></svg>')).toThrow();
    expect(() => checkWellFormed('<svg><text>a<b</text></svg>')).toThrow();
    expect(() => checkWellFormed('<svg><text>a & b</text></svg>')).toThrow();
  });
});
