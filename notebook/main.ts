/// <reference types="vite/client" />
// The notebook page: AlexNet one cell at a time, from the photo to the prediction, on the backend
// the reader picks. Every number comes from src/notebook/walkthrough.ts, as in `alexnet step`, so
// the page and the terminal twin agree. URL parameters (?backend=wasm&threads=1&sample=bag.png&cell=output)
// make a view shareable. The page's state is at window.__alexnet for automation (tests read it).
import type { Backend } from '../src/backends/backend.js';
import { referenceBackend } from '../src/backends/reference/index.js';
import { cores, wasmBackend } from '../src/backends/wasm/index.js';
import type { WebGpuOptions } from '../src/backends/webgpu/index.js';
import { webgpuBackend } from '../src/backends/webgpu/index.js';
import { drawPcaCoefficients } from '../src/data/augment.js';
import type { Image } from '../src/data/image.js';
import type { TestCrops } from '../src/data/pipeline.js';
import { testCrops } from '../src/data/pipeline.js';
import { stackImages } from '../src/data/preprocess.js';
import type { Preset } from '../src/models/index.js';
import type { Model } from '../src/model-file.js';
import { describeNetwork, loadModel, parseLabels } from '../src/model-file.js';
import type { DeviceLayer, LayerCell, OutputCell, PreprocessCell } from '../src/notebook/walkthrough.js';
import { deviceLayers, layerCells, mapStats, outputCell, pcaNoiseImage, preprocessCells } from '../src/notebook/walkthrough.js';
import { domainWarning, predict } from '../src/predict.js';
import type { Partitioned } from '../src/partition/index.js';
import { partition } from '../src/partition/index.js';
import { createRng } from '../src/random.js';
import { loadGraph } from '../src/runtime/index.js';
import type { Tensor } from '../src/tensor.js';
import { relativeError } from '../src/tensor.js';
import { decodeInBrowser } from './decode.js';
import { inspector } from './inspector.js';
import { overview } from './overview.js';
import { trainCell, trainingState } from './train-cell.js';
import * as view from './view.js';
import { el } from './view.js';

type BackendName = 'webgpu' | 'wasm' | 'reference';

// WebGPU's backend reads syncEachNode at every node: on for the run whose layers are timed (each
// layer's time is then its GPU work, waited for), off for the whole run's time.
const gpuOptions: { -readonly [K in keyof WebGpuOptions]: WebGpuOptions[K] } = { syncEachNode: true };
const backendOf = (name: BackendName, threads: number): Backend => (name === 'webgpu' ? webgpuBackend(gpuOptions) : name === 'wasm' ? wasmBackend({ threads }) : referenceBackend);

// the built-in model's weights describe it whole (preset, names, statistics, the images it knows)
const BUILT_IN = new URL('../models/mini-fashion/weights.safetensors', import.meta.url);
const SAMPLES = import.meta.glob('../models/mini-fashion/samples/*.png', { query: '?url', import: 'default', eager: true }) as Record<string, string>;
const SAMPLE_INDEX = new URL('../models/mini-fashion/samples/index.json', import.meta.url);
const IMAGENET_LABELS = new URL('../src/data/imagenet-classes.txt', import.meta.url);
const PHOTO_REMEDY = 'For photos, pick ImageNet AlexNet weights under Model.';

interface Cell {
  readonly id: string;
  readonly title: string;
  /** the graph node the cell is about (the overview highlights it) */
  readonly node?: string;
  /** built when first shown; a promise for the extras computed on demand */
  readonly body: () => Element[] | Promise<Element[]>;
}

/** Everything one run computed; the cells are views of it. */
interface Run {
  readonly model: Model;
  readonly image: Image;
  readonly imageName: string;
  readonly backend: BackendName;
  readonly threads: number;
  readonly details: string;
  readonly preprocess: PreprocessCell[];
  /** the network's input: the centre crop, [C, H, W] (an Image's planes) */
  readonly input: Tensor & Image;
  readonly layers: LayerCell[];
  /** the softmax shown: the centre crop's, or the ten crops' mean */
  readonly prob: ArrayLike<number>;
  readonly output: OutputCell;
  /** one run of the whole network, timed without waiting for each layer */
  readonly wholeMs: number;
  readonly partitioned?: Partitioned;
  readonly splitError?: string;
  /** the extras, computed when their cells are first shown */
  readonly extras: { check?: Promise<number[]>; devices?: Promise<DeviceLayer[]> };
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);

