/// <reference types="vite/client" />
// The benchmark page: AlexNet's forward on the reader's own CPU and GPU, ours against TensorFlow.js
// and onnxruntime-web (bench-systems.ts), one system at a time on the same weights and input, each
// output checked against the float64 reference before its time counts; then, per WebGPU adapter,
// the kernel ladder (bench/webgpu-ladder-core.ts). Results: a table, charts as `npm run bench`
// draws them, a JSON file in the bench/results schema, and window.__alexnetBench for automation.
// URL parameters preset the form: ?width=0.25&batch=1,16&runs=2&systems=wasm,webgpu&ladder=0&auto=1.
import { referenceBackend } from '../src/backends/reference/index.js';
import { cores } from '../src/backends/wasm/index.js';
import { webgpuBackend } from '../src/backends/webgpu/index.js';
import type { KernelChoice } from '../src/backends/webgpu/index.js';
import { renderSvg } from '../src/charts.js';
import { alexnet } from '../src/models/index.js';
import { runGraph } from '../src/runtime/index.js';
import { relativeError } from '../src/tensor.js';
import { paperInit } from '../src/train/index.js';
import { benchInput, SEED } from '../bench/bench-input.js';
import { barChart, stackedBars } from '../bench/charts.js';
import { spread } from '../bench/spread.js';
import type { PageResult } from '../bench/results-schema.js';
import { ladderMarkdown, runWebgpuLadder } from '../bench/webgpu-ladder-core.js';
import type { LoadedSystem, OfferedAdapter, SystemKind, SystemSpec } from './bench-systems.js';
import { gpuOf, loadSystem, offeredAdapters, systemLabel } from './bench-systems.js';

/** The network's tolerance against the float64 oracle (ARCHITECTURE.md, Numerics): past it, a system's time is not counted. */
const TOLERANCE = 1e-4;
const PEERS: readonly SystemKind[] = ['tfjs-wasm', 'tfjs-webgpu', 'ort-web', 'ort-web-webgpu'];
const KERNELS: readonly KernelChoice[] = ['naive', 'tiled', 'direct'];
/** A system that has not loaded or answered by then is given up on (its runtime may never settle). */
const STEP_TIMEOUT_S = 300;

