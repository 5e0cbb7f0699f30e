// `alexnet step`: the notebook's terminal twin. The same cells (src/notebook/walkthrough.ts) as
// Markdown with PNG pictures in one folder: the image through the preprocessing, every layer (what
// it does, its formula, shapes, parameters, MACs, time, statistics, every output map), conv1's
// filters by tower, where data crosses on two devices, and the top-5. `--interactive` prints the
// cells one at a time, waiting for Enter.
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { UsageError } from '../errors.js';
import type { Image } from '../data/image.js';
import type { PipelineSpec } from '../data/pipeline.js';
import type { Graph } from '../graph/index.js';
import { writeFileAtomic } from '../io/index.js';
import type { Cell, LayerCell } from '../notebook/walkthrough.js';
import type { DeviceLayer } from '../notebook/walkthrough.js';
import { deviceLayers, layerCells, layerFacts, outputCell, preprocessCells } from '../notebook/walkthrough.js';
import { renderSvg, svgToPng } from '../charts.js';
import { classBarsSpec } from '../notebook/pictures.js';
import { filtersPng, imagePng, mapsGridPng, vectorGridPng } from '../notebook/render-png.js';
import type { Partitioned } from '../partition/index.js';
import { describeNetwork } from '../model-file.js';
import { partition } from '../partition/index.js';
import type { Weights } from '../runtime/index.js';
import { loadGraph } from '../runtime/index.js';
import type { Tensor } from '../tensor.js';
import { readImage } from './classify.js';
import { openModel } from './model-files.js';
import type { ModelArgs } from './model-files.js';
import { addModelOptions, backendOption, createBackend, threadsOption } from './options.js';
import type { BackendChoice } from './options.js';

interface StepOptions extends ModelArgs {
  weights?: string;
  backend: BackendChoice;
  threads?: number;
  out: string;
  interactive?: boolean;
}

export function stepCommand(): Command {
  return addModelOptions(new Command('step').description('step through AlexNet layer by layer on one image: Markdown and PNG pictures in a folder'), { help: 'told from --weights; the built-in model is mini', classes: 'told from --weights', inChannels: 'told from --weights' })
    .argument('<image>', 'a PNG or JPEG file')
    .option('--weights <file>', 'weights (.safetensors, .pth, .onnx) or a `train` run folder (default: the built-in model, mini trained on Fashion-MNIST)')
    .option('--labels <file>', 'class names, one per line (default: the weights\' own)')
    .option('--stats <file>', 'the training set\'s statistics (`alexnet stats`), for models that subtract its mean image and do not carry it')
    .addOption(backendOption())
    .addOption(threadsOption(false))
    .requiredOption('--out <dir>', 'folder for walkthrough.md and its pictures (must not exist)')
    .option('--interactive', 'also print the cells one at a time, Enter for the next')
    .action(step);
}

