// The notebook's cells as DOM: the walkthrough's data (src/notebook/walkthrough.ts) with the same
// pictures the terminal twin writes as PNGs (src/notebook/pictures.ts), drawn on canvases.
// Numbers carry data-field attributes, so the browser tests read what a person reads.
import type { Image } from '../src/data/image.js';
import type { Partitioned } from '../src/partition/index.js';
import type { DeviceLayer, LayerCell, OutputCell, PreprocessCell } from '../src/notebook/walkthrough.js';
import { layerFacts } from '../src/notebook/walkthrough.js';
import type { Picture } from '../src/notebook/pictures.js';
import { colour, filtersPicture, imagePicture, mapsGridPicture } from '../src/notebook/pictures.js';
import type { Tensor } from '../src/tensor.js';
import { tensor } from '../src/tensor.js';

type Child = Node | string;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** A picture at `zoom` screen pixels per pixel (pixelated, so maps stay sharp). */
function canvasOf(picture: Picture, zoom: number, label: string): HTMLCanvasElement {
  const canvas = el('canvas', { width: String(picture.width), height: String(picture.height), role: 'img', 'aria-label': label });
  canvas.style.width = `${picture.width * zoom}px`;
  canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(picture.rgba), picture.width, picture.height), 0, 0);
  return canvas;
}

const fmt = (v: number): string => v.toPrecision(4);
const count = (v: number): string => v.toLocaleString('en-US');

/** Zoom that shows a picture about `target` pixels wide, never below 1. */
const zoomFor = (width: number, target: number): number => Math.max(1, Math.floor(target / width));

/** A colour bar from lo to hi, as the maps are coloured. */
function legend(range: readonly [number, number]): HTMLElement {
  const [lo, hi] = range;
  const width = 160;
  const rgba = new Uint8ClampedArray(width * 4);
  for (let x = 0; x < width; x++) {
    const [r, g, b] = colour(lo + ((hi - lo) * x) / (width - 1), lo, hi);
    rgba.set([r, g, b, 255], x * 4);
  }
  const bar = canvasOf({ width, height: 1, rgba }, 1, 'colour scale');
  bar.style.height = '10px';
  return el('div', { class: 'legend' }, fmt(lo), bar, fmt(hi));
}

export function imageFigure(img: Image, range: readonly [number, number], caption: string, target = 256): HTMLElement {
  const picture = imagePicture(img, range, 1);
  return el('figure', {}, canvasOf(picture, zoomFor(picture.width, target), caption), el('figcaption', {}, caption));
}

export function preprocessCell(c: PreprocessCell): HTMLElement[] {
  return [el('p', {}, `${c.text}.`), imageFigure(c.image, c.range, `${c.image.channels}x${c.image.height}x${c.image.width}, shown on ${fmt(c.range[0])} … ${fmt(c.range[1])}`)];
}

/** The layer's range, or one shared by every layer (so that scales can be compared across the network). */
function rangeOf(c: LayerCell, global: readonly [number, number] | undefined): [number, number] {
  if (global) return [global[0], global[1]];
  return c.stats.min < 0 ? [c.stats.min, c.stats.max] : [0, c.stats.max];
}

function mapsFigure(output: Tensor, range: readonly [number, number], caption: string, target = 480): HTMLElement {
  const maps = output.shape.length === 3;
  const picture = mapsGridPicture(output, range, 1);
  // an [F] output is one row of F cells: stretch it so each unit is visible
  const zoom = maps ? zoomFor(picture.width, target) : Math.max(1, Math.min(8, Math.floor((1.5 * target) / picture.width)));
  const canvas = canvasOf(picture, zoom, caption);
  if (!maps) canvas.style.height = `${picture.height * zoom * 4}px`;
  return el('figure', {}, canvas, legend(range), el('figcaption', {}, caption));
}

export function layerCell(c: LayerCell, global: readonly [number, number] | undefined): HTMLElement[] {
  const facts = layerFacts(c);
  const parts: HTMLElement[] = [
    el('p', {}, `${c.text}.`),
    el('code', { class: 'formula', 'data-field': 'formula' }, c.formula),
    el('table', {}, el('tr', {}, ...facts.map(([, heading]) => el('th', {}, heading))), el('tr', {}, ...facts.map(([field, , text]) => el('td', { 'data-field': field }, text)))),
  ];
  if (c.op.type === 'flatten' || c.op.type === 'dropout') {
    parts.push(el('p', { class: 'muted' }, c.op.type === 'flatten' ? 'The maps, read out as one vector: the same numbers as the layer before.' : 'At inference dropout passes its input through: the same numbers as the layer before.'));
  } else {
    const maps = c.outputShape.length === 3;
    parts.push(mapsFigure(c.output, rangeOf(c, global), maps ? `all ${c.outputShape[0]} output maps, ${c.outputShape[1]}x${c.outputShape[2]} each` : `all ${c.outputShape[0]} outputs, one cell each`));
  }
  return parts;
}

