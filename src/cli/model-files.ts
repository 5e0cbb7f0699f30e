// What classify and eval run: the model options, weight files, dataset statistics and class names
// the user gave, or, without --weights, the built-in model (the mini preset trained on
// Fashion-MNIST, in models/mini-fashion/), and the preprocessing that goes with them.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DataStats } from '../data/pipeline.js';
import { readStats } from '../data/stats.js';
import { UsageError } from '../errors.js';
import type { Graph } from '../graph/index.js';
import type { Preprocessing } from '../models/index.js';
import { parseLabels, preprocessingFor } from '../notebook/model.js';
import { readInputFile } from './options.js';
import type { ModelOptions } from './options.js';

/** The built-in model's folder (the same relative place from src/cli and dist/cli). */
export const BUILT_IN = fileURLToPath(new URL('../../models/mini-fashion/', import.meta.url));

export interface ModelInputs {
  readonly options: ModelOptions;
  readonly weights: readonly string[];
  readonly stats?: DataStats;
  /** names from --labels or the built-in model's; undefined: the defaults for the class count */
  readonly labelsFile?: string;
  readonly builtIn: boolean;
  /** the preset's preprocessing at the model's input size, with the mean the statistics give */
  preprocessing(model: Graph): Preprocessing;
}

export async function modelInputs(o: ModelOptions & { stats?: string; labels?: string }, weights: readonly string[], archGiven: boolean): Promise<ModelInputs> {
  const builtIn = weights.length === 0;
  if (builtIn) {
    if (!existsSync(`${BUILT_IN}weights.safetensors`)) throw new UsageError('NO_WEIGHTS', `no --weights, and the built-in model is missing (${BUILT_IN}weights.safetensors)`);
    if (archGiven && o.arch !== 'mini') throw new UsageError('NO_WEIGHTS', `--arch ${o.arch} needs --weights; the built-in model is the mini preset trained on Fashion-MNIST`);
    if (o.width !== undefined || o.classes !== undefined || o.size !== undefined || o.inChannels !== undefined) {
      throw new UsageError('NO_WEIGHTS', 'model options (--width, --classes, --size, --in-channels) need --weights: the built-in model has its own');
    }
  }
  const options: ModelOptions = builtIn ? { arch: 'mini' } : o;
  const statsFile = o.stats ?? (builtIn ? `${BUILT_IN}stats.safetensors` : undefined);
  const stats = statsFile ? readStats(await readInputFile(statsFile, '--stats'), statsFile) : undefined;
  return {
    options,
    weights: builtIn ? [`${BUILT_IN}weights.safetensors`] : weights,
    stats,
    labelsFile: o.labels ?? (builtIn ? `${BUILT_IN}labels.txt` : undefined),
    builtIn,
    preprocessing: (model) => preprocessingFor(options.arch, model, stats, statsFile, (message) => process.stderr.write(`${message}\n`)),
  };
}

/** One name per class: a labels file, the ImageNet names for 1000 classes, else the class numbers. */
export function readLabels(file: string | undefined, classes: number): string[] {
  if (!file) {
    if (classes !== 1000) return Array.from({ length: classes }, (_, c) => `class ${c}`);
    file = fileURLToPath(new URL('../data/imagenet-classes.txt', import.meta.url));
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError('READ', `cannot read --labels ${file}: ${(e as Error).message}`);
  }
  return parseLabels(text, classes, file);
}
