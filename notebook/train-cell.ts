// The "Train in the page" cell: the built-in model's network (mini) trained from scratch in this
// page on a Fashion-MNIST subset shipped with it (models/mini-fashion/page-subset/), with the steps
// of `alexnet train` (src/train/live.ts), live curves, and conv1's filters as they learn. The
// curves are small hand-drawn SVG polylines: vega, which draws the CLI's plots, would add about a
// megabyte to the page for two line charts. One training session per page: the cell's elements and
// its trainer survive the page re-rendering its cells, so a run goes on (or stays stopped) meanwhile.
import type { Dataset } from '../src/data/datasets.js';
import type { Model } from '../src/model-file.js';
import { filtersPicture } from '../src/notebook/pictures.js';
import type { TrainKernels } from '../src/train/kernels.js';
import { wasmTrainKernels } from '../src/train/kernels.js';
import { fashionMnistInMemory, LiveTrainer, trainingPipeline } from '../src/train/live.js';
import { el } from './view.js';

/** The subset's files, each named so that the bundler ships it (a folder URL it would not). */
export const PAGE_SUBSET = {
  trainImages: new URL('../models/mini-fashion/page-subset/train-images-idx3-ubyte.gz', import.meta.url),
  trainLabels: new URL('../models/mini-fashion/page-subset/train-labels-idx1-ubyte.gz', import.meta.url),
  testImages: new URL('../models/mini-fashion/page-subset/t10k-images-idx3-ubyte.gz', import.meta.url),
  testLabels: new URL('../models/mini-fashion/page-subset/t10k-labels-idx1-ubyte.gz', import.meta.url),
};

export interface TrainCellOptions {
  /** the built-in model: its graph is trained from scratch, on its pipeline (preprocessing, statistics), with its class names */
  readonly model: Pick<Model, 'graph' | 'spec' | 'labels'>;
  /** wasm threads (more than 1 needs a cross-origin isolated page; the cell falls back to 1 and says so) */
  readonly threads?: number;
  /** where the subset's four IDX files are (default PAGE_SUBSET) */
  readonly subset?: typeof PAGE_SUBSET;
  /** how to fetch a file (default: fetch) */
  readonly fetchBytes?: (url: URL) => Promise<Uint8Array>;
  /** default 32 and 0.01: the built-in model's 64 and 0.02 halved (docs/training.md's sweep: the same curve), so a step holds the page half as long */
  readonly batch?: number;
  readonly lr?: number;
  readonly seed?: number;
  /** conv1's filters are redrawn every this many steps (default 5) */
  readonly redrawEvery?: number;
}

/** What window.__alexnet.training shows: undefined until Start. */
export interface TrainingState {
  readonly running: boolean;
  readonly steps: number;
  readonly losses: number[];
  readonly heldOutError?: number;
}

const LN10 = Math.log(10);
/** work between two looks at the page: about one step on one thread */
const SLICE_MS = 50;
/** steps between held-out evaluations: 500 images forward cost about 5 steps of 32 */
const HELD_OUT_EVERY = 50;

interface Session {
  readonly options: TrainCellOptions;
  readonly elements: HTMLElement[];
  trainer?: LiveTrainer;
  kernels?: TrainKernels & { release(): Promise<void> };
  kernelsName?: string;
  data?: { train: Dataset; test: Dataset };
  running: boolean;
  /** the loop under way, awaited before a new one starts */
  loop?: Promise<void>;
}

let session: Session | undefined;

/** The cell's elements; the first call's options make the session, later calls return its elements. */
export function trainCell(options: TrainCellOptions): HTMLElement[] {
  session ??= createSession(options);
  return session.elements;
}

/** The live state for automation, e.g. `window.__alexnet.training`. */
export function trainingState(): TrainingState | undefined {
  const t = session?.trainer;
  if (!t) return undefined;
  const s = t.snapshot();
  return { running: session!.running, steps: s.steps, losses: [...s.losses], heldOutError: s.heldOutError };
}