async function step(file: string, o: StepOptions, command: Command): Promise<void> {
  const { model: loaded, builtIn } = await openModel(o, o.weights, command.getOptionValueSource('arch') === 'cli');
  const { graph: model, weights, spec, labels } = loaded;
  const { image: img, warning } = await readImage(file, loaded);
  const backend = await createBackend(o.backend, o.threads, 1, model.macs());
  const session = await loadGraph(model, backend, weights);
  // another backend is checked layer by layer against the reference, the oracle
  const reference = backend.name === 'reference' ? undefined : await loadGraph(model, await createBackend('reference', undefined, 1, 0), weights);
  let layers: LayerCell[];
  try {
    layers = await layerCells(model, session, img, spec, reference);
  } finally {
    await session.dispose();
    await reference?.dispose();
  }
  const devices = await twoDevices(model, weights, o, backend.name, img, spec, layers);
  const prob = layers.at(-1)!.output.data;
  const cells: Cell[] = [...preprocessCells(img, spec), ...layers, outputCell(prob, labels, 'center')];

  // everything goes to a temporary folder renamed into place: no half-written walkthrough is left
  const out = path.resolve(o.out);
  if (existsSync(out)) throw new UsageError('OUT_EXISTS', `--out ${o.out} exists already; give a new folder`);
  const tmp = `${out}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const sections: string[] = [];
  let pictures = 0;
  const save = async (name: string, png: Uint8Array): Promise<void> => {
    await writeFileAtomic(path.join(tmp, name), png);
    pictures++;
  };
  try {
    sections.push(`# AlexNet ${loaded.config ? `\`${loaded.config.preset}\`` : `(${describeNetwork(loaded)})`} on ${path.basename(file)}\n\n${builtIn ? 'The built-in model (mini, trained on Fashion-MNIST). ' : ''}${warning ? `**Warning:** ${warning}\n\n` : ''}Backend: ${session.details ?? backend.name}. ${model.paramCount().toLocaleString('en-US')} parameters.`);
    for (const [i, cell] of cells.entries()) {
      const picture = `${String(i).padStart(2, '0')}-${cell.kind === 'layer' ? cell.name : cell.kind === 'preprocess' ? 'image' : 'output'}.png`;
      if (cell.kind === 'preprocess') {
        const scale = Math.max(1, Math.floor(256 / Math.max(cell.image.width, cell.image.height)));
        await save(picture, imagePng(cell.image, cell.range, scale));
        sections.push(`## The image: ${cell.title}\n\n${cell.text}.\n\n![${cell.title}](${picture})`);
      } else if (cell.kind === 'layer') {
        if (cell.op.type !== 'flatten' && cell.op.type !== 'dropout') await save(picture, await layerPng(cell, model, labels));
        sections.push(layerMarkdown(cell, picture));
        if (cell.name === 'conv1') {
          const w = weights.get('conv1.weight')!;
          const [o, , k] = w.shape;
          await save('conv1-filters.png', filtersPng(w, Math.max(4, Math.floor(FILTERS_WIDTH / (Math.ceil(Math.sqrt(o)) * k)))));
          sections.push(filtersMarkdown(w));
        }
      } else {
        sections.push(`## The prediction\n\n| rank | class | probability |\n|---|---|---|\n${cell.top5.map((t, r) => `| ${r + 1} | ${t.label} (${t.class}) | ${(100 * t.prob).toFixed(2)} % |`).join('\n')}`);
      }
    }
    if (reference) sections.push(checkMarkdown(layers, backend.name));
    sections.push(devicesMarkdown(devices));
    await writeFileAtomic(path.join(tmp, 'walkthrough.md'), new TextEncoder().encode(`${sections.join('\n\n')}\n`));
    await rename(tmp, out);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  process.stdout.write(`wrote ${path.join(o.out, 'walkthrough.md')} and ${pictures} pictures\n`);
  if (o.interactive) await walk(sections);
}

/** Pictures are scaled (nearest neighbour, whole factors) to about these sizes, so that they can be read. */
const MAP_SIDE = 64;
const MAX_WIDTH = 1200;
const VECTOR_WIDTH = 320;
const FILTERS_WIDTH = 384;

/**
 * A layer's output as a picture: maps in a grid of tiles about MAP_SIDE pixels across; a vector as a
 * near-square grid of cells; the class scores and the softmax as labelled bars.
 */
async function layerPng(cell: LayerCell, graph: Graph, labels: readonly string[]): Promise<Uint8Array> {
  const range: [number, number] = cell.stats.min < 0 ? [cell.stats.min, cell.stats.max] : [0, cell.stats.max];
  const { output } = cell;
  if (output.shape.length === 3) {
    const [c, h, w] = output.shape;
    const columns = Math.ceil(Math.sqrt(c));
    let scale = Math.max(1, Math.ceil(MAP_SIDE / h));
    while (scale > 1 && columns * (w * scale + 1) > MAX_WIDTH) scale--;
    return mapsGridPng(output, range, scale);
  }
  const classes = graph.output.shape[0];
  const scores = cell.op.type === 'softmax' || (cell.op.type === 'linear' && output.shape[0] === classes && graph.node(graph.output.inputs[0]).name === cell.name);
  if (scores) {
    const probabilities = cell.op.type === 'softmax';
    return svgToPng(await renderSvg(classBarsSpec(output.data, labels, probabilities ? `${cell.name}: the probability of each class` : `${cell.name}: each class's score (before the softmax)`, probabilities)));
  }
  const columns = Math.ceil(Math.sqrt(output.shape[0]));
  return vectorGridPng(output.data, range, Math.max(4, Math.min(16, Math.floor(VECTOR_WIDTH / columns))));
}

