// The benchmark's charts as standalone SVG strings, drawn by hand as src/train/metrics.ts plotSvg
// does (no dependency, deterministic: the same rows give the same bytes). Text cannot be measured
// without a renderer, so widths are estimated from character counts at CHAR_W per character, and
// labels longer than LABEL_CHARS wrap onto more lines rather than squeeze the plot or get clipped.

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

const WIDTH = 800;
const PAD = 12;
const FONT = 12;
/** Average advance of a 12 px sans-serif character, rounded up so that estimates err wide. */
const CHAR_W = 7;
const LINE_H = 15;
const LABEL_CHARS = 40;
const BAR_H = 16;
const AXIS_H = 30;
const TITLE_H = 34;

/** The groups a stacked bar is split into, in bar order, and their colours (Tableau's, as plotSvg's). */
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

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

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

/** A round axis end at or above `max`, and its tick step (1, 2 or 5 times a power of ten; 4 to 7 ticks). */
function axisScale(max: number): { end: number; step: number } {
  if (!(max > 0)) return { end: 1, step: 0.2 };
  const raw = max / 6;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * pow).find((s) => s >= raw)!;
  return { end: Math.ceil(max / step - 1e-9) * step, step };
}

/** Few digits, more for small values: 1234, 123, 12.3, 1.23, 0.123. */
function num(v: number): string {
  const a = Math.abs(v);
  return v.toFixed(a >= 100 || a === 0 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
}

const f = (v: number): string => v.toFixed(2);

/** The frame every chart shares: horizontal bars, one row band per label, an axis below. */
function frame(labels: string[], valueChars: number, end: number, { title, unit }: ChartOptions, extraHeight: number) {
  const wrapped = labels.map((l) => wrap(l));
  const left = PAD + CHAR_W * Math.max(1, ...wrapped.flat().map((l) => l.length)) + PAD;
  const right = WIDTH - PAD - CHAR_W * valueChars - 6;
  const bands: { top: number; height: number }[] = [];
  let y = TITLE_H;
  for (const lines of wrapped) {
    const height = Math.max(BAR_H, lines.length * LINE_H) + 10;
    bands.push({ top: y, height });
    y += height;
  }
  const axisY = y + 4;
  const height = axisY + AXIS_H + extraHeight + PAD;
  const { step } = axisScale(end);
  const x = (v: number): number => left + ((right - left) * v) / end;
  const ticks: string[] = [];
  for (let i = 0; i * step <= end * (1 + 1e-9); i++) {
    const v = i * step;
    ticks.push(`<line x1="${f(x(v))}" y1="${TITLE_H}" x2="${f(x(v))}" y2="${axisY + 4}" stroke="#ddd"/>`, `<text x="${f(x(v))}" y="${axisY + 16}" font-size="11" text-anchor="middle">${num(v)}</text>`);
  }
  const labelText = wrapped.map((lines, i) => {
    const mid = bands[i].top + bands[i].height / 2;
    const first = mid - ((lines.length - 1) * LINE_H) / 2 + 4;
    return `<text x="${left - PAD}" y="${f(first)}" font-size="${FONT}" text-anchor="end">${lines.map((l, j) => `<tspan x="${left - PAD}" dy="${j ? LINE_H : 0}">${escapeXml(l)}</tspan>`).join('')}</text>`;
  });
  const open = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
    `<text x="${PAD}" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    ...ticks,
    `<line x1="${left}" y1="${axisY}" x2="${f(right)}" y2="${axisY}" stroke="black"/>`,
    `<text x="${f((left + right) / 2)}" y="${axisY + AXIS_H}" font-size="${FONT}" text-anchor="middle">${escapeXml(unit)}</text>`,
    ...labelText,
  ];
  return { open, bands, x, left, axisY };
}

/** Nothing to draw: a titled blank rather than a chart of NaNs. */
function empty({ title }: ChartOptions): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="60" viewBox="0 0 ${WIDTH} 60" font-family="sans-serif">`,
    `<rect width="${WIDTH}" height="60" fill="white"/>`,
    `<text x="${PAD}" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${PAD}" y="44" font-size="${FONT}">no data</text>`,
    '</svg>',
  ].join('\n');
}

