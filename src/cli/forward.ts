// `alexnet forward`: one batch through the model; top-5 per image, optionally every layer as .npy.
import { Command, Option } from 'commander';
import path from 'node:path';
import type { Graph } from '../graph/index.js';
import { readNpy, writeFileAtomic, writeNpy } from '../io/index.js';
import { describeNetwork } from '../model-file.js';
import { topClasses } from '../predict.js';
import { createRng, uniform } from '../random.js';
import { assembleLayers, layerNodes, partition } from '../partition/index.js';
import { loadGraph } from '../runtime/index.js';
import type { RunOptions, RunResult, Weights } from '../runtime/index.js';
import type { Tensor } from '../tensor.js';
import { tensor } from '../tensor.js';
import { paperInit } from '../train/index.js';
import { openNetwork } from './model-files.js';
import { addModelOptions, backendOption, buildModel, createBackend, devicesOption, positiveInt, readInputFile, seed, threadsOption } from './options.js';
import type { BackendChoice, ModelOptions } from './options.js';

interface ForwardOptions extends ModelOptions {
  weights?: string;
  input?: string;
  seed: number;
  backend: BackendChoice;
  devices: number;
  threads?: number;
  dump?: string;
  output?: string;
  repeat: number;
  json?: boolean;
}

export function forwardCommand(): Command {
  return addModelOptions(new Command('forward').description('run a batch through the model and print the top-5 classes per image'), { help: 'paper; with --weights, told from them', fallback: 'paper' })
    .option('--weights <file>', 'weights (.safetensors, .pth, .onnx) or a `train` run folder; default: the paper initialisation from --seed (untrained)')
    .option('--input <file>', 'input batch (.npy, float32, [N, C, H, W] or [C, H, W]); default: one random image from --seed')
    .option('--seed <s>', 'seed for the default weights and input', seed, 1)
    .addOption(backendOption())
    .addOption(devicesOption())
    .addOption(threadsOption(true))
    .option('--dump <dir>', 'write every layer\'s output to DIR/<layer>.npy (float32)')
    .option('--output <file>', 'write the final output (softmax, [N, classes], float32) to this .npy')
    .addOption(new Option('--repeat <r>', 'after one warm-up, time r more runs and report the median').argParser(positiveInt).default(0))
    .option('--json', 'machine-readable output')
    .action(forward);
}

async function forward(o: ForwardOptions, command: Command): Promise<void> {
  const { model, preset, weights, labels } = await loadModel(o, command.getOptionValueSource('arch') === 'cli');
  const split = o.devices > 1 ? partition(model, { devices: o.devices }) : undefined;
  const input = await loadInput(model, o);
  const batch = input.shape[0];
  const backend = await createBackend(o.backend, o.threads, o.devices, model.macs() * batch);
  const session = split ? await loadGraph(split.graph, backend, split.shardWeights(weights)) : await loadGraph(model, backend, weights);
  try {
    const timed = async (keep: RunOptions['keep']): Promise<[RunResult, number]> => {
      const start = performance.now();
      const result = await session.run(input, { keep });
      return [result, performance.now() - start];
    };
    // The first run is the one reported (and dumped); with --repeat it is also the warm-up, and the
    // times (whole and per layer) are the medians of the repeated runs.
    const [first, firstMs] = await timed(o.dump ? (split ? layerNodes(split) : 'all') : []);
    const runs: [RunResult, number][] = [];
    for (let r = 0; r < o.repeat; r++) runs.push(await timed([]));
    const times = runs.length ? runs.map(([, ms]) => ms) : [firstMs];
    const msPerImage = median(times) / batch;
    // per step, matched by name (with several devices, steps finish in varying order)
    const steps = (runs[0]?.[0] ?? first).timings.map((t) => ({ ...t, ms: runs.length ? median(runs.map(([r]) => r.timings.find((u) => u.name === t.name)!.ms)) : t.ms }));
    // every layer of the model, put back together from its shards when split over devices
    const layers = split ? assembleLayers(split, first.activations) : first.activations;
    if (o.dump) {
      // Every layer is computed before the first file is written, and each file appears whole.
      for (const [name, t] of layers) if (name !== model.input.name) await writeFileAtomic(path.join(o.dump, `${name}.npy`), writeNpy(t));
    }
    if (o.output) await writeFileAtomic(o.output, writeNpy(first.output));
    const [n, classes] = first.output.shape;
    const top = Array.from({ length: n }, (_, i) => topClasses(first.output.data.subarray(i * classes, (i + 1) * classes), labels ?? []));
    const memory = session.memory();
    if (o.json) {
      const result = {
        arch: preset,
        backend: backend.name,
        backend_details: session.details ?? null,
        batch,
        params: model.paramCount(),
        macs_per_image: model.macs(),
        devices: o.devices,
        transfer_bytes_per_image: first.transferred.bytes / batch,
        top5: top,
        ms_per_image: msPerImage,
        runs: times.length,
        layers: steps,
        memory_bytes: memory ?? null,
        dump: o.dump ?? null,
      };
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      top.forEach((classes, i) => {
        const cells = classes.map((c) => `${String(c.class).padStart(4)}${labels ? ` ${c.label}` : ''} ${(c.prob >= 1e-3 ? c.prob.toFixed(4) : c.prob.toExponential(2)).padEnd(8)}`);
        process.stdout.write(`image ${i}: ${cells.join('  ').trimEnd()}\n`);
      });
      const runs = o.repeat > 0 ? `median of ${times.length} runs after a warm-up` : 'one run';
      const how = session.details ? ` (${session.details})` : '';
      process.stdout.write(`${backend.name}${how}: ${msPerImage.toFixed(1)} ms/image (batch ${batch}, ${runs}, loading excluded)\n`);
      if (memory) process.stdout.write(`memory: ${mib(memory.weights)} weights, ${mib(memory.activations)} activations, ${mib(memory.scratch)} scratch (${mib(memory.total)} reserved)\n`);
      if (split) process.stdout.write(`devices: ${o.devices}, ${(first.transferred.bytes / batch).toLocaleString('en-US')} bytes per image crossed between them\n`);
      if (o.dump) process.stdout.write(`wrote ${layers.size - 1} layers to ${o.dump}\n`);
    }
  } finally {
    await session.dispose();
  }
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** --weights' model (told from the file unless --arch is given), else the paper's initialisation of --arch: an untrained network. */
async function loadModel(o: ForwardOptions, archGiven: boolean): Promise<{ model: Graph; preset: string; weights: Weights; labels?: readonly string[] }> {
  if (o.weights) {
    const { model } = await openNetwork(o, o.weights, archGiven);
    return { model: model.graph, preset: model.config?.preset ?? describeNetwork(model), weights: model.weights, ...(model.named && { labels: model.labels }) };
  }
  process.stderr.write(`no --weights: the paper's initialisation of ${o.arch} with seed ${o.seed}, an untrained network (its classes mean nothing)\n`);
  const model = buildModel(o);
  return { model, preset: o.arch, weights: paperInit(model, { seed: o.seed }) };
}

async function loadInput(graph: Graph, o: ForwardOptions): Promise<Tensor> {
  if (!o.input) {
    // Uniform in [-128, 128): the range of a mean-subtracted 8-bit image.
    const x = tensor([1, ...graph.input.shape]);
    const rng = createRng(o.seed);
    for (let i = 0; i < x.data.length; i++) x.data[i] = 256 * uniform(rng) - 128;
    return x;
  }
  const x = readNpy(await readInputFile(o.input, '--input'), o.input);
  return x.shape.length === graph.input.shape.length ? tensor([1, ...x.shape], x.data) : x;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