function layerMarkdown(c: LayerCell, picture: string): string {
  const facts = layerFacts(c);
  const lines = [
    `## ${c.name}: ${c.op.type}`,
    '',
    `${c.text}.`,
    '',
    `\`${c.formula}\``,
    '',
    `| ${facts.map(([, heading]) => heading).join(' | ')} |`,
    `|${facts.map(() => '---|').join('')}`,
    `| ${facts.map(([, , text]) => text).join(' | ')} |`,
  ];
  if (c.op.type !== 'flatten' && c.op.type !== 'dropout') lines.push('', `![every output of ${c.name}, on the layer's range](${picture})`);
  return lines.join('\n');
}

function checkMarkdown(layers: readonly LayerCell[], backend: string): string {
  const worst = layers.reduce((w, c) => (c.errorVsReference! > w.errorVsReference! ? c : w));
  return [
    `## ${backend} against the reference backend`,
    '',
    `Each layer's output against the reference backend's (plain loops, float64 sums): max |difference| / max |reference|. Worst: ${worst.name}, ${worst.errorVsReference!.toExponential(2)}.`,
    '',
    '| layer | error |',
    '|---|---|',
    ...layers.map((c) => `| ${c.name} | ${c.errorVsReference!.toExponential(2)} |`),
  ].join('\n');
}

function filtersMarkdown(w: Tensor): string {
  const half = w.shape[0] / 2;
  return [
    '### conv1\'s filters',
    '',
    `All ${w.shape[0]}, each ${w.shape[2]}x${w.shape[3]} on its own scale, in order: the first ${half} are tower 1's (device 0 in the 2012 split), the rest tower 2's. In the paper's trained network one tower learned mostly colour-agnostic filters and the other colour-specific ones (figure 3).`,
    '',
    '![conv1 filters](conv1-filters.png)',
  ].join('\n');
}

/** The 2012 split on two devices of the same backend, each layer's parts beside the one-device run (as the notebook page shows it). */
async function twoDevices(model: Graph, weights: Weights, o: StepOptions, backend: string, img: Image, spec: PipelineSpec, layers: readonly LayerCell[]): Promise<{ split: Partitioned; layers: DeviceLayer[] } | string> {
  let split: Partitioned;
  try {
    split = partition(model, { devices: 2 });
  } catch (e) {
    return (e as Error).message;
  }
  const session = await loadGraph(split.graph, await createBackend(backend as BackendChoice, o.threads, 2, 0), split.shardWeights(weights));
  try {
    return { split, layers: await deviceLayers(split, session, img, spec, layers) };
  } finally {
    await session.dispose();
  }
}

/** Where data crosses between the two devices, and every layer's two-device output against the one-device one. */
function devicesMarkdown(devices: Awaited<ReturnType<typeof twoDevices>>): string {
  if (typeof devices === 'string') return `## Two devices\n\nThis model cannot be split over two devices: ${devices}.`;
  const { split, layers } = devices;
  const shape = (t: Tensor | undefined): string => (t ? `[${t.shape.join(', ')}]` : '—');
  return [
    '## Two devices',
    '',
    'Split as in 2012: every layer\'s channels halved between device 0 and device 1, each device with its own memory. Data crosses only here (per image):',
    '',
    '| layer that reads across | from → to | bytes | why |',
    '|---|---|---|---|',
    ...split.transfers.map((t) => `| ${t.layer} | ${t.from} → ${t.to} | ${t.bytesPerSample.toLocaleString('en-US')} | ${t.reason} |`),
    '',
    'Each layer on the two devices against the one-device run (they must be bit-identical):',
    '',
    '| layer | device 0 | device 1 | two devices against one |',
    '|---|---|---|---|',
    ...layers.map((l) => `| ${l.name} | ${shape(l.parts[0])} | ${shape(l.parts[1])} | ${l.error === 0 ? '0 (bit-identical)' : l.error.toExponential(2)} |`),
  ].join('\n');
}

async function walk(sections: readonly string[]): Promise<void> {
  // lines are read through the iterator, which buffers them: a piped stdin may deliver every Enter at once
  const rl = createInterface({ input: process.stdin });
  const enters = rl[Symbol.asyncIterator]();
  try {
    for (const [i, s] of sections.entries()) {
      process.stdout.write(`\n${s}\n`);
      if (i === sections.length - 1) break;
      process.stdout.write(`\n[${i + 1}/${sections.length}] Enter for the next cell `);
      if ((await enters.next()).done) break; // stdin closed: stop walking
    }
  } finally {
    rl.close();
  }
}