export function filtersCell(weight: Tensor): HTMLElement[] {
  const [o, c, k] = weight.shape;
  const half = o / 2;
  const tower = (from: number, to: number, name: string): HTMLElement => {
    const part = tensor([to - from, c, k, k], weight.data.subarray(from * c * k * k, to * c * k * k));
    const picture = filtersPicture(part, 4);
    return el('figure', {}, canvasOf(picture, zoomFor(picture.width, 200), name), el('figcaption', {}, name));
  };
  return [
    el('p', {}, `All ${o} filters of conv1, each ${k}x${k} on its own scale (a filter's pattern, not its size, is what shows)${c === 3 ? ', in colour around mid-grey' : ', blue below 0, red above'}. In the 2012 split the first ${half} lived on one GPU and the rest on the other. In the paper's trained network one tower learned mostly colour-agnostic filters and the other colour-specific ones (its figure 3): load ImageNet weights to see it.`),
    el('div', { class: 'row' }, tower(0, half, `tower 1 (device 0): filters 1–${half}`), tower(half, o, `tower 2 (device 1): filters ${half + 1}–${o}`)),
  ];
}

export function outputCellView(c: OutputCell): HTMLElement[] {
  return [
    el('p', {}, c.crops === 'ten-crop' ? 'The softmax averaged over the ten crops, as the paper tested.' : 'The softmax of the centre crop.'),
    el(
      'table',
      { 'data-field': 'top5' },
      el('tr', {}, el('th', {}, 'rank'), el('th', { class: 'text' }, 'class'), el('th', {}, 'probability'), el('th', { class: 'text' }, '')),
      ...c.top5.map((t, r) =>
        el(
          'tr',
          { 'data-class': String(t.class), 'data-prob': String(t.prob) },
          el('td', {}, String(r + 1)),
          el('td', { class: 'text' }, `${t.label} (${t.class})`),
          el('td', {}, `${(100 * t.prob).toFixed(2)} %`),
          el('td', { class: 'text' }, bar(t.prob)),
        ),
      ),
    ),
  ];
}

function bar(fraction: number): HTMLElement {
  const b = el('span', { class: 'bar' });
  b.style.width = `${Math.max(1, Math.round(200 * fraction))}px`;
  return b;
}

export function checkCell(layers: readonly LayerCell[], backend: string): HTMLElement[] {
  const worst = layers.reduce((w, c) => (c.errorVsReference! > w.errorVsReference! ? c : w));
  return [
    el('p', {}, `Every layer's output on ${backend} against the reference backend's (plain loops, float64 sums): max |difference| / max |reference|. The design allows 1e-4 per layer for a whole network. Worst: ${worst.name}, ${worst.errorVsReference!.toExponential(2)}.`),
    el(
      'table',
      { 'data-field': 'check' },
      el('tr', {}, el('th', { class: 'text' }, 'layer'), el('th', {}, 'error')),
      ...layers.map((c) => el('tr', { 'data-layer': c.name, ...(c === worst ? { class: 'worst' } : {}) }, el('td', { class: 'text' }, c.name), el('td', { 'data-field': 'error' }, c.errorVsReference!.toExponential(2)))),
    ),
  ];
}

export function devicesCell(split: Partitioned, layers: readonly DeviceLayer[], oneDevice: readonly LayerCell[], global: readonly [number, number] | undefined): HTMLElement[] {
  const crossing = layers.filter((l) => l.transfers.length > 0);
  const bytes = split.transfers.reduce((n, t) => n + t.bytesPerSample, 0);
  const rows = layers.flatMap((l, i) => {
    const cell = oneDevice[i];
    if (cell.op.type === 'flatten' || cell.op.type === 'dropout') return [];
    const range = rangeOf(cell, global);
    const side = (t: Tensor | undefined, caption: string): HTMLElement => (t ? mapsFigure(t, range, caption, 200) : el('p', { class: 'muted' }, `${caption}: not here`));
    const moved = l.transfers.map((t) => `${count(t.bytesPerSample)} bytes ${t.from}→${t.to} (${t.reason})`).join(', ');
    return [
      el(
        'div',
        { 'data-layer': l.name },
        el('h3', {}, `${l.name}${moved ? `: reads across, ${moved}` : ''}`),
        el('div', { class: 'row' }, ...l.parts.map((t, d) => side(t, `device ${d}`)), mapsFigure(cell.output, range, 'one device', 200)),
        el('p', { class: 'muted' }, 'two devices against one: ', el('span', { 'data-field': 'device-error' }, l.error === 0 ? '0 (bit-identical)' : l.error.toExponential(2))),
      ),
    ];
  });
  return [
    el('p', {}, `In 2012 the network did not fit one GTX 580 (3 GB), so every layer's channels were halved between two GPUs, each holding its half of the maps and weights. Data crosses only for ${crossing.map((l) => l.name).join(', ')}: ${count(bytes)} bytes per image (the table says why). Below, this page runs that split on two devices of the chosen backend, each with its own memory, beside the one-device run; the design requires the two to be bit-identical.`),
    el(
      'table',
      { 'data-field': 'transfers' },
      el('tr', {}, el('th', { class: 'text' }, 'layer that reads across'), el('th', {}, 'from → to'), el('th', {}, 'bytes per image'), el('th', { class: 'text' }, 'why')),
      ...split.transfers.map((t) => el('tr', {}, el('td', { class: 'text' }, t.layer), el('td', {}, `${t.from} → ${t.to}`), el('td', {}, count(t.bytesPerSample)), el('td', { class: 'text' }, t.reason))),
    ),
    ...rows,
  ];
}
