// A layer's map, unit by unit: the map enlarged; under the cursor (or where clicked, to pin it) a
// unit's receptive field on the network's input, its window on the layer before, and its number
// made from those inputs with the layer's formula (src/notebook/inspect.ts computes all three).
import type { Graph } from '../src/graph/index.js';
import type { Explanation, ReceptiveField, Span } from '../src/notebook/inspect.js';
import { explainUnit, receptiveField } from '../src/notebook/inspect.js';
import type { LayerCell } from '../src/notebook/walkthrough.js';
import { mapStats } from '../src/notebook/walkthrough.js';
import type { Picture } from '../src/notebook/pictures.js';
import { imagePicture, mapsGridPicture } from '../src/notebook/pictures.js';
import type { Weights } from '../src/runtime/index.js';
import type { Tensor } from '../src/tensor.js';
import { tensor } from '../src/tensor.js';
import { canvasOf, el, fmt, legend, pixelAt, zoomFor } from './view.js';

export interface InspectorOptions {
  readonly graph: Graph;
  readonly weights: Weights;
  readonly cell: LayerCell;
  /** the layer's input for this image ([C, H, W]), and what it is called */
  readonly before: Tensor;
  readonly beforeName: string;
  /** the network's input, [C, H, W] */
  readonly image: Tensor;
  readonly channel: number;
  /** the colour range of the layer's maps */
  readonly range: readonly [number, number];
}

/** One map [h, w] of a [C, h, w] tensor, as a tensor [1, h, w]. */
const mapOf = (t: Tensor, c: number): Tensor => {
  const [, h, w] = t.shape;
  return tensor([1, h, w], t.data.subarray(c * h * w, (c + 1) * h * w));
};

/** A picture drawn about `target` pixels wide, with a box that can be moved over it; `frame` is its border in pixels. */
function boxed(picture: Picture, frame: number, target: number, label: string): { figure: HTMLElement; canvas: HTMLCanvasElement; box: (rows: Span, cols: Span) => void } {
  const canvas = canvasOf(picture, zoomFor(picture.width, target), label);
  const box = el('div', { class: 'box', hidden: '' });
  const overlay = el('div', { class: 'overlay' }, canvas, box);
  const place = (rows: Span, cols: Span): void => {
    box.hidden = rows.end <= rows.start || cols.end <= cols.start;
    box.style.left = `${((cols.start + frame) / picture.width) * 100}%`;
    box.style.top = `${((rows.start + frame) / picture.height) * 100}%`;
    box.style.width = `${((cols.end - cols.start) / picture.width) * 100}%`;
    box.style.height = `${((rows.end - rows.start) / picture.height) * 100}%`;
  };
  return { figure: el('figure', {}, overlay, el('figcaption', {}, label)), canvas, box: place };
}

/** One map of a [C, h, w] tensor (mapsGridPicture frames it with 1 pixel). */
const boxedMap = (t: Tensor, c: number, range: readonly [number, number], target: number, label: string) => boxed(mapsGridPicture(mapOf(t, c), range, 1), 1, target, `${label}, ${t.shape[1]}x${t.shape[2]}`);

const inclusive = (s: Span): string => (s.end - s.start === 1 ? `${s.start}` : `${s.start}..${s.end - 1}`);

/** The input channel whose window is worth showing: a conv's largest product's, else the unit's own. */
function channelShown(e: Explanation, f: ReceptiveField): number {
  if (e.op === 'conv2d') return e.largest[0]?.channel ?? f.window.channels.start;
  return Math.min(e.channel, f.window.channels.end - 1);
}