function createSession(options: TrainCellOptions): Session {
  const batch = options.batch ?? 32;
  const lr = options.lr ?? 0.01;
  const field = (name: string): HTMLElement => el('span', { 'data-field': name }, '–');
  const fields = { steps: field('train-steps'), loss: field('train-loss'), error: field('train-error'), heldOut: field('heldout-error') };
  const status = el('p', { 'data-field': 'train-status', 'data-state': 'idle' }, 'Not started.');
  const buttons = { start: el('button', { type: 'button' }, 'Start'), stop: el('button', { type: 'button', disabled: '' }, 'Stop'), resume: el('button', { type: 'button', disabled: '' }, 'Resume') };
  const lossChart = el('div', { 'data-field': 'train-loss-chart' });
  const errorChart = el('div', { 'data-field': 'train-error-chart' });
  const filters = el('canvas', { role: 'img', 'aria-label': 'conv1 filters while training' });
  const p = options.model.spec.preprocessing;
  const elements = [
    el(
      'p',
      {},
      `Here the network learns from scratch, in this page: the built-in model's layers, but its weights drawn at random (from N(0, 2/fan-in), the start that works for this small network; the paper's N(0, 0.01) leaves its loss stuck at ln 10), then trained with the paper's recipe: stochastic gradient descent with momentum 0.9 and weight decay 0.0005, learning rate ${lr}, batches of ${batch} images, dropout, and each image rescaled to ${p.resize}x${p.resize}, cut at random to ${p.crop}x${p.crop}, mirrored half the time and shifted in brightness along the training set's principal component, as the built-in model was trained. The images are 2,000 of Fashion-MNIST's training set (200 of each class; a 1 MB download) and, held out, 500 of its test set (50 per class) that it never trains on.`,
    ),
    el('div', { class: 'row' }, buttons.start, buttons.stop, buttons.resume),
    status,
    el('p', {}, 'Step ', fields.steps, ': loss ', fields.loss, ', training error ', fields.error, ' (the last 10 batches), held-out error ', fields.heldOut, '.'),
    el('div', { class: 'row' }, el('figure', {}, lossChart, el('figcaption', {}, `Loss on each batch (light) and its mean over 10 (dark); dashed: ln 10 = ${LN10.toFixed(2)}, a uniform guess.`)), el('figure', {}, errorChart, el('figcaption', {}, `Error on the training batches (blue, mean over 10) and on the held-out images (red, every ${HELD_OUT_EVERY} steps); dashed: 90 %, chance.`))),
    el('figure', {}, filters, el('figcaption', {}, 'conv1\'s filters now, each on its own scale (blue below 0, red above): random at first, then edge and blob detectors take shape.')),
  ];
  const s: Session = { options, elements, running: false };

  const setState = (state: 'idle' | 'loading' | 'running' | 'stopped' | 'error', text: string): void => {
    status.dataset.state = state;
    status.textContent = text;
    buttons.start.disabled = state === 'loading' || state === 'running';
    buttons.stop.disabled = state !== 'running';
    buttons.resume.disabled = state !== 'stopped' || !s.trainer;
    buttons.start.textContent = s.trainer ? 'Start over' : 'Start';
  };
  let drawnAt = -1;
  const show = (): void => {
    const t = s.trainer!;
    const snap = t.snapshot();
    const recent = snap.errors.slice(-10);
    fields.steps.textContent = snap.steps.toLocaleString('en-US');
    fields.loss.textContent = snap.steps ? snap.losses.at(-1)!.toFixed(3) : '–';
    fields.error.textContent = recent.length ? percent(recent.reduce((a, b) => a + b, 0) / recent.length) : '–';
    fields.heldOut.textContent = snap.heldOutError === undefined ? '–' : `${percent(snap.heldOutError)} (at step ${snap.heldOut.at(-1)!.step})`;
    for (const [k, v] of Object.entries({ steps: snap.steps, loss: snap.losses.at(-1), error: recent.at(-1), heldOut: snap.heldOutError })) if (v !== undefined) fields[k as keyof typeof fields].dataset.value = String(v);
    const mean = movingMean(snap.losses, 10);
    lossChart.replaceChildren(chart({ yMax: mean.reduce((m, v) => Math.max(m, v), LN10 * 1.15), yLabel: 'loss', steps: snap.steps, guide: LN10, lines: [{ points: snap.losses, colour: '#b8c4e0' }, { points: mean, colour: '#2a4d9b' }] }));
    errorChart.replaceChildren(chart({ yMax: 1, yLabel: 'error', percent: true, steps: snap.steps, guide: 0.9, lines: [{ points: movingMean(snap.errors, 10), colour: '#2a4d9b' }], dots: snap.heldOut.map((h) => [h.step, h.error] as const) }));
    if (snap.steps === 0 || snap.steps - drawnAt >= (options.redrawEvery ?? 5)) {
      paint(filters, filtersPicture(t.conv1, 4), 2);
      drawnAt = snap.steps;
    }
    const epoch = snap.steps / t.stepsPerEpoch;
    const speed = snap.imagesPerSecond ? `, ${snap.imagesPerSecond.toFixed(0)} images/s` : '';
    if (s.running) setState('running', `Training on ${s.kernelsName}${speed}: ${epoch.toFixed(1)} passes over the 2,000 images so far.`);
  };

  const loop = async (): Promise<void> => {
    try {
      while (s.running) {
        await s.trainer!.runFor(SLICE_MS);
        show();
      }
      show();
      setState('stopped', `Stopped after ${s.trainer!.steps.toLocaleString('en-US')} steps; the weights stay in this page: Resume goes on from them, Start over draws new ones.`);
    } catch (e) {
      s.running = false;
      const err = e as Error & { code?: string };
      setState('error', `Training stopped: ${err.name}${err.code ? ` [${err.code}]` : ''}: ${err.message}`);
      console.error(e);
    }
  };
  const run = async (fresh: boolean): Promise<void> => {
    s.running = false;
    await s.loop;
    try {
      if (fresh) {
        setState('loading', s.data ? 'Drawing new weights…' : 'Loading the images (1 MB) and the WASM kernels…');
        s.data ??= await loadSubset(options);
        if (!s.kernels) [s.kernels, s.kernelsName] = await kernelsFor(options.threads ?? 1);
        s.trainer = new LiveTrainer({ graph: options.model.graph, kernels: s.kernels, ...s.data, pipeline: trainingPipeline(options.model.spec), seed: options.seed ?? 1, lr, batch, heldOutEvery: HELD_OUT_EVERY });
        drawnAt = -1;
        show();
      }
      s.running = true;
      setState('running', `Training on ${s.kernelsName}…`);
      s.loop = loop();
    } catch (e) {
      const err = e as Error & { code?: string };
      setState('error', `Could not start: ${err.name}${err.code ? ` [${err.code}]` : ''}: ${err.message}`);
      console.error(e);
    }
  };
  buttons.start.addEventListener('click', () => void run(true));
  buttons.resume.addEventListener('click', () => void run(false));
  buttons.stop.addEventListener('click', () => {
    s.running = false; // the loop ends after the slice under way and says so
  });
  return s;
}

