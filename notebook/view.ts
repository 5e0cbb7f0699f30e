// The notebook's cells as DOM: the walkthrough's data (src/notebook/walkthrough.ts) with the same
// pictures the terminal twin writes as PNGs (src/notebook/pictures.ts), drawn on canvases.
// Numbers carry data-field attributes, so the browser tests read what a person reads.
import type { Image } from '../src/data/image.js';
import type { Partitioned } from '../src/partition/index.js';
import type { DeviceLayer, LayerCell, OutputCell, PreprocessCell } from '../src/notebook/walkthrough.js';
import { layerFacts } from '../src/notebook/walkthrough.js';
import type { Picture } from '../src/notebook/pictures.js';
import { colour, filtersPicture, gridLayout, imagePicture, mapsGridPicture, vectorGridPicture } from '../src/notebook/pictures.js';
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
export function canvasOf(picture: Picture, zoom: number, label: string): HTMLCanvasElement {
  const canvas = el('canvas', { width: String(picture.width), height: String(picture.height), role: 'img', 'aria-label': label });
  canvas.style.width = `${picture.width * zoom}px`;
  canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(picture.rgba), picture.width, picture.height), 0, 0);
  return canvas;
}

export const fmt = (v: number): string => v.toPrecision(4);
const count = (v: number): string => v.toLocaleString('en-US');

/** Zoom that shows a picture about `target` pixels wide, never below 1. */
export const zoomFor = (width: number, target: number): number => Math.max(1, Math.floor(target / width));