const state = {
  model: undefined as Model | undefined,
  modelName: '',
  image: undefined as Image | undefined,
  imageBytes: undefined as { name: string; bytes: Uint8Array } | undefined,
  /** set when the image is unlike what the model was trained on */
  imageWarning: undefined as string | undefined,
  backend: 'wasm' as BackendName,
  threads: 1,
  /** the adapter's name, and whether it is software (a CPU pretending to be a GPU) */
  adapter: undefined as { name: string; software: boolean } | undefined,
  run: undefined as Run | undefined,
  crops: 'center' as TestCrops,
  scale: 'layer' as 'layer' | 'global',
  cells: [] as Cell[],
  current: 0,
  showAll: false,
  runs: 0,
  pcaSeed: 1,
};

function setStatus(kind: 'loading' | 'running' | 'ready' | 'error', text: string): void {
  const status = $('status');
  status.dataset.state = kind;
  status.textContent = text;
}

async function fetchBytes(url: URL | string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not fetch ${String(url)}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

const fileBytes = async (file: File): Promise<Uint8Array> => new Uint8Array(await file.arrayBuffer());

/** The built-in model, kept for the training cell whatever model is loaded. */
let builtIn: Model | undefined;

async function useBuiltInModel(): Promise<void> {
  builtIn ??= loadModel({ weights: { name: 'weights.safetensors', bytes: await fetchBytes(BUILT_IN) } }, warn);
  state.model = builtIn;
  state.modelName = 'the built-in model: mini, trained on Fashion-MNIST (87.9 % test accuracy)';
}

let imagenetLabels: string | undefined;

/** A model from the file pickers: the weights, with statistics and labels when given, as `preset` where they fit several. */
async function usePickedModel(preset?: Preset): Promise<void> {
  const weights = $<HTMLInputElement>('weights-file').files?.[0];
  if (!weights) return;
  const stats = $<HTMLInputElement>('stats-file').files?.[0];
  const labels = $<HTMLInputElement>('labels-file').files?.[0];
  imagenetLabels ??= new TextDecoder().decode(await fetchBytes(IMAGENET_LABELS));
  const imagenet = imagenetLabels;
  state.model = loadModel(
    {
      weights: { name: weights.name, bytes: await fileBytes(weights) },
      stats: stats && { name: stats.name, bytes: await fileBytes(stats) },
      labels: labels && { name: labels.name, text: await labels.text() },
      preset,
      // 1000 classes without names of their own: ImageNet's, as the CLI does
      defaultLabels: (classes) => (classes === 1000 ? parseLabels(imagenet, 1000, 'imagenet-classes.txt') : undefined),
    },
    warn,
  );
  state.modelName = `${weights.name}: ${describeNetwork(state.model)}`;
}

function showModel(): void {
  const model = state.model!;
  $('model-name').textContent = state.modelName;
  $('preset').replaceChildren(...(model.presets.length ? model.presets : ['its own graph']).map((p) => el('option', { value: p }, p)));
  $<HTMLSelectElement>('preset').value = model.config?.preset ?? 'its own graph';
}

const warnings: string[] = [];
function warn(message: string): void {
  warnings.push(message);
}

/** The page's first sentence, true for the model loaded. */
function lede(model: Model): string {
  const start = 'Krizhevsky, Sutskever and Hinton\'s 2012 network, run layer by layer in this page, with the real numbers';
  if (model.domain) return `${start}, here on a small model that knows only ${model.domain.description}, as ${model.domain.width}x${model.domain.height}${model.domain.grey ? ' grey' : ''} images. For photos, load ImageNet AlexNet weights under Model.`;
  return `${start}, on the weights you loaded (${describeNetwork(model)}).`;
}

/** Decodes `file` (default: the current one, again, for a new model's channels); only an image that decodes replaces the shown one. */
async function useImage(file = state.imageBytes): Promise<void> {
  if (!file || !state.model) return;
  const { spec, domain, labels } = state.model;
  state.image = await decodeInBrowser(file.bytes, { source: file.name, channels: spec.channels });
  const rgb = domain && (spec.channels === 3 ? state.image : await decodeInBrowser(file.bytes, { source: file.name, channels: 3 }));
  state.imageWarning = rgb && domainWarning(rgb, domain, labels, file.name, PHOTO_REMEDY);
  state.imageBytes = file;
}

/** Runs the network (only: the extras wait for their cells); a run overtaken by a newer one is dropped. */
async function compute(): Promise<void> {
  const { model, image, imageBytes, backend, threads } = state;
  if (!model || !image || !imageBytes) return;
  const run = ++state.runs;
  setStatus('running', `running on ${backendLabel(backend, threads)}…`);
  try {
    const { graph, weights, spec } = model;
    const session = await loadGraph(graph, backendOf(backend, threads), weights);
    const [centre] = testCrops(image, spec, 'center');
    let layers: LayerCell[];
    let prob: ArrayLike<number>;
    let wholeMs: number;
    try {
      gpuOptions.syncEachNode = true;
      layers = await layerCells(graph, session, image, spec);
      gpuOptions.syncEachNode = false;
      const x = stackImages([centre]);
      const t0 = performance.now();
      await session.run(x);
      wholeMs = performance.now() - t0;
      // the centre crop's softmax is the last layer's output, as in `alexnet step`; ten crops need a run of their own
      prob = state.crops === 'center' ? layers.at(-1)!.output.data : await predict(session, image, spec, 'ten-crop');
    } finally {
      gpuOptions.syncEachNode = true;
      await session.dispose();
    }
    if (run !== state.runs) return;
    let partitioned: Partitioned | undefined;
    let splitError: string | undefined;
    try {
      partitioned = partition(graph, { devices: 2 });
    } catch (e) {
      splitError = (e as Error).message;
    }
    const result: Run = {
      model,
      image,
      imageName: imageBytes.name,
      backend,
      threads,
      details: session.details ?? backend,
      preprocess: preprocessCells(image, spec),
      input: { ...centre, shape: [centre.channels, centre.height, centre.width] },
      layers,
      prob,
      output: outputCell(prob, model.labels, state.crops),
      wholeMs,
      partitioned,
      splitError,
      extras: {},
    };
    state.run = result;
    state.cells = cellsOf(result);
    render();
    publish(result);
    const notes = [...warnings, ...(state.imageWarning ? [state.imageWarning] : [])];
    setStatus('ready', `ran on ${backendLabel(backend, threads)} (${result.details}) in ${wholeMs.toFixed(1)} ms${notes.length ? `; ${notes.join('; ')}` : ''}`);
  } catch (e) {
    if (run === state.runs) fail(e);
  }
}

const backendLabel = (backend: BackendName, threads: number): string => (backend === 'wasm' ? `wasm, ${threads} thread${threads > 1 ? 's' : ''}` : backend);

/** Each layer's error against the reference backend, computed once per run when the check cell is opened. */
function referenceCheck(r: Run): Promise<number[]> {
  r.extras.check ??= (async () => {
    const reference = await loadGraph(r.model.graph, referenceBackend, r.model.weights);
    try {
      // one run (layerCells also runs once first, to time the second: the reference needs no warm-up)
      const oracle = await reference.run(stackImages([r.input]), { keep: 'all' });
      return r.layers.map((c) => relativeError(c.output.data, (oracle.activations.get(c.name) ?? oracle.output).data.subarray(0, c.output.data.length)));
    } finally {
      await reference.dispose();
    }
  })();
  return r.extras.check;
}

/** The two-device run, once per run, when its cell is opened. */
function twoDevices(r: Run, split: Partitioned): Promise<DeviceLayer[]> {
  r.extras.devices ??= (async () => {
    const session = await loadGraph(split.graph, backendOf(r.backend, r.threads), split.shardWeights(r.model.weights));
    try {
      return await deviceLayers(split, session, r.image, r.model.spec, r.layers);
    } finally {
      await session.dispose();
    }
  })();
  return r.extras.devices;
}

/** FNV-1a over a tensor's float32 bits: equal for equal outputs, so runs can be compared bit for bit. */
function bitsHash(data: ArrayLike<number>): string {
  const bits = new Uint32Array(Float32Array.from(data as ArrayLike<number>).buffer);
  let h = 0x811c9dc5;
  for (const b of bits) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** What automation reads: window.__alexnet (`training` is live: a getter). */
function publish(r: Run): void {
  const page = window as unknown as { __alexnet: object };
  page.__alexnet = Object.defineProperty(
    {
      backend: r.backend,
      threads: r.threads,
      maxThreads: maxThreads,
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
      adapter: state.adapter,
      model: state.modelName,
      image: r.imageName,
      details: r.details,
      wholeMs: r.wholeMs,
      layersMs: r.layers.reduce((s, c) => s + c.ms, 0),
      layers: r.layers.map((c) => ({ name: c.name, ms: c.ms, shape: c.outputShape, ...c.stats, bits: bitsHash(c.output.data) })),
      top5: r.output.top5,
      runs: state.runs,
    },
    'training',
    { get: trainingState, enumerable: true },
  );
}

function fail(e: unknown): void {
  const err = e as Error & { code?: string };
  setStatus('error', `${err.name}${err.code ? ` [${err.code}]` : ''}: ${err.message}`);
  console.error(e);
}

/** One range over every layer's maps, for the "one for all layers" colour scale. */
function globalRange(layers: readonly LayerCell[]): [number, number] | undefined {
  if (state.scale !== 'global') return undefined;
  const lo = Math.min(...layers.map((c) => c.stats.min));
  const hi = Math.max(...layers.map((c) => c.stats.max));
  return [Math.min(lo, 0), hi];
}

/** How the layers' times were taken, for the reader. */
function timingNote(r: Run): string {
  const sum = r.layers.reduce((s, c) => s + c.ms, 0);
  const how =
    r.backend === 'webgpu'
      ? 'Each layer\'s time is its GPU work, waited for before the next layer starts (so it includes a submit and a wait); the whole run is timed without those waits'
      : `Each layer's time is the CPU time of its kernel${r.backend === 'wasm' ? ` on ${r.threads} thread${r.threads > 1 ? 's' : ''}` : ''}`;
  const clock = globalThis.crossOriginIsolated ? '' : ' This page is not cross-origin isolated, so the browser rounds its clock to 0.1 ms.';
  return `${how}. The layers sum to ${sum.toFixed(2)} ms; one run of the whole network took ${r.wholeMs.toFixed(2)} ms.${clock}`;
}

function cellsOf(r: Run): Cell[] {
  const { graph } = r.model;
  // a function: a DOM node has one parent, and the warning shows in two cells
  const warning = (): HTMLElement[] => (state.imageWarning ? [el('p', { class: 'warning', 'data-field': 'domain-warning' }, `Warning: ${state.imageWarning}`)] : []);
  const labels = r.model.labels;
  const cells: Cell[] = [
    {
      id: 'intro',
      title: 'AlexNet',
      body: () => [
        el('p', { 'data-field': 'lede' }, lede(r.model)),
        el('p', {}, `Model: ${state.modelName}. ${r.model.config ? `Preset ${r.model.config.preset}` : 'Its own graph'}: ${graph.paramCount().toLocaleString('en-US')} parameters, ${graph.macs().toLocaleString('en-US')} multiply-adds per image, input ${graph.input.shape.join('x')}.`),
        el('p', {}, `Image: ${r.imageName}. Backend: ${backendLabel(r.backend, r.threads)} (${r.details}).`),
        ...warning(),
        el('div', { class: 'scroll' }, networkPicture(r, undefined)),
        el('p', {}, 'The cells follow the image through the paper\'s preprocessing, then through every layer of the network (click a block above to jump to it), to the prediction; then every layer is checked against the reference backend, and the network is split over two devices as it was over two GPUs in 2012. Next (→) and Previous (←) step through them; Run all shows them all. In a layer\'s cell, click a map to point at its units: where each looks in the image, and how its number is made.'),
        el('p', { class: 'muted', 'data-field': 'timing' }, timingNote(r)),
      ],
    },
    ...r.preprocess.map((c, i) => ({ id: `image-${i}`, title: `The image: ${c.title}`, body: () => view.preprocessCell(c) })),
    { id: 'ten-crops', title: 'Ten crops', body: () => tenCropsCell(r) },
    { id: 'pca', title: 'PCA colour noise', body: () => pcaCell(r) },
  ];
  r.layers.forEach((c, i) => {
    const before = i === 0 ? r.input : r.layers[i - 1].output;
    const pick = (channel: number): void => inspector({ graph, weights: r.model.weights, cell: c, before, beforeName: i === 0 ? 'the input' : r.layers[i - 1].name, image: r.input, channel, range: view.rangeOf(c, globalRange(r.layers)) });
    cells.push({ id: `layer-${c.name}`, title: `${c.name}: ${c.op.type}`, node: c.name, body: () => [el('div', { class: 'scroll' }, networkPicture(r, c.name)), ...view.layerCell(c, globalRange(r.layers), pick, labels)] });
    if (c.name === 'conv1') cells.push({ id: 'conv1-filters', title: 'conv1\'s filters', node: 'conv1', body: () => view.filtersCell(r.model.weights.get('conv1.weight')!, r.model.domain?.description) });
  });
  cells.push({ id: 'output', title: 'The prediction', body: () => [...warning(), ...view.outputCellView(r.output, r.prob, labels)] });
  cells.push({
    id: 'check',
    title: 'Checked against the reference',
    body: async () => (r.backend === 'reference' ? [el('p', {}, 'This run is the reference backend itself (plain loops, float64 sums): the oracle the other backends are checked against. Pick WebGPU or WASM above to see their error per layer.')] : view.checkCell(r.layers, await referenceCheck(r), backendLabel(r.backend, r.threads))),
  });
  const split = r.partitioned;
  cells.push({
    id: 'devices',
    title: 'Two devices, as in 2012',
    body: async () => (split ? view.devicesCell(split, await twoDevices(r, split), networkPicture(r, undefined, true)) : [el('p', {}, `This model cannot be split over two devices: ${r.splitError}.`)]),
  });
  // the built-in model's network, trained from scratch here (only it has a dataset shipped with the page)
  if (builtIn) cells.push({ id: 'train', title: 'Train it in the page', body: () => trainCell({ model: builtIn!, threads: state.threads }) });
  return cells;
}

/** The overview, with the layer `node` highlighted; a click shows that layer's cell. */
function networkPicture(r: Run, node: string | undefined, transfers = false): SVGSVGElement {
  return overview(r.model.graph, r.partitioned, node, (name) => go(state.cells.findIndex((c) => c.id === `layer-${name}`)), { transfers });
}

function tenCropsCell(r: Run): HTMLElement[] {
  const crops = testCrops(r.image, r.model.spec, 'ten-crop');
  // one symmetric range for all ten, so that they compare
  const bound = Math.max(...crops.map((c) => mapStats(c.data)).flatMap((m) => [-m.min, m.max]), 1e-12);
  const names = ['top left', 'top right', 'bottom left', 'bottom right', 'centre'];
  const size = r.model.spec.preprocessing.crop;
  return [
    el('p', {}, `At test time the paper classified ten ${size}x${size} crops of the rescaled image, the four corners and the centre and their mirror images, and averaged the ten softmax outputs. ${state.crops === 'ten-crop' ? 'Ten-crop testing is on: the prediction cell averages these ten.' : 'Tick "ten-crop testing" above to average them in the prediction; now it uses the centre crop alone.'}`),
    el('div', { class: 'row' }, ...crops.map((c, i) => view.imageFigure(c, [-bound, bound], `${names[i % 5]}${i >= 5 ? ', mirrored' : ''}`, 96))),
  ];
}

function pcaCell(r: Run): HTMLElement[] {
  const { spec } = r.model;
  if (!spec.stats) return [el('p', {}, 'This model has no training-set statistics, so there are no principal components to add noise along. Load a statistics file with its weights.')];
  const n = spec.stats.eigenvalues.length;
  const coefficients = drawPcaCoefficients(createRng(state.pcaSeed), 0.1, n);
  const p = spec.preprocessing;
  const original = pcaNoiseImage(r.image, spec, new Array<number>(n).fill(0)).image;
  const picture = el('div');
  const sliders = coefficients.map((a, i) => {
    const input = el('input', { type: 'range', min: '-0.4', max: '0.4', step: '0.01', value: a.toFixed(2), 'aria-label': `alpha ${i + 1}`, 'data-field': `alpha-${i + 1}` });
    const shown = el('span', {}, a.toFixed(2));
    input.addEventListener('input', () => {
      shown.textContent = Number(input.value).toFixed(2);
      draw();
    });
    return { input, row: el('label', { class: 'slider' }, `α${i + 1} (√λ = ${Math.sqrt(spec.stats!.eigenvalues[i]).toFixed(1)})`, input, shown) };
  });
  const draw = (): void => {
    const { image, offset } = pcaNoiseImage(r.image, spec, sliders.map((s) => Number(s.input.value)));
    picture.replaceChildren(view.imageFigure(image, [0, 255], `with noise: every pixel shifted by (${Array.from(offset, (v) => v.toFixed(1)).join(', ')})`, 192));
  };
  const again = el('button', { type: 'button' }, 'draw α from N(0, 0.1²)');
  again.addEventListener('click', () => {
    state.pcaSeed++;
    drawPcaCoefficients(createRng(state.pcaSeed), 0.1, n).forEach((a, i) => (sliders[i].input.value = a.toFixed(2)));
    sliders.forEach((s) => s.input.dispatchEvent(new Event('input')));
  });
  draw();
  return [
    el('p', {}, `In training the paper added to every pixel of an image the same colour shift along the principal components of the training set's pixels: Σ αᵢ √λᵢ pᵢ, with αᵢ drawn from N(0, 0.1²) once per image, so that the network learns that an object's identity does not depend on the intensity and colour of its lighting. (The paper writes αᵢ λᵢ; its released code scales by √λᵢ, as here.) This ${p.resize}x${p.resize} square ${n === 1 ? 'has one channel, so the one component is brightness' : 'has three channels, so there are three components'}.`),
    el('div', {}, ...sliders.map((s) => s.row), again),
    el('div', { class: 'row' }, view.imageFigure(original, [0, 255], 'without noise', 192), picture),
  ];
}

/** Sets up the cells of a run (built when first shown), the outline and its menu, then shows the current one. */
function render(): void {
  state.current = Math.min(state.current, state.cells.length - 1);
  $('cells').replaceChildren(...state.cells.map((c) => el('section', { class: 'cell', 'data-cell': c.id, id: `cell-${c.id}`, hidden: '' }, el('h2', {}, c.title))));
  $('outline').replaceChildren(
    ...state.cells.map((c, i) => {
      const li = el('li', { 'data-target': c.id }, c.title);
      li.addEventListener('click', () => go(i));
      return li;
    }),
  );
  $('outline-menu').replaceChildren(...state.cells.map((c, i) => el('option', { value: String(i) }, `${i + 1}. ${c.title}`)));
  show();
}

/** Fills a cell's section the first time it is shown; extras say they are computing until they are done. */
function build(i: number): void {
  const section = $('cells').children[i] as HTMLElement;
  if (section.dataset.built) return;
  section.dataset.built = 'yes';
  const cell = state.cells[i];
  const fill = (parts: Element[]): void => section.append(...parts);
  const body = cell.body();
  if (!(body instanceof Promise)) return fill(body);
  const waiting = el('p', { class: 'muted', 'data-field': 'computing' }, 'computing…');
  section.append(waiting);
  section.dataset.state = 'computing';
  body.then(
    (parts) => {
      waiting.remove();
      fill(parts);
      section.dataset.state = 'ready';
    },
    (e: Error) => {
      waiting.replaceWith(el('p', { class: 'warning' }, `${e.name}: ${e.message}`));
      section.dataset.state = 'error';
    },
  );
}

/** Shows the current cell alone, or every cell after "Run all", and where it stands. */
function show(): void {
  Array.from($('cells').children).forEach((section, i) => {
    const shown = state.showAll || i === state.current;
    if (shown) build(i);
    (section as HTMLElement).hidden = !shown;
  });
  Array.from($('outline').children).forEach((li, i) => li.classList.toggle('current', i === state.current));
  $<HTMLSelectElement>('outline-menu').value = String(state.current);
  $('position').textContent = `${state.current + 1} / ${state.cells.length}`;
  $('position').title = state.cells[state.current]?.title ?? '';
  $<HTMLButtonElement>('previous').disabled = state.current === 0;
  $<HTMLButtonElement>('next').disabled = state.current === state.cells.length - 1;
}

/** Shows cell i alone (leaving "run all"). */
function go(i: number): void {
  if (i < 0) return;
  state.current = Math.max(0, Math.min(state.cells.length - 1, i));
  state.showAll = false;
  show();
  window.scrollTo({ top: 0 });
}

async function loadSamples(): Promise<{ file: string; label: string }[]> {
  const samples = (await (await fetch(SAMPLE_INDEX)).json()) as { file: string; label: string }[];
  $('sample').replaceChildren(...samples.map((s) => el('option', { value: s.file }, `sample: ${s.label}`)));
  return samples;
}

async function useSample(file: string): Promise<void> {
  const url = SAMPLES[`../models/mini-fashion/samples/${file}`];
  if (!url) throw new Error(`no sample image ${file}`);
  await useImage({ name: file, bytes: await fetchBytes(url) });
  $('sample').querySelector('option[value=""]')?.remove();
}

/** The image menu names an uploaded image as the one shown. */
function showUpload(name: string): void {
  const menu = $<HTMLSelectElement>('sample');
  menu.querySelector('option[value=""]')?.remove();
  menu.prepend(el('option', { value: '' }, `your image: ${name}`));
  menu.value = '';
}

/** Software adapters run WebGPU on the CPU: listed, labelled, never the default. */
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software|basic render/i;
const maxThreads = await cores();

/** The best backend by default: WebGPU on a hardware adapter, else WASM on every core; the reference for small inputs. */
async function offerBackends(): Promise<void> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  const adapter = await gpu?.requestAdapter().catch(() => null);
  const info = adapter?.info;
  if (adapter) {
    const name = (info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') : '') || 'an adapter';
    state.adapter = { name, software: adapter.isFallbackAdapter || SOFTWARE.test(name) };
  }
  const software = state.adapter?.software;
  $('backend').replaceChildren(
    el('option', { value: 'webgpu', ...(adapter ? {} : { disabled: '' }) }, adapter ? `WebGPU: ${state.adapter!.name}${software ? ' (software: on the CPU, slow)' : ''}` : 'WebGPU (no adapter in this browser)'),
    el('option', { value: 'wasm' }, 'WASM SIMD'),
    el('option', { value: 'reference' }, 'reference (float64 loops; slow beyond small inputs)'),
  );
  $('threads').replaceChildren(...Array.from({ length: maxThreads }, (_, i) => el('option', { value: String(i + 1) }, `${i + 1} thread${i ? 's' : ''}`)));
  $('threads').title = globalThis.crossOriginIsolated ? `up to this machine's ${maxThreads} cores` : 'one thread: this page is not cross-origin isolated, so it cannot share memory with workers';
  const asked = params.get('backend') as BackendName | null;
  state.backend = asked === 'webgpu' || asked === 'wasm' || asked === 'reference' ? asked : adapter && !software ? 'webgpu' : 'wasm';
  const threads = Number(params.get('threads'));
  state.threads = Number.isSafeInteger(threads) && threads >= 1 && threads <= maxThreads ? threads : maxThreads;
  $<HTMLSelectElement>('backend').value = state.backend;
  $<HTMLSelectElement>('threads').value = String(state.threads);
  $<HTMLSelectElement>('threads').disabled = state.backend !== 'wasm';
}

function wire(): void {
  const onChange = (id: string, action: () => Promise<void> | void): void =>
    $(id).addEventListener('change', () => {
      void (async () => {
        try {
          await action();
          await compute();
        } catch (e) {
          fail(e);
        }
      })();
    });
  onChange('backend', () => {
    state.backend = $<HTMLSelectElement>('backend').value as BackendName;
    $<HTMLSelectElement>('threads').disabled = state.backend !== 'wasm';
  });
  onChange('threads', () => {
    state.threads = Number($<HTMLSelectElement>('threads').value);
  });
  onChange('ten-crop', () => {
    state.crops = $<HTMLInputElement>('ten-crop').checked ? 'ten-crop' : 'center';
  });
  $('scale').addEventListener('change', () => {
    state.scale = $<HTMLSelectElement>('scale').value as 'layer' | 'global';
    render();
  });
  onChange('sample', async () => {
    const file = $<HTMLSelectElement>('sample').value;
    if (file) await useSample(file);
  });
  onChange('image-file', async () => {
    const file = $<HTMLInputElement>('image-file').files?.[0];
    if (!file) return;
    await useImage({ name: file.name, bytes: await fileBytes(file) });
    showUpload(file.name);
  });
  for (const id of ['weights-file', 'stats-file', 'labels-file', 'preset']) {
    onChange(id, async () => {
      warnings.length = 0;
      // new files: the first preset that fits; the preset menu: the one picked
      await usePickedModel(id === 'preset' ? ($<HTMLSelectElement>('preset').value as Preset) : undefined);
      showModel();
      await useImage();
    });
  }
  $('built-in').addEventListener('click', () => {
    void (async () => {
      try {
        for (const id of ['weights-file', 'stats-file', 'labels-file']) $<HTMLInputElement>(id).value = '';
        warnings.length = 0;
        await useBuiltInModel();
        showModel();
        await useImage();
        await compute();
      } catch (e) {
        fail(e);
      }
    })();
  });
  $('previous').addEventListener('click', () => go(state.current - 1));
  $('next').addEventListener('click', () => go(state.current + 1));
  $('outline-menu').addEventListener('change', () => go(Number($<HTMLSelectElement>('outline-menu').value)));
  $('run-all').addEventListener('click', () => {
    state.showAll = true;
    show();
  });
  $('controls-toggle').addEventListener('click', () => {
    const open = document.body.classList.toggle('controls-open');
    $('controls-toggle').setAttribute('aria-expanded', String(open));
  });
  document.addEventListener('keydown', (e) => {
    if ((e.target as HTMLElement).closest('input, select, dialog')) return;
    if (e.key === 'ArrowRight') go(state.current + 1);
    if (e.key === 'ArrowLeft') go(state.current - 1);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * On a static host that sets no headers, coi-serviceworker (index.html) registers a service worker
 * that adds them and reloads the page once it controls it: wait for that reload rather than run
 * twice. A page already controlled, or where service workers cannot run, goes on with one thread.
 */
async function isolation(): Promise<void> {
  if (globalThis.crossOriginIsolated || !window.isSecureContext || !navigator.serviceWorker || navigator.serviceWorker.controller) return;
  setStatus('loading', 'loading (once: a service worker makes this page cross-origin isolated, for threads)…');
  await Promise.race([navigator.serviceWorker.ready.then(() => sleep(2000)), sleep(5000)]);
}

async function start(): Promise<void> {
  wire();
  try {
    await isolation();
    await offerBackends();
    await useBuiltInModel();
    showModel();
    const samples = await loadSamples();
    const sample = samples.find((s) => s.file === params.get('sample'))?.file ?? samples.find((s) => s.file === 'ankle-boot.png')?.file ?? samples[0].file;
    $<HTMLSelectElement>('sample').value = sample;
    if (params.get('crops') === 'ten-crop') {
      state.crops = 'ten-crop';
      $<HTMLInputElement>('ten-crop').checked = true;
    }
    await useSample(sample);
    state.current = 0;
    await compute();
    const cell = state.cells.findIndex((c) => c.id === params.get('cell'));
    if (cell >= 0) go(cell);
  } catch (e) {
    fail(e);
  }
}

void start();
