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
import { decodeImage } from '../data/decode.js';
import type { Image } from '../data/image.js';
import type { PipelineSpec } from '../data/pipeline.js';
import { UsageError } from '../errors.js';
import type { Graph } from '../graph/index.js';
import { writeFileAtomic } from '../io/index.js';
import type { Cell, LayerCell } from '../notebook/walkthrough.js';
import type { DeviceLayer } from '../notebook/walkthrough.js';
import { deviceLayers, layerCells, layerFacts, outputCell, preprocessCells } from '../notebook/walkthrough.js';
import { filtersPng, imagePng, mapsGridPng } from '../notebook/render-png.js';
import type { Partitioned } from '../partition/index.js';
import { partition } from '../partition/index.js';
import type { Weights } from '../runtime/index.js';
import { loadGraph } from '../runtime/index.js';
import type { Tensor } from '../tensor.js';
import { modelInputs, readLabels } from './model-files.js';
import { addModelOptions, backendOption, buildModel, createBackend, readInputFile, readWeightsFile, threadsOption } from './options.js';
import type { BackendName, ModelOptions } from './options.js';

interface StepOptions extends ModelOptions {
  weights?: string;
  labels?: string;
  stats?: string;
  backend: BackendName;
  threads?: number;
  out: string;
  interactive?: boolean;
}

export function stepCommand(): Command {
  return addModelOptions(new Command('step').description('step through AlexNet layer by layer on one image: Markdown and PNG pictures in a folder'))
    .argument('<image>', 'a PNG or JPEG file')
    .option('--weights <file>', 'trained weights (.safetensors); default: the built-in model (mini, Fashion-MNIST)')
    .option('--labels <file>', 'class names, one per line')
    .option('--stats <file>', 'the training set\'s mean image (`alexnet stats`), for models that subtract it')
    .addOption(backendOption())
    .addOption(threadsOption())
    .requiredOption('--out <dir>', 'folder for walkthrough.md and its pictures (must not exist)')
    .option('--interactive', 'also print the cells one at a time, Enter for the next')
    .action(step);
}

async function step(file: string, o: StepOptions, command: Command): Promise<void> {
  const inputs = await modelInputs(o, o.weights ? [o.weights] : [], command.getOptionValueSource('arch') === 'cli');
  const model = buildModel(inputs.options);
  const [channels] = model.input.shape;
  if (channels !== 1 && channels !== 3) throw new UsageError('CHANNELS', `images have 1 or 3 channels; this model takes ${channels}`);
  const labels = readLabels(inputs.labelsFile, model.output.shape[0]);
  const spec: PipelineSpec = { preprocessing: inputs.preprocessing(model), channels, train: false, pcaStd: 0, stats: inputs.stats };
  const weights = await readWeightsFile(model, inputs.weights[0], inputs.options.arch);
  const img = decodeImage(await readInputFile(file, 'image'), { source: file, channels });
  const session = await loadGraph(model, createBackend(o.backend, o.threads, 1), weights);
  // another backend is checked layer by layer against the reference, the oracle
  const reference = o.backend === 'reference' ? undefined : await loadGraph(model, createBackend('reference', undefined, 1), weights);
  let layers: LayerCell[];
  try {
    layers = await layerCells(model, session, img, spec, reference);
  } finally {
    await session.dispose();
    await reference?.dispose();
  }
  const devices = await twoDevices(model, weights, o, img, spec, layers);
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
    sections.push(`# AlexNet \`${inputs.options.arch}\` on ${path.basename(file)}\n\n${inputs.builtIn ? 'The built-in model (mini, trained on Fashion-MNIST). ' : ''}Backend: ${session.details ?? o.backend}. ${model.paramCount().toLocaleString('en-US')} parameters.`);
    for (const [i, cell] of cells.entries()) {
      const picture = `${String(i).padStart(2, '0')}-${cell.kind === 'layer' ? cell.name : cell.kind === 'preprocess' ? 'image' : 'output'}.png`;
      if (cell.kind === 'preprocess') {
        const scale = Math.max(1, Math.floor(256 / Math.max(cell.image.width, cell.image.height)));
        await save(picture, imagePng(cell.image, cell.range, scale));
        sections.push(`## The image: ${cell.title}\n\n${cell.text}.\n\n![${cell.title}](${picture})`);
      } else if (cell.kind === 'layer') {
        const maps = cell.output.shape.length === 3;
        if (cell.op.type !== 'flatten' && cell.op.type !== 'dropout') {
          const range: [number, number] = cell.stats.min < 0 ? [cell.stats.min, cell.stats.max] : [0, cell.stats.max];
          await save(picture, mapsGridPng(cell.output, range, maps ? Math.max(1, Math.floor(48 / cell.output.shape[1])) : 4));
        }
        sections.push(layerMarkdown(cell, picture));
        if (cell.name === 'conv1') {
          const w = weights.get('conv1.weight')!;
          await save('conv1-filters.png', filtersPng(w));
          sections.push(filtersMarkdown(w));
        }
      } else {
        sections.push(`## The prediction\n\n| rank | class | probability |\n|---|---|---|\n${cell.top5.map((t, r) => `| ${r + 1} | ${t.label} (${t.class}) | ${(100 * t.prob).toFixed(2)} % |`).join('\n')}`);
      }
    }
    if (reference) sections.push(checkMarkdown(layers, o.backend));
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
async function twoDevices(model: Graph, weights: Weights, o: StepOptions, img: Image, spec: PipelineSpec, layers: readonly LayerCell[]): Promise<{ split: Partitioned; layers: DeviceLayer[] } | string> {
  let split: Partitioned;
  try {
    split = partition(model, { devices: 2 });
  } catch (e) {
    return (e as Error).message;
  }
  const session = await loadGraph(split.graph, createBackend(o.backend, o.threads, 2), split.shardWeights(weights));
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
