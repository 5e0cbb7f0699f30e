/// <reference types="vite/client" />
// The notebook page: AlexNet one cell at a time, from the photo to the prediction, on the backend
// the reader picks. Every number comes from src/notebook/walkthrough.ts, as in `alexnet step`, so
// the page and the terminal twin agree. URL parameters (?backend=wasm&sample=bag.png&cell=output)
// make a view shareable.
import type { Backend } from '../src/backends/backend.js';
import { referenceBackend } from '../src/backends/reference/index.js';
import { wasmBackend } from '../src/backends/wasm/index.js';
import { webgpuBackend } from '../src/backends/webgpu/index.js';
import { drawPcaCoefficients } from '../src/data/augment.js';
import type { Image } from '../src/data/image.js';
import type { TestCrops } from '../src/data/pipeline.js';
import { testCrops } from '../src/data/pipeline.js';
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
import { decodeInBrowser } from './decode.js';
import * as view from './view.js';
import { el } from './view.js';

type BackendName = 'webgpu' | 'wasm' | 'reference';

// Kernels run on this page's thread: wasm threads would need cross-origin isolation, which a plain
// static server does not give. WebGPU waits for each node, so its per-layer times are GPU times.
const BACKENDS: Record<BackendName, () => Backend> = {
  webgpu: () => webgpuBackend({ syncEachNode: true }),
  wasm: () => wasmBackend({ threads: 1 }),
  reference: () => referenceBackend,
};

// the built-in model's weights describe it whole (preset, names, statistics, the images it knows)
const BUILT_IN = new URL('../models/mini-fashion/weights.safetensors', import.meta.url);
const SAMPLES = import.meta.glob('../models/mini-fashion/samples/*.png', { query: '?url', import: 'default', eager: true }) as Record<string, string>;
const SAMPLE_INDEX = new URL('../models/mini-fashion/samples/index.json', import.meta.url);
const IMAGENET_LABELS = new URL('../src/data/imagenet-classes.txt', import.meta.url);
const PHOTO_REMEDY = 'For photos, pick ImageNet AlexNet weights under Model.';

interface Cell {
  readonly id: string;
  readonly title: string;
  readonly body: () => HTMLElement[];
}