/** One horizontal bar per row at its median, a whisker from min to max, the median written after it. */
export function barChart(rows: readonly BarRow[], options: ChartOptions): string {
  if (!rows.length) return empty(options);
  const values = rows.map((r) => num(r.median));
  const { end } = axisScale(Math.max(...rows.map((r) => Math.max(r.median, r.max))));
  const { open, bands, x, left } = frame(
    rows.map((r) => r.label),
    Math.max(...values.map((v) => v.length)),
    end,
    options,
    0,
  );
  const bars = rows.map((r, i) => {
    const mid = bands[i].top + bands[i].height / 2;
    const cap = (v: number): string => `<line x1="${f(x(v))}" y1="${f(mid - 5)}" x2="${f(x(v))}" y2="${f(mid + 5)}" stroke="black"/>`;
    return [
      `<rect class="bar" x="${left}" y="${f(mid - BAR_H / 2)}" width="${f(x(r.median) - left)}" height="${BAR_H}" fill="#1f77b4"/>`,
      `<line class="whisker" x1="${f(x(r.min))}" y1="${f(mid)}" x2="${f(x(r.max))}" y2="${f(mid)}" stroke="black"/>`,
      cap(r.min),
      cap(r.max),
      `<text class="value" x="${f(x(Math.max(r.median, r.max)) + 6)}" y="${f(mid + 4)}" font-size="${FONT}">${values[i]}</text>`,
    ].join('');
  });
  return [...open, ...bars, '</svg>'].join('\n');
}

/** One horizontal bar per row, its parts merged by layerGroup into coloured segments, a legend below. */
export function stackedBars(rows: readonly StackedRow[], options: ChartOptions): string {
  if (!rows.length) return empty(options);
  const sums = rows.map((r) => {
    const by = new Map<string, number>();
    for (const p of r.parts) by.set(layerGroup(p.name), (by.get(layerGroup(p.name)) ?? 0) + p.value);
    return LAYER_GROUPS.filter(([g]) => by.has(g)).map(([g, colour]) => ({ group: g, colour, value: by.get(g)! }));
  });
  const totals = sums.map((s) => s.reduce((t, p) => t + p.value, 0));
  const values = totals.map(num);
  const used = LAYER_GROUPS.filter(([g]) => sums.some((s) => s.some((p) => p.group === g)));
  // the legend flows left to right, wrapping at the chart's width
  const legend: string[] = [];
  let [lx, ly] = [PAD, 0];
  for (const [g, colour] of used) {
    const w = 14 + 4 + CHAR_W * g.length + 14;
    if (lx + w > WIDTH - PAD) [lx, ly] = [PAD, ly + LINE_H + 4];
    legend.push(`<rect class="swatch" x="${lx}" y="${ly}" width="12" height="12" fill="${colour}"/><text x="${lx + 16}" y="${ly + 10}" font-size="${FONT}">${g}</text>`);
    lx += w;
  }
  const { end } = axisScale(Math.max(...totals));
  const { open, bands, x, axisY } = frame(
    rows.map((r) => r.label),
    Math.max(...values.map((v) => v.length)),
    end,
    options,
    ly + LINE_H + 8,
  );
  const bars = sums.map((parts, i) => {
    const mid = bands[i].top + bands[i].height / 2;
    let at = 0;
    const segments = parts.map((p) => {
      const s = `<rect class="seg" x="${f(x(at))}" y="${f(mid - BAR_H / 2)}" width="${f(x(at + p.value) - x(at))}" height="${BAR_H}" fill="${p.colour}"><title>${p.group}: ${num(p.value)} ${escapeXml(options.unit)}</title></rect>`;
      at += p.value;
      return s;
    });
    return `<g class="stack">${segments.join('')}<text class="value" x="${f(x(totals[i]) + 6)}" y="${f(mid + 4)}" font-size="${FONT}">${values[i]}</text></g>`;
  });
  const legendY = axisY + AXIS_H + 8;
  return [...open, ...bars, `<g transform="translate(0 ${legendY})">${legend.join('')}</g>`, '</svg>'].join('\n');
}