async function loadSubset(o: TrainCellOptions): Promise<{ train: Dataset; test: Dataset }> {
  const urls = o.subset ?? PAGE_SUBSET;
  const get =
    o.fetchBytes ??
    (async (url: URL): Promise<Uint8Array> => {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`could not fetch ${String(url)}: HTTP ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    });
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all([urls.trainImages, urls.trainLabels, urls.testImages, urls.testLabels].map(get));
  const source = 'the page\'s Fashion-MNIST subset';
  const labels = o.model.labels;
  return { train: await fashionMnistInMemory({ images: trainImages, labels: trainLabels }, labels, source, 'train'), test: await fashionMnistInMemory({ images: testImages, labels: testLabels }, labels, source, 'test') };
}

/** The wasm training kernels on `threads` threads, or on 1 where this page cannot have more (not cross-origin isolated). */
async function kernelsFor(threads: number): Promise<[TrainKernels & { release(): Promise<void> }, string]> {
  if (threads > 1) {
    try {
      const k = await wasmTrainKernels(threads);
      return [k, `WASM, ${threads} threads`];
    } catch (e) {
      console.warn(e);
      return [await wasmTrainKernels(1), `WASM, 1 thread (${threads} were asked for, but ${(e as Error).message})`];
    }
  }
  return [await wasmTrainKernels(1), 'WASM, 1 thread'];
}

const percent = (v: number): string => `${(100 * v).toFixed(1)} %`;

/** The mean of each value and the `n - 1` before it (fewer at the start). */
function movingMean(v: readonly number[], n: number): number[] {
  let sum = 0;
  return v.map((x, i) => {
    sum += x - (i >= n ? v[i - n] : 0);
    return sum / Math.min(i + 1, n);
  });
}

/** `picture` into `canvas`, resized to it, at `zoom` screen pixels per pixel. */
function paint(canvas: HTMLCanvasElement, picture: ReturnType<typeof filtersPicture>, zoom: number): void {
  [canvas.width, canvas.height] = [picture.width, picture.height];
  canvas.style.width = `${picture.width * zoom}px`;
  canvas.style.imageRendering = 'pixelated';
  canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(picture.rgba), picture.width, picture.height), 0, 0);
}

const SVG = 'http://www.w3.org/2000/svg';
function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  e.append(...children);
  return e;
}

interface ChartSpec {
  readonly steps: number;
  readonly yMax: number;
  readonly yLabel: string;
  readonly percent?: boolean;
  /** a dashed horizontal line (chance) */
  readonly guide: number;
  /** one value per step, from step 1 */
  readonly lines: readonly { readonly points: readonly number[]; readonly colour: string }[];
  readonly dots?: readonly (readonly [number, number])[];
}

/** A line chart against steps: y from 0 to yMax, at most ~400 points a line (every k-th step when longer). */
function chart(c: ChartSpec): SVGSVGElement {
  const [w, h, left, bottom, top, right] = [420, 170, 44, 26, 8, 10];
  const xMax = Math.max(c.steps, 10);
  const yMax = Math.ceil(c.yMax * 2) / 2; // a round top: 3.0 for the loss, 1 for the error
  const x = (step: number): number => left + ((w - left - right) * step) / xMax;
  const y = (v: number): number => top + (h - top - bottom) * (1 - Math.min(Math.max(v, 0), yMax) / yMax);
  const label = (v: number): string => (c.percent ? `${Math.round(100 * v)} %` : v.toFixed(1));
  const every = Math.max(1, Math.ceil(c.steps / 400));
  const parts: SVGElement[] = [
    svg('line', { x1: left, y1: y(0), x2: w - right, y2: y(0), stroke: '#888' }),
    svg('line', { x1: left, y1: top, x2: left, y2: y(0), stroke: '#888' }),
    svg('line', { x1: left, y1: y(c.guide), x2: w - right, y2: y(c.guide), stroke: '#888', 'stroke-dasharray': '4 3' }),
    ...[0, 0.5, 1].map((f) => svg('text', { x: left - 4, y: y(f * yMax) + 4, 'text-anchor': 'end', 'font-size': 11 }, label(f * yMax))),
    svg('text', { x: left, y: h - 6, 'font-size': 11 }, '0'),
    svg('text', { x: w - right, y: h - 6, 'text-anchor': 'end', 'font-size': 11 }, `step ${xMax.toLocaleString('en-US')}`),
    svg('text', { x: (left + w) / 2, y: h - 6, 'text-anchor': 'middle', 'font-size': 11 }, c.yLabel),
  ];
  for (const line of c.lines) {
    const points = line.points.flatMap((v, i) => ((i + 1) % every === 0 || i === line.points.length - 1 ? [`${x(i + 1).toFixed(1)},${y(v).toFixed(1)}`] : []));
    if (points.length) parts.push(svg('polyline', { points: points.join(' '), fill: 'none', stroke: line.colour, 'stroke-width': 1.5 }));
  }
  const dots = c.dots ?? [];
  if (dots.length > 1) parts.push(svg('polyline', { points: dots.map(([step, v]) => `${x(step).toFixed(1)},${y(v).toFixed(1)}`).join(' '), fill: 'none', stroke: '#c0392b', 'stroke-width': 1 }));
  for (const [step, v] of dots) parts.push(svg('circle', { cx: x(step), cy: y(v), r: 3, fill: '#c0392b' }));
  return svg('svg', { viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: 'img', 'aria-label': `${c.yLabel} against training steps` }, ...parts);
}