export function inspector(o: InspectorOptions): void {
  const dialog = document.getElementById('inspector') as HTMLDialogElement;
  const { cell } = o;
  const [channels, h, w] = cell.outputShape;
  let channel = o.channel;
  let pinned: { i: number; j: number } | undefined;

  const draw = (): void => {
    const map = boxedMap(cell.output, channel, o.range, 320, `${cell.name}, map ${channel}`);
    const s = mapStats(o.image.data);
    const bound = Math.max(1e-12, -s.min, s.max);
    const [c0, ih, iw] = o.image.shape;
    const input = boxed(imagePicture({ channels: c0, height: ih, width: iw, data: o.image.data }, [-bound, bound], 1), 0, 227, `the input, ${ih}x${iw}`);
    const beforeRange = ((s) => (s.min < 0 ? [s.min, s.max] : [0, s.max]) as [number, number])(mapStats(o.before.data));
    const beforeFigure = el('div');
    const explain = el('div', { class: 'explain', 'data-field': 'explain' }, 'Point at a unit of the map (click to pin it).');
    const facts = el('p', { class: 'muted', 'data-field': 'unit' });

    const showUnit = (i: number, j: number): void => {
      const field = receptiveField(o.graph, cell.name, i, j, channel);
      const e = explainUnit(o.graph, o.weights, cell.name, o.before, channel, i, j, { output: cell.output });
      map.box({ start: i, end: i + 1 }, { start: j, end: j + 1 });
      input.box(field.field.rows, field.field.cols);
      const c = channelShown(e, field);
      const before = o.before.shape.length === 3 ? boxedMap(o.before, c, beforeRange, 227, `${o.beforeName}, map ${c}`) : undefined;
      before?.box(field.window.clippedRows, field.window.clippedCols);
      beforeFigure.replaceChildren(...(before ? [before.figure] : []));
      explain.textContent = e.text;
      explain.dataset.value = String(e.value);
      explain.dataset.backend = String(e.backend?.value ?? '');
      explain.dataset.i = String(i);
      explain.dataset.j = String(j);
      const f = field.field;
      facts.textContent = `Unit (map ${channel}, row ${i}, column ${j}) = ${fmt(cell.output.data[(channel * h + i) * w + j])}. It reads rows ${inclusive(field.window.clippedRows)}, columns ${inclusive(field.window.clippedCols)} of ${o.beforeName}${field.window.channels.end - field.window.channels.start > 1 ? `, channels ${inclusive(field.window.channels)}` : ''}; on the input it sees rows ${inclusive(f.rows)}, columns ${inclusive(f.cols)} (${f.rows.end - f.rows.start}x${f.cols.end - f.cols.start} pixels).`;
      facts.dataset.rows = `${f.rows.start},${f.rows.end}`;
      facts.dataset.cols = `${f.cols.start},${f.cols.end}`;
    };
    const unitAt = (e: MouseEvent): { i: number; j: number } | undefined => {
      const p = pixelAt(map.canvas, e);
      const [i, j] = [p.y - 1, p.x - 1];
      return i >= 0 && j >= 0 && i < h && j < w ? { i, j } : undefined;
    };
    map.canvas.addEventListener('mousemove', (e) => {
      const u = unitAt(e);
      if (u && !pinned) showUnit(u.i, u.j);
    });
    map.canvas.addEventListener('click', (e) => {
      pinned = unitAt(e);
      if (pinned) showUnit(pinned.i, pinned.j);
    });

    const step = (d: number): HTMLButtonElement => {
      const b = el('button', { type: 'button', ...(channel + d < 0 || channel + d >= channels ? { disabled: '' } : {}) }, d < 0 ? '◀ map' : 'map ▶');
      b.addEventListener('click', () => {
        channel += d;
        draw();
      });
      return b;
    };
    const close = el('button', { type: 'button', class: 'close', 'aria-label': 'close' }, 'Close');
    close.addEventListener('click', () => dialog.close());
    dialog.replaceChildren(
      el('div', { class: 'bar' }, el('h2', {}, `${cell.name}: map ${channel} of ${channels}`), step(-1), step(1), close),
      el('code', { class: 'formula' }, cell.formula),
      el('div', { class: 'inspect-grid' }, map.figure, input.figure, beforeFigure),
      legend(o.range),
      facts,
      explain,
    );
    showUnit(pinned?.i ?? Math.floor(h / 2), pinned?.j ?? Math.floor(w / 2));
  };
  draw();
  if (!dialog.open) dialog.showModal();
}
