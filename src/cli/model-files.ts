// The files behind --weights, --stats and --labels, read from disk and handed to the core loader
// (src/model-file.ts). --weights takes a weights file or a `train` run folder; without it, the
// built-in model (the mini preset trained on Fashion-MNIST, in models/mini-fashion/). A model is
// told from its weights unless --arch names the preset.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { loadModel, loadNetwork, parseLabels } from '../model-file.js';
import type { Model, ModelFile, ModelSources, Network, TextFile } from '../model-file.js';
import { modelConfig, readInputFile } from './options.js';
import type { ModelOptions } from './options.js';

/** The built-in model's folder (the same relative place from src/cli and dist/cli). */
export const BUILT_IN = fileURLToPath(new URL('../../models/mini-fashion/', import.meta.url));
/** Its sample images: one Fashion-MNIST test image per class. */
export const BUILT_IN_SAMPLES = path.join(BUILT_IN, 'samples');

export interface ModelArgs extends Partial<ModelOptions> {
  readonly stats?: string;
  readonly labels?: string;
}

export interface OpenedModel<M = Model> {
  readonly model: M;
  readonly builtIn: boolean;
  /** the weights file read (inside the run folder when given one) */
  readonly file: string;
}

const warn = (message: string): void => void process.stderr.write(`${message}\n`);

/** The model of `weights` (a file or run folder; undefined: the built-in one), with --arch, --stats and --labels applied. */
export function openModel(o: ModelArgs, weights: string | undefined, archGiven: boolean): Promise<OpenedModel> {
  return open(o, weights, archGiven, loadModel);
}

/** The same for tensors in and out: no preprocessing, so no statistics are needed. */
export function openNetwork(o: ModelArgs, weights: string, archGiven: boolean): Promise<OpenedModel<Network>> {
  return open(o, weights, archGiven, loadNetwork);
}

async function open<M>(o: ModelArgs, weights: string | undefined, archGiven: boolean, load: (sources: ModelSources, w: typeof warn) => M): Promise<OpenedModel<M>> {
  const builtIn = weights === undefined;
  const options = [o.width, o.classes, o.size, o.inChannels].some((v) => v !== undefined);
  if (builtIn) {
    if (archGiven && o.arch !== 'mini') throw new UsageError('NO_WEIGHTS', `--arch ${o.arch} needs --weights; the built-in model is the mini preset trained on Fashion-MNIST`);
    if (options) throw new UsageError('NO_WEIGHTS', 'model options (--width, --classes, --size, --in-channels) need --weights: the built-in model has its own');
  } else if (options && !archGiven) {
    throw new UsageError('ARCH', 'model options (--width, --classes, --size, --in-channels) go with --arch; without them the model is told from the weights');
  }
  const file = builtIn ? path.join(BUILT_IN, 'weights.safetensors') : weightsIn(weights);
  // a run folder's statistics and names, for weights that do not carry their own
  const run = builtIn ? BUILT_IN : runFolderOf(weights, file);
  const beside = (name: string): string | undefined => (run && existsSync(path.join(run, name)) ? path.join(run, name) : undefined);
  const statsFile = o.stats ?? beside('stats.safetensors');
  const labelsFile = o.labels ?? beside('labels.txt');
  const model = load(
    {
      weights: await readFile(file, '--weights'),
      stats: statsFile ? await readFile(statsFile, '--stats') : undefined,
      labels: labelsFile ? await readText(labelsFile, '--labels') : undefined,
      config: archGiven && o.arch ? modelConfig({ ...o, arch: o.arch }) : undefined,
      defaultLabels: (classes) => (classes === 1000 ? imagenetLabels() : undefined),
    },
    warn,
  );
  return { model, builtIn, file };
}

/** The weights file of `p`: the file itself, or a run folder's weights.safetensors, or its newest checkpoint's. */
export function weightsIn(p: string): string {
  let isDir: boolean;
  try {
    isDir = statSync(p).isDirectory();
  } catch {
    throw new UsageError('READ', `cannot read --weights ${p}: no such file or folder`);
  }
  if (!isDir) return p;
  const final = path.join(p, 'weights.safetensors');
  if (existsSync(final)) return final;
  const checkpoints = path.join(p, 'checkpoints');
  const newest = existsSync(checkpoints) && statSync(checkpoints).isDirectory() ? readdirSync(checkpoints).filter((n) => /^epoch-\d+$/.test(n)).sort().at(-1) : undefined;
  if (newest && existsSync(path.join(checkpoints, newest, 'weights.safetensors'))) return path.join(checkpoints, newest, 'weights.safetensors');
  throw new UsageError('NO_WEIGHTS', `--weights ${p} is a folder without weights.safetensors or checkpoints/epoch-N/weights.safetensors: not a run folder of \`alexnet train\``);
}

/** The run folder the weights file came from (given as one, or found at RUN/checkpoints/epoch-N/). */
function runFolderOf(given: string, file: string): string | undefined {
  if (file !== given) return given;
  const up = path.resolve(path.dirname(file), '..', '..');
  return path.basename(path.dirname(path.dirname(file))) === 'checkpoints' && existsSync(path.join(up, 'config.json')) ? up : undefined;
}

async function readFile(file: string, flag: string): Promise<ModelFile> {
  return { name: file, bytes: await readInputFile(file, flag) };
}

async function readText(file: string, flag: string): Promise<TextFile> {
  return { name: file, text: new TextDecoder().decode(await readInputFile(file, flag)) };
}

let imagenet: string[] | undefined;
/** torchvision's list of the 1000 ImageNet classes, in class-index order. */
export function imagenetLabels(): string[] {
  imagenet ??= parseLabels(readFileSync(fileURLToPath(new URL('../data/imagenet-classes.txt', import.meta.url)), 'utf8'), 1000, 'imagenet-classes.txt');
  return imagenet;
}