function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish in ${STEP_TIMEOUT_S} s: given up`)), STEP_TIMEOUT_S * 1000);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

const $ = <T extends Element>(selector: string): T => document.querySelector<T>(selector)!;
const status = $<HTMLSpanElement>('#status');
const params = new URLSearchParams(location.search);

const result: PageResult = {
  source: 'page',
  date: new Date().toISOString().slice(0, 10),
  machine: { browser: navigator.userAgent, cores: 1, isolated: globalThis.crossOriginIsolated === true, adapters: [] },
  quick: false,
  network: [],
  layers: [],
  webgpuLadder: [],
  failures: [],
};
const state = { state: 'idle' as 'idle' | 'running' | 'done' | 'error', message: '', result };
(window as unknown as { __alexnetBench: typeof state }).__alexnetBench = state;

function setStatus(kind: typeof state.state, message: string): void {
  state.state = kind;
  state.message = message;
  status.dataset.state = kind;
  status.textContent = message;
}

/** The systems on offer here: ours on 1, 2, 4… and all cores, ours on each adapter, the peers. */
function systemsOffered(threads: number, adapters: readonly OfferedAdapter[]): SystemSpec[] {
  const counts = [...new Set([...[1, 2, 4, 8, 16, 32].filter((t) => t < threads), threads])];
  return [
    ...counts.map((t): SystemSpec => ({ kind: 'wasm', threads: t })),
    ...adapters.map((adapter): SystemSpec => ({ kind: 'webgpu', threads: 1, adapter })),
    ...PEERS.filter((k) => adapters.length > 0 || !k.endsWith('webgpu')).map((kind): SystemSpec => ({ kind, threads })),
  ];
}

function specId(spec: SystemSpec): string {
  return spec.kind === 'wasm' ? `wasm-${spec.threads}` : spec.kind === 'webgpu' ? `webgpu-${spec.adapter?.name}` : spec.kind;
}

async function describeMachine(): Promise<{ threads: number; adapters: OfferedAdapter[] }> {
  const threads = await cores();
  const adapters = await offeredAdapters();
  result.machine = { ...result.machine, cores: navigator.hardwareConcurrency || threads, isolated: globalThis.crossOriginIsolated === true, adapters: adapters.map(({ name, vendor, architecture, software }) => ({ name, vendor, architecture, software })) };
  const facts: [string, string][] = [
    ['browser', navigator.userAgent],
    ['CPU', `${navigator.hardwareConcurrency || '?'} logical cores; WASM threads here: ${threads}${threads === 1 && !globalThis.crossOriginIsolated ? ' (the page is not cross-origin isolated, so one)' : ''}`],
    ['WebGPU', adapters.length ? adapters.map((a) => `${a.name}${a.software ? '' : ' (hardware)'}${a.vendor ? `, vendor ${a.vendor}` : ''}${a.architecture ? `, ${a.architecture}` : ''}`).join('; ') : 'no adapter: this browser offers no WebGPU here'],
  ];
  $('#machine-facts').replaceChildren(...facts.flatMap(([k, v]) => [Object.assign(document.createElement('dt'), { textContent: k }), Object.assign(document.createElement('dd'), { textContent: v })]));
  return { threads, adapters };
}

function buildForm(specs: readonly SystemSpec[]): void {
  const wanted = params.get('systems')?.split(',');
  $('#systems').replaceChildren(
    Object.assign(document.createElement('legend'), { textContent: 'systems' }),
    ...specs.map((spec) => {
      const label = document.createElement('label');
      const box = Object.assign(document.createElement('input'), { type: 'checkbox', name: 'system', value: specId(spec), checked: !wanted || wanted.includes(spec.kind) || wanted.includes(specId(spec)) });
      label.append(box, ` ${systemLabel(spec)}`);
      return label;
    }),
  );
  if (params.has('width')) $<HTMLSelectElement>('#width').value = params.get('width')!;
  if (params.has('runs')) $<HTMLInputElement>('#runs').value = params.get('runs')!;
  if (params.has('batch')) {
    const batches = params.get('batch')!.split(',');
    for (const box of Array.from(document.querySelectorAll<HTMLInputElement>('input[name="batch"]'))) box.checked = batches.includes(box.value);
  }
  if (params.has('ladder')) $<HTMLInputElement>('#ladder').checked = params.get('ladder') !== '0';
}

async function run(specs: readonly SystemSpec[]): Promise<void> {
  const width = Number($<HTMLSelectElement>('#width').value);
  const runs = Math.max(1, Math.round(Number($<HTMLInputElement>('#runs').value)));
  const batches = Array.from(document.querySelectorAll<HTMLInputElement>('input[name="batch"]:checked')).map((b) => Number(b.value));
  const chosen = new Set(Array.from(document.querySelectorAll<HTMLInputElement>('input[name="system"]:checked')).map((b) => b.value));
  const systems = specs.filter((s) => chosen.has(specId(s)));
  if (!batches.length || !systems.length) throw new Error('pick at least one batch size and one system');
  Object.assign(result, { network: [], layers: [], webgpuLadder: [], failures: [], quick: width < 1 });
  $<HTMLElement>('#results').hidden = false;

  const graph = alexnet({ preset: 'bvlc', width });
  const weights = paperInit(graph, { seed: SEED });
  setStatus('running', 'the float64 reference (what every output is checked against)…');
  const reference = (await runGraph(graph, referenceBackend, weights, benchInput(1))).output.data;
  for (const batch of batches) {
    const input = benchInput(batch);
    for (const spec of systems) {
      const name = systemLabel(spec);
      setStatus('running', `${name}, batch ${batch}: loading…`);
      let loaded: LoadedSystem | undefined;
      try {
        loaded = await withTimeout(loadSystem(spec, graph, weights), 'loading');
        setStatus('running', `${name}, batch ${batch}: checking…`);
        const first = await withTimeout(loaded.forward(input), 'the first forward');
        const error = relativeError(first.subarray(0, reference.length), reference);
        if (!(error <= TOLERANCE)) throw new Error(`its output is off the reference by ${error.toExponential(2)} (relative), over ${TOLERANCE}: not timed`);
        const times: number[] = [];
        for (let r = 0; r < runs; r++) {
          setStatus('running', `${name}, batch ${batch}: run ${r + 1} of ${runs}…`);
          const start = performance.now();
          await withTimeout(loaded.forward(input), `run ${r + 1}`);
          times.push((performance.now() - start) / batch);
        }
        const msPerImage = spread(times);
        result.network.push({ system: name, preset: 'bvlc', width, details: loaded.details, threads: spec.threads, batch, msPerImage, transferredPerImage: 0, error });
        if (loaded.layers) {
          const timings = await loaded.layers(input);
          const layers = Object.fromEntries(graph.nodes.filter((n) => timings.some((t) => (t.fused ?? t.name) === n.name)).map((n) => [n.name, timings.filter((t) => (t.fused ?? t.name) === n.name).reduce((s, t) => s + t.ms, 0) / batch]));
          result.layers.push({ system: name, preset: 'bvlc', width, threads: spec.threads, batch, details: loaded.details, layers, total: msPerImage, error, label: `${name}, batch ${batch}` });
        }
      } catch (e) {
        result.failures.push({ system: name, batch, reason: (e as Error).message });
      } finally {
        await loaded?.dispose().catch(() => {});
      }
      await draw();
    }
  }
  if ($<HTMLInputElement>('#ladder').checked) {
    for (const spec of systems.filter((s) => s.kind === 'webgpu')) {
      const adapter = spec.adapter!;
      const gpus = [gpuOf(adapter)];
      try {
        const rungs = await runWebgpuLadder({
          preset: 'bvlc',
          width,
          batch: batches[0],
          runs,
          kernels: KERNELS,
          backend: (kernels) => webgpuBackend({ gpus, kernels, syncEachNode: true }),
          onRung: (r) => setStatus('running', `kernel ladder on ${adapter.name}: ${r.layer}, ${r.kernels} ${r.msPerImage.toFixed(1)} ms`),
        });
        result.webgpuLadder.push(...rungs.map((r) => ({ ...r, adapter: adapter.name })));
      } catch (e) {
        result.failures.push({ system: `kernel ladder on ${adapter.name}`, batch: batches[0], reason: (e as Error).message });
      }
      await draw();
    }
  }
}

const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

async function draw(): Promise<void> {
  const rows = result.network;
  const peerOf = (batch: number, kind: string) => rows.find((r) => r.batch === batch && r.system === systemLabel({ kind: kind as SystemKind, threads: 1 }));
  const body = rows.map((r) => {
    const ours = r.system.startsWith('ours');
    const gpu = r.system.startsWith('ours, webgpu');
    const ratios = PEERS.map((kind) => {
      const peer = peerOf(r.batch, kind);
      // WASM against the WASM peers, WebGPU against the WebGPU ones
      if (!ours || !peer || gpu !== kind.endsWith('webgpu')) return '<td></td>';
      const ratio = r.msPerImage.median / peer.msPerImage.median;
      return `<td class="${ratio <= 1 ? 'good' : 'bad'}">${ratio.toFixed(2)}</td>`;
    });
    const cells = [`<td>${escape(r.system)}</td>`, `<td>${escape(r.details)}</td>`, `<td>${r.batch}</td>`, `<td>${fmt(r.msPerImage.median)} [${fmt(r.msPerImage.min)}–${fmt(r.msPerImage.max)}]</td>`, `<td>${(1000 / r.msPerImage.median).toFixed(1)}</td>`, ...ratios, `<td>${r.error.toExponential(1)}</td>`];
    return `<tr class="${ours ? 'ours' : ''}">${cells.join('')}</tr>`;
  });
  $('#table tbody').innerHTML = body.join('');
  $('#failures').innerHTML = result.failures.map((f) => `<li>${escape(f.system)}, batch ${f.batch}: ${escape(f.reason)}</li>`).join('');
  const width = result.network[0]?.width ?? 1;
  const net = `bvlc${width === 1 ? '' : ` at width ${width}`}`;
  if (rows.length) {
    $('#chart').innerHTML = await renderSvg(barChart(rows.map((r) => ({ label: `${r.system}, batch ${r.batch}`, median: r.msPerImage.median, min: r.msPerImage.min, max: r.msPerImage.max })), { title: `AlexNet ${net} forward, ms per image (lower is better)`, unit: 'ms/image' }));
  }
  if (result.layers.length) {
    $('#layers-chart').innerHTML = await renderSvg(stackedBars(result.layers.map((l) => ({ label: l.label ?? l.system, parts: Object.entries(l.layers).map(([name, value]) => ({ name, value })) })), { title: `Ours, ${net}: where the time goes, per layer`, unit: 'ms/image' }));
  }
  $<HTMLElement>('#ladder-title').hidden = result.webgpuLadder.length === 0;
  const adapters = [...new Set(result.webgpuLadder.map((r) => r.adapter))];
  $('#ladder-tables').innerHTML = adapters.map((a) => `<p class="note">${escape(a)}, batch ${result.webgpuLadder.find((r) => r.adapter === a)!.batch}: ms/image of each layer alone (GFLOP/s), the fastest in bold</p>${markdownTable(ladderMarkdown(result.webgpuLadder.filter((r) => r.adapter === a)))}`).join('');
}

/** ladderMarkdown's table as HTML (one source for the CLI's report and the page). */
function markdownTable(md: string): string {
  const [head, , ...rest] = md.split('\n');
  const cells = (line: string) => line.split('|').slice(1, -1).map((c) => escape(c.trim()).replace(/\*\*(.+)\*\*/, '<strong>$1</strong>'));
  return `<div class="scroll"><table><thead><tr>${cells(head).map((c) => `<th>${c}</th>`).join('')}</tr></thead><tbody>${rest.map((l) => `<tr>${cells(l).map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table></div>`;
}

function escape(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function download(): void {
  const blob = new Blob([`${JSON.stringify(result, null, 2)}\n`], { type: 'application/json' });
  const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: `${result.date}-browser-bench.json` });
  a.click();
  URL.revokeObjectURL(a.href);
}

async function main(): Promise<void> {
  const { threads, adapters } = await describeMachine();
  const specs = systemsOffered(threads, adapters);
  buildForm(specs);
  const start = $<HTMLButtonElement>('#start');
  $<HTMLButtonElement>('#download').addEventListener('click', download);
  const go = async (): Promise<void> => {
    start.disabled = true;
    $<HTMLButtonElement>('#download').disabled = true;
    try {
      await run(specs);
      const failed = result.failures.length;
      setStatus('done', `done: ${result.network.length} timed${failed ? `, ${failed} not (see below)` : ''}`);
    } catch (e) {
      setStatus('error', (e as Error).message);
    } finally {
      start.disabled = false;
      $<HTMLButtonElement>('#download').disabled = result.network.length === 0;
    }
  };
  start.addEventListener('click', () => void go());
  setStatus('idle', 'ready: pick what to run, then Run the benchmark');
  if (params.get('auto') === '1') await go();
}

main().catch((e: Error) => setStatus('error', e.message));
