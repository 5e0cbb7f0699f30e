// The benchmark's charts as Vega-Lite specs (src/charts.ts renders them to SVG and PNG, as it does
// the training curves): one bar per system at its median with a whisker from the fastest to the
// slowest run, and per-layer times as stacked bars, one colour per layer group.
import type { ChartSpec } from '../src/charts.js';

export interface BarRow {
  label: string;
  median: number;
  min: number;
  max: number;
}

export interface StackedRow {
  label: string;
  parts: { name: string; value: number }[];
}

export interface ChartOptions {
  title: string;
  unit: string;
}

/** The groups a stacked bar is split into, in bar order, and their colours (Tableau's). */
export const LAYER_GROUPS: readonly (readonly [string, string])[] = [
  ['conv1', '#1f77b4'],
  ['conv2', '#ff7f0e'],
  ['conv3', '#2ca02c'],
  ['conv4', '#d62728'],
  ['conv5', '#9467bd'],
  ['norm', '#8c564b'],
  ['pool', '#e377c2'],
  ['fc6', '#bcbd22'],
  ['fc7', '#17becf'],
  ['fc8', '#aec7e8'],
  ['other', '#7f7f7f'],
];

/**
 * An AlexNet node's group: reluN joins convN / fcN, so that a backend that fuses the ReLU into the
 * layer before it and one that runs it separately draw the same segments; normN, poolN together.
 */
export function layerGroup(name: string): string {
  const m = /^(conv|relu|fc)(\d)$/.exec(name);
  if (m) {
    const n = Number(m[2]);
    if (n >= 1 && n <= 5 && m[1] !== 'fc') return `conv${n}`;
    if (n >= 6 && n <= 8 && m[1] !== 'conv') return `fc${n}`;
  }
  if (/^(norm|lrn)/.test(name)) return 'norm';
  if (/^pool/.test(name)) return 'pool';
  return 'other';
}

const WIDTH = 480;
const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
/** Long labels wrap at this many characters (Vega-Lite's labelLimit would cut them). */
const LABEL_CHARS = 44;

/** Splits at spaces into lines of at most `max` characters; a longer word is cut into pieces. */
export function wrap(text: string, max = LABEL_CHARS): string[] {
  const words = text.split(/\s+/).filter(Boolean).flatMap((w) => w.match(new RegExp(`.{1,${max}}`, 'gu'))!);
  const lines: string[] = [];
  for (const w of words) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + w.length <= max) lines[lines.length - 1] = `${last} ${w}`;
    else lines.push(w);
  }
  return lines.length ? lines : [''];
}

/** A y axis of labels that may be long: each wrapped onto lines (Vega's labelExpr splits them at '\n'). */
const labelAxis = { title: null, labelLimit: 0, labelExpr: "split(datum.label, '\\n')" } as const;

/** One horizontal bar per row at its median, a whisker from min to max, the median written past it. */
export function barChart(rows: readonly BarRow[], { title, unit }: ChartOptions): ChartSpec {
  const values = rows.map((r) => ({ label: wrap(r.label).join('\n'), median: r.median, min: r.min, max: r.max }));
  const y = { field: 'label', type: 'nominal', sort: values.map((v) => v.label), axis: labelAxis } as const;
  return {
    $schema: SCHEMA,
    title: { text: title, anchor: 'start' },
    width: WIDTH,
    data: { values },
    encoding: { y },
    layer: [
      { mark: { type: 'bar', color: '#1f77b4' }, encoding: { x: { field: 'median', type: 'quantitative', title: unit, scale: { zero: true } } } },
      { mark: { type: 'rule', color: 'black' }, encoding: { x: { field: 'min', type: 'quantitative' }, x2: { field: 'max' } } },
      { mark: { type: 'tick', color: 'black', orient: 'vertical', size: 10 }, encoding: { x: { field: 'min', type: 'quantitative' } } },
      { mark: { type: 'tick', color: 'black', orient: 'vertical', size: 10 }, encoding: { x: { field: 'max', type: 'quantitative' } } },
      { mark: { type: 'text', align: 'left', dx: 4 }, encoding: { x: { field: 'max', type: 'quantitative' }, text: { field: 'median', format: '.3~r' } } },
    ],
  } as ChartSpec;
}

/** The parts of each row merged by layerGroup, in LAYER_GROUPS order: what stackedBars draws. */
export function stackedParts(rows: readonly StackedRow[]): { row: number; label: string; group: string; value: number }[] {
  return rows.flatMap((r, row) => {
    const by = new Map<string, number>();
    for (const p of r.parts) by.set(layerGroup(p.name), (by.get(layerGroup(p.name)) ?? 0) + p.value);
    return LAYER_GROUPS.filter(([g]) => by.has(g)).map(([group]) => ({ row, label: wrap(r.label).join('\n'), group, value: by.get(group)! }));
  });
}

/** One horizontal bar per row, its parts merged by layerGroup into coloured segments, the total past it, a legend below. */
export function stackedBars(rows: readonly StackedRow[], { title, unit }: ChartOptions): ChartSpec {
  const parts = stackedParts(rows);
  const used = LAYER_GROUPS.filter(([g]) => parts.some((p) => p.group === g));
  const totals = rows.map((r, row) => ({ row, label: wrap(r.label).join('\n'), total: parts.filter((p) => p.row === row).reduce((s, p) => s + p.value, 0) }));
  const y = { field: 'label', type: 'nominal', sort: totals.map((t) => t.label), axis: labelAxis } as const;
  const rank = Object.fromEntries(LAYER_GROUPS.map(([g], i) => [g, i]));
  return {
    $schema: SCHEMA,
    title: { text: title, anchor: 'start' },
    width: WIDTH,
    encoding: { y },
    layer: [
      {
        data: { values: parts.map((p) => ({ ...p, rank: rank[p.group] })) },
        mark: { type: 'bar' },
        encoding: {
          x: { field: 'value', type: 'quantitative', stack: 'zero', title: unit },
          color: { field: 'group', type: 'nominal', title: null, scale: { domain: used.map(([g]) => g), range: used.map(([, c]) => c) }, legend: { orient: 'bottom', columns: 6 } },
          order: { field: 'rank' },
          tooltip: [{ field: 'group' }, { field: 'value', format: '.1f', title: unit }],
        },
      },
      { data: { values: totals }, mark: { type: 'text', align: 'left', dx: 4 }, encoding: { x: { field: 'total', type: 'quantitative' }, text: { field: 'total', format: '.3~r' } } },
    ],
  } as ChartSpec;
}