/** A colour bar from lo to hi, as the maps are coloured. */
export function legend(range: readonly [number, number]): HTMLElement {
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
export function rangeOf(c: LayerCell, global: readonly [number, number] | undefined): [number, number] {
  if (global) return [global[0], global[1]];
  return c.stats.min < 0 ? [c.stats.min, c.stats.max] : [0, c.stats.max];
}

/** Where a click or hover on a picture drawn at `zoom` falls, in the picture's pixels. */
export function pixelAt(canvas: HTMLCanvasElement, e: MouseEvent): { x: number; y: number } {
  const box = canvas.getBoundingClientRect();
  return { x: Math.floor(((e.clientX - box.left) / box.width) * canvas.width), y: Math.floor(((e.clientY - box.top) / box.height) * canvas.height) };
}

/** Says the value under the cursor in `readout`; `at` maps a picture pixel to a label and value, or nothing on a gap. */
function hoverValues(canvas: HTMLCanvasElement, readout: HTMLElement, at: (x: number, y: number) => string | undefined): void {
  const idle = readout.textContent ?? '';
  canvas.addEventListener('mousemove', (e) => {
    const p = pixelAt(canvas, e);
    readout.textContent = at(p.x, p.y) ?? idle;
  });
  canvas.addEventListener('mouseleave', () => (readout.textContent = idle));
}

/**
 * A layer's output: [C, H, W] as a grid of maps (a click on one calls `pick` with its channel), [F]
 * as labelled bars when there are few (`labels` names them) or a near-square heat map; the value
 * under the cursor is read out below.
 */
function mapsFigure(output: Tensor, range: readonly [number, number], caption: string, target = 480, pick?: (channel: number) => void, labels?: readonly string[]): HTMLElement {
  const readout = el('div', { class: 'readout muted', 'data-field': 'readout' }, pick ? 'point at a unit for its value; click a map to inspect it' : 'point at a unit for its value');
  if (output.shape.length !== 3) {
    const f = output.shape[0];
    if (f <= 32) return el('figure', {}, unitBars(output.data, labels), el('figcaption', {}, caption));
    const cell = Math.max(2, Math.floor(target / Math.ceil(Math.sqrt(f))));
    const picture = vectorGridPicture(output.data, range, cell);
    const canvas = canvasOf(picture, 1, caption);
    const columns = Math.ceil(Math.sqrt(f));
    hoverValues(canvas, readout, (x, y) => {
      const i = Math.floor((y - 1) / cell) * columns + Math.floor((x - 1) / cell);
      return x > 0 && y > 0 && i < f ? `unit ${i}${labels?.[i] ? ` (${labels[i]})` : ''}: ${fmt(output.data[i])}` : undefined;
    });
    return el('figure', {}, canvas, legend(range), readout, el('figcaption', {}, `${caption}, ${columns} to a row`));
  }
  const [c, h, w] = output.shape;
  const picture = mapsGridPicture(output, range, 1);
  const zoom = zoomFor(picture.width, target);
  const canvas = canvasOf(picture, zoom, caption);
  const layout = gridLayout(c, h, w);
  const tile = (x: number, y: number): { map: number; i: number; j: number } | undefined => {
    const [j, i] = [(x - 1) % (w + 1), (y - 1) % (h + 1)];
    const map = Math.floor((y - 1) / (h + 1)) * layout.columns + Math.floor((x - 1) / (w + 1));
    return x > 0 && y > 0 && j < w && i < h && map < c ? { map, i, j } : undefined;
  };
  hoverValues(canvas, readout, (x, y) => {
    const t = tile(x, y);
    return t && `map ${t.map}, row ${t.i}, column ${t.j}: ${fmt(output.data[(t.map * h + t.i) * w + t.j])}`;
  });
  if (pick) {
    canvas.classList.add('pickable');
    canvas.addEventListener('click', (e) => {
      const p = pixelAt(canvas, e);
      const t = tile(p.x, p.y);
      if (t) pick(t.map);
    });
  }
  return el('figure', {}, canvas, legend(range), readout, el('figcaption', {}, caption));
}

/** Few values as labelled horizontal bars from a zero line (negative ones to its left). */
function unitBars(values: ArrayLike<number>, labels?: readonly string[], probabilities = false): HTMLElement {
  const bound = Math.max(1e-30, ...Array.from(values, Math.abs));
  const anyNegative = Array.from(values).some((v) => v < 0);
  const rows = Array.from(values, (v, i) => {
    const b = el('span', { class: `bar${v < 0 ? ' negative' : ''}` });
    // signed values grow from the middle, each side holding the largest magnitude
    b.style.width = `${(probabilities ? v : Math.abs(v) / bound) * (anyNegative ? 50 : 100)}%`;
    const track = el('span', { class: `track${anyNegative ? ' signed' : ''}` }, b);
    return el('div', { class: 'unit-bar', 'data-unit': String(i) }, el('span', { class: 'label' }, labels?.[i] ?? `unit ${i}`), track, el('span', { class: 'value' }, probabilities ? `${(100 * v).toFixed(2)} %` : fmt(v)));
  });
  return el('div', { class: 'unit-bars', 'data-field': 'bars' }, ...rows);
}

export function layerCell(c: LayerCell, global: readonly [number, number] | undefined, pick?: (channel: number) => void, labels?: readonly string[]): HTMLElement[] {
  const facts = layerFacts(c);
  const parts: HTMLElement[] = [
    el('p', {}, `${c.text}.`),
    el('code', { class: 'formula', 'data-field': 'formula' }, c.formula),
    el('div', { class: 'scroll' }, el('table', {}, el('tr', {}, ...facts.map(([, heading]) => el('th', {}, heading))), el('tr', {}, ...facts.map(([field, , text]) => el('td', { 'data-field': field }, text))))),
  ];
  if (c.op.type === 'flatten' || c.op.type === 'dropout') {
    parts.push(el('p', { class: 'muted' }, c.op.type === 'flatten' ? 'The maps, read out as one vector: the same numbers as the layer before.' : 'At inference dropout passes its input through: the same numbers as the layer before.'));
  } else {
    const maps = c.outputShape.length === 3;
    // the network's last outputs are the classes
    const named = !maps && labels && labels.length === c.outputShape[0] ? labels : undefined;
    const caption = maps ? `all ${c.outputShape[0]} output maps, ${c.outputShape[1]}x${c.outputShape[2]} each` : `all ${c.outputShape[0]} outputs`;
    parts.push(mapsFigure(c.output, rangeOf(c, global), caption, 480, maps ? pick : undefined, named));
  }
  return parts;
}

export function filtersCell(weight: Tensor, domain?: string): HTMLElement[] {
  const [o, c, k] = weight.shape;
  const half = o / 2;
  const tower = (from: number, to: number, name: string): HTMLElement => {
    const part = tensor([to - from, c, k, k], weight.data.subarray(from * c * k * k, to * c * k * k));
    const picture = filtersPicture(part, 4);
    return el('figure', {}, canvasOf(picture, zoomFor(picture.width, 200), name), el('figcaption', {}, name));
  };
  return [
    el('p', {}, `All ${o} filters of conv1, each ${k}x${k} on its own scale (a filter's pattern, not its size, is what shows)${c === 3 ? ', in colour around mid-grey' : ', blue below 0, red above'}. In the 2012 split the first ${half} lived on one GPU and the rest on the other. In the paper's trained network one tower learned mostly colour-agnostic filters and the other colour-specific ones (its figure 3)${domain ? `. This model learned from ${domain} only, small grey images, so its filters are coarse blobs and edges; load ImageNet AlexNet weights (Model) to see the paper's figure` : ''}.`),
    el('div', { class: 'row' }, tower(0, half, `tower 1 (device 0): filters 1–${half}`), tower(half, o, `tower 2 (device 1): filters ${half + 1}–${o}`)),
  ];
}

export function outputCellView(c: OutputCell, prob: ArrayLike<number>, labels: readonly string[]): HTMLElement[] {
  const few = prob.length <= 16;
  return [
    el('p', {}, `${c.crops === 'ten-crop' ? 'The softmax averaged over the ten crops, as the paper tested' : 'The softmax of the centre crop'}: ${few ? `every class's probability` : `the five most probable of ${prob.length} classes`}.`),
    few ? unitBars(prob, labels.map((l, i) => `${l} (${i})`), true) : el('span'),
    el(
      'table',
      { 'data-field': 'top5' },
      el('tr', {}, el('th', {}, 'rank'), el('th', { class: 'text' }, 'class'), el('th', {}, 'probability')),
      ...c.top5.map((t, r) => el('tr', { 'data-class': String(t.class), 'data-prob': String(t.prob) }, el('td', {}, String(r + 1)), el('td', { class: 'text' }, `${t.label} (${t.class})`), el('td', {}, `${(100 * t.prob).toFixed(2)} %`))),
    ),
  ];
}

export function checkCell(layers: readonly LayerCell[], errors: readonly number[], backend: string): HTMLElement[] {
  const worst = errors.reduce((w, e, i) => (e > errors[w] ? i : w), 0);
  return [
    el('p', {}, `Every layer's output on ${backend} against the reference backend's (plain loops, float64 sums): max |difference| / max |reference|. The design allows 1e-4 per layer for a whole network. Worst: ${layers[worst].name}, ${errors[worst].toExponential(2)}.`),
    el(
      'table',
      { 'data-field': 'check' },
      el('tr', {}, el('th', { class: 'text' }, 'layer'), el('th', {}, 'error')),
      ...layers.map((c, i) => el('tr', { 'data-layer': c.name, ...(i === worst ? { class: 'worst' } : {}) }, el('td', { class: 'text' }, c.name), el('td', { 'data-field': 'error' }, errors[i].toExponential(2)))),
    ),
  ];
}

/** The two-device run as one table: where each layer lives, what it reads across, and its error against one device. */
export function devicesCell(split: Partitioned, layers: readonly DeviceLayer[], picture: SVGSVGElement): HTMLElement[] {
  const crossing = layers.filter((l) => l.transfers.length > 0);
  const bytes = split.transfers.reduce((n, t) => n + t.bytesPerSample, 0);
  return [
    el('p', {}, `In 2012 the network did not fit one GTX 580 (3 GB), so every layer's channels were halved between two GPUs, each holding its half of the maps and weights. Data crosses only for ${crossing.map((l) => l.name).join(', ')}: ${count(bytes)} bytes per image. This page ran that split on two devices of the chosen backend, each with its own memory; the design requires it to give the very bits of one device.`),
    el('div', { class: 'scroll' }, picture),
    el(
      'div',
      { class: 'scroll' },
      el(
        'table',
        { 'data-field': 'transfers' },
        el('tr', {}, el('th', { class: 'text' }, 'layer'), el('th', { class: 'text' }, 'where'), el('th', { class: 'text' }, 'reads across (bytes per image, why)'), el('th', {}, 'two devices vs one')),
        ...layers.map((l) => {
          const placement = split.layers.get(l.name);
          const where = placement?.kind === 'sharded' ? 'halved: device 0 | device 1' : `whole, on device ${placement?.device ?? 0}`;
          const moved = l.transfers.map((t) => `${count(t.bytesPerSample)} ${t.from}→${t.to} (${t.reason})`).join('; ');
          return el('tr', { 'data-layer': l.name }, el('td', { class: 'text' }, l.name), el('td', { class: 'text' }, where), el('td', { class: 'text' }, moved || '–'), el('td', { 'data-field': 'device-error' }, l.error === 0 ? '0 (bit-identical)' : l.error.toExponential(2)));
        }),
      ),
    ),
  ];
}