/** Everything one run computed; the cells are views of it. */
interface Run {
  readonly model: Model;
  readonly image: Image;
  readonly imageName: string;
  readonly backend: BackendName;
  readonly details: string;
  readonly preprocess: PreprocessCell[];
  readonly layers: LayerCell[];
  readonly output: OutputCell;
  readonly split?: { readonly partitioned: Partitioned; readonly layers: DeviceLayer[] };
  readonly splitError?: string;
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

async function useBuiltInModel(): Promise<void> {
  state.model = loadModel({ weights: { name: 'weights.safetensors', bytes: await fetchBytes(BUILT_IN) } }, warn);
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
  $('lede').textContent = lede(model);
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

/** Runs everything the cells show; a run overtaken by a newer one is dropped. */
async function compute(): Promise<void> {
  const { model, image, imageBytes, backend } = state;
  if (!model || !image || !imageBytes) return;
  const run = ++state.runs;
  setStatus('running', `running on ${backend}…`);
  try {
    const { graph, weights, spec } = model;
    const session = await loadGraph(graph, BACKENDS[backend](), weights);
    const reference = backend === 'reference' ? undefined : await loadGraph(graph, referenceBackend, weights);
    let layers: LayerCell[];
    let prob: ArrayLike<number>;
    try {
      layers = await layerCells(graph, session, image, spec, reference);
      // the centre crop's softmax is the last layer's output, as in `alexnet step`; ten crops need a run of their own
      prob = state.crops === 'center' ? layers.at(-1)!.output.data : await predict(session, image, spec, 'ten-crop');
    } finally {
      await session.dispose();
      await reference?.dispose();
    }
    let split: Run['split'];
    let splitError: string | undefined;
    try {
      const partitioned = partition(graph, { devices: 2 });
      const twoDevices = await loadGraph(partitioned.graph, BACKENDS[backend](), partitioned.shardWeights(weights));
      try {
        split = { partitioned, layers: await deviceLayers(partitioned, twoDevices, image, spec, layers) };
      } finally {
        await twoDevices.dispose();
      }
    } catch (e) {
      splitError = (e as Error).message;
    }
    if (run !== state.runs) return;
    const result: Run = {
      model,
      image,
      imageName: imageBytes.name,
      backend,
      details: session.details ?? backend,
      preprocess: preprocessCells(image, spec),
      layers,
      output: outputCell(prob, model.labels, state.crops),
      split,
      splitError,
    };
    state.cells = cellsOf(result);
    render();
    const notes = [...warnings, ...(state.imageWarning ? [state.imageWarning] : [])];
    setStatus('ready', `ran on ${backend} (${result.details})${notes.length ? `; ${notes.join('; ')}` : ''}`);
  } catch (e) {
    if (run === state.runs) fail(e);
  }
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

function cellsOf(r: Run): Cell[] {
  const { graph } = r.model;
  // a function: a DOM node has one parent, and the warning shows in two cells
  const warning = (): HTMLElement[] => (state.imageWarning ? [el('p', { class: 'warning', 'data-field': 'domain-warning' }, `Warning: ${state.imageWarning}`)] : []);
  const cells: Cell[] = [
    {
      id: 'intro',
      title: 'AlexNet',
      body: () => [
        el('p', {}, `Model: ${state.modelName}. ${r.model.config ? `Preset ${r.model.config.preset}` : 'Its own graph'}: ${graph.paramCount().toLocaleString('en-US')} parameters, ${graph.macs().toLocaleString('en-US')} multiply-adds per image, input ${graph.input.shape.join('x')}.`),
        el('p', {}, `Image: ${r.imageName}. Backend: ${r.backend} (${r.details}).`),
        ...warning(),
        el('p', {}, 'The cells follow the image through the paper\'s preprocessing, then through every layer of the network, to the five most probable classes; then every layer is checked against the reference backend, and the network is split over two devices as it was over two GPUs in 2012. Next (→) and Previous (←) step through them; Run all shows them all.'),
      ],
    },
    ...r.preprocess.map((c, i) => ({ id: `image-${i}`, title: `The image: ${c.title}`, body: () => view.preprocessCell(c) })),
    { id: 'ten-crops', title: 'Ten crops', body: () => tenCropsCell(r) },
    { id: 'pca', title: 'PCA colour noise', body: () => pcaCell(r) },
  ];
  for (const c of r.layers) {
    cells.push({ id: `layer-${c.name}`, title: `${c.name}: ${c.op.type}`, body: () => view.layerCell(c, globalRange(r.layers)) });
    if (c.name === 'conv1') cells.push({ id: 'conv1-filters', title: 'conv1\'s filters', body: () => view.filtersCell(r.model.weights.get('conv1.weight')!) });
  }
  cells.push({ id: 'output', title: 'The prediction', body: () => [...warning(), ...view.outputCellView(r.output)] });
  cells.push({
    id: 'check',
    title: 'Checked against the reference',
    body: () => (r.backend === 'reference' ? [el('p', {}, 'This run is the reference backend itself (plain loops, float64 sums): the oracle the other backends are checked against. Pick WebGPU or WASM above to see their error per layer.')] : view.checkCell(r.layers, r.backend)),
  });
  cells.push({
    id: 'devices',
    title: 'Two devices, as in 2012',
    body: () => (r.split ? view.devicesCell(r.split.partitioned, r.split.layers, r.layers, globalRange(r.layers)) : [el('p', {}, `This model cannot be split over two devices: ${r.splitError}.`)]),
  });
  return cells;
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
  if (!spec.stats) return [el('p', {}, 'This model has no training-set statistics, so there are no principal components to add noise along. Load a statistics file (`alexnet stats`) with its weights.')];
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

/** Builds every cell's DOM (again after a run or a new colour scale), then shows the current one. */
function render(): void {
  state.current = Math.min(state.current, state.cells.length - 1);
  $('cells').replaceChildren(...state.cells.map((c) => el('section', { class: 'cell', 'data-cell': c.id, id: `cell-${c.id}` }, el('h2', {}, c.title), ...c.body())));
  $('outline').replaceChildren(
    ...state.cells.map((c, i) => {
      const li = el('li', { 'data-target': c.id }, c.title);
      li.addEventListener('click', () => go(i));
      return li;
    }),
  );
  show();
}

/** Shows the current cell alone, or every cell after "Run all", and where it stands. */
function show(): void {
  Array.from($('cells').children).forEach((section, i) => ((section as HTMLElement).hidden = !state.showAll && i !== state.current));
  Array.from($('outline').children).forEach((li, i) => li.classList.toggle('current', i === state.current));
  $('position').textContent = `${state.current + 1} / ${state.cells.length}: ${state.cells[state.current]?.title ?? ''}`;
  $<HTMLButtonElement>('previous').disabled = state.current === 0;
  $<HTMLButtonElement>('next').disabled = state.current === state.cells.length - 1;
}

/** Shows cell i alone (leaving "run all"). */
function go(i: number): void {
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
}

/** WebGPU where navigator.gpu gives an adapter, else WASM; the reference for small inputs. */
async function offerBackends(): Promise<void> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  const adapter = await gpu?.requestAdapter().catch(() => null);
  const info = adapter?.info;
  const gpuName = info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'an adapter' : '';
  const options = [
    el('option', { value: 'webgpu', ...(adapter ? {} : { disabled: '' }) }, adapter ? `WebGPU (${gpuName}${adapter.isFallbackAdapter ? ', a software fallback' : ''})` : 'WebGPU (no adapter in this browser)'),
    el('option', { value: 'wasm' }, 'WASM SIMD (1 thread)'),
    el('option', { value: 'reference' }, 'reference (float64 loops; slow beyond small inputs)'),
  ];
  $('backend').replaceChildren(...options);
  const asked = params.get('backend') as BackendName | null;
  state.backend = asked && asked in BACKENDS ? asked : adapter ? 'webgpu' : 'wasm';
  $<HTMLSelectElement>('backend').value = state.backend;
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
  });
  onChange('ten-crop', () => {
    state.crops = $<HTMLInputElement>('ten-crop').checked ? 'ten-crop' : 'center';
  });
  $('scale').addEventListener('change', () => {
    state.scale = $<HTMLSelectElement>('scale').value as 'layer' | 'global';
    render();
  });
  onChange('sample', () => useSample($<HTMLSelectElement>('sample').value));
  onChange('image-file', async () => {
    const file = $<HTMLInputElement>('image-file').files?.[0];
    if (!file) return;
    await useImage({ name: file.name, bytes: await fileBytes(file) });
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
  $('run-all').addEventListener('click', () => {
    state.showAll = true;
    show();
  });
  document.addEventListener('keydown', (e) => {
    if ((e.target as HTMLElement).closest('input, select')) return;
    if (e.key === 'ArrowRight') go(state.current + 1);
    if (e.key === 'ArrowLeft') go(state.current - 1);
  });
}

async function start(): Promise<void> {
  wire();
  try {
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
