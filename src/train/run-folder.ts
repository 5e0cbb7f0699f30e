// A training run's folder, the files `alexnet train` writes and reads back to resume:
//   config.json         the options (TRAIN_CONFIG), written with the first epoch
//   labels.txt          the class names, one a line
//   stats.safetensors   the training set's mean image and pixel PCA
//   checkpoints/epoch-NNNN/{weights,velocity}.safetensors, state.json   the two newest epochs
//   weights.safetensors, metrics.jsonl, plot.svg, plot.png              following the newest
// Everything is read and checked (types, ranges, finiteness, agreement with the other files)
// before anything is computed; an epoch is committed by renaming its checkpoint folder into
// place, and the files that follow it are rewritten whole, so a run folder only ever moves from
// one completed epoch to the next, and a command that fails leaves it as it was.
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { renderSvg, svgToPng } from '../charts.js';
import { readStats, splitEmbeddedStats } from '../data/stats.js';
import type { DataStats } from '../data/pipeline.js';
import { AlexnetError, CheckpointError, UsageError } from '../errors.js';
import type { Graph } from '../graph/index.js';
import { checkWeights, readSafetensors, writeFileAtomic, writeSafetensors } from '../io/index.js';
import { PRESETS } from '../models/index.js';
import type { EpochMetrics } from './metrics.js';
import { trainingChart } from './metrics.js';
import type { Params } from './network.js';
import type { ScheduleState } from './schedule.js';

export const CONFIG = 'config.json';
const CHECKPOINTS = 'checkpoints';
const METRICS = 'metrics.jsonl';

const fail = (code: string, message: string): never => {
  throw new CheckpointError(code, message);
};

const int = (min: number, max: number) => z.number().int().min(min).max(max);
/** a learning rate past this diverges at the first step on any AlexNet */
export const MAX_LR = 10;

/** The options of a run, as config.json holds them and the CLI takes them (key for key the flags). */
export const TRAIN_CONFIG = z.strictObject({
  data: z.string().min(1),
  limit: int(1, Number.MAX_SAFE_INTEGER).optional(),
  valLimit: int(1, Number.MAX_SAFE_INTEGER).optional(),
  epochs: int(1, 1_000_000),
  batch: int(1, 65_536),
  lr: z.number().gt(0).max(MAX_LR),
  momentum: z.number().min(0).lt(1),
  weightDecay: z.number().min(0).lt(1),
  schedule: z.enum(['plateau', 'step']),
  patience: int(1, 1_000_000),
  threshold: z.number().min(0).max(1),
  stepEpochs: int(1, 1_000_000),
  init: z.enum(['paper', 'fan-in']).optional(),
  pcaStd: z.number().min(0).max(10),
  valTta: z.enum(['center', 'ten-crop']).default('center'),
  backend: z.enum(['reference', 'wasm']),
  workers: int(1, 256),
  devices: int(1, 64).default(1), // run folders from before --devices have none
  threads: int(1, 1024).optional(),
  seed: int(0, 2 ** 32 - 1),
  arch: z.enum(PRESETS),
  width: z.number().gt(0).max(16).optional(),
  classes: int(1, 100_000).optional(),
  size: int(1, 4096).optional(),
  inChannels: z.union([z.literal(1), z.literal(3)]).optional(),
});
export type TrainConfig = z.infer<typeof TRAIN_CONFIG>;

const fraction = z.number().min(0).max(1);
const EPOCH_METRICS = z.strictObject({
  epoch: int(1, 1_000_000),
  lr: z.number().gt(0).max(MAX_LR),
  train_loss: z.number().min(0).max(1e6),
  train_error: fraction,
  val_loss: z.number().min(0).max(1e6),
  val_top1_error: fraction,
  val_top5_error: fraction,
  images_per_s: z.number().min(0).max(1e12),
  elapsed_s: z.number().min(0).max(1e12),
}) satisfies z.ZodType<EpochMetrics>;

const CHECKPOINT_STATE = z.strictObject({
  epoch: int(1, 1_000_000),
  // best is the best validation error so far: JSON writes the starting Infinity as null
  schedule: z.strictObject({ lr: z.number().gt(0).max(MAX_LR), best: fraction.nullable(), stale: int(0, 1_000_000) }),
  // the epoch's line of metrics.jsonl, so that a crash between the two writes loses nothing
  metrics: EPOCH_METRICS.optional(),
});

/** "lr: too big: expected number to be <=10 (got 1e308)", for each thing wrong. */
export function describeIssues(error: z.ZodError, input: unknown, name: (key: string) => string = (k) => k): string {
  return error.issues
    .slice(0, 4)
    .map((issue) => {
      let value = input;
      for (const key of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey];
      const where = issue.path.length ? `${issue.path.map((k, i) => (i === 0 ? name(String(k)) : String(k))).join('.')}: ` : '';
      const got = issue.code === 'unrecognized_keys' || value === undefined ? '' : ` (got ${JSON.stringify(value) ?? String(value)})`;
      return `${where}${issue.message.replace(/^./, (c) => c.toLowerCase())}${got}`;
    })
    .join('; ');
}

/** A run file's bytes; a missing file, a folder in its place or a permission is named. */
async function readRunFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    return fail('READ', `cannot read ${file}: ${(e as Error).message}`);
  }
}

async function readJson(file: string): Promise<unknown> {
  const text = (await readRunFile(file)).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    return fail('JSON', `${file} is not valid JSON (${(e as Error).message})`);
  }
}

/** A run folder's options; the run folder must hold a config.json. */
export async function readRunConfig(runDir: string): Promise<TrainConfig> {
  const file = path.join(runDir, CONFIG);
  if (!existsSync(file)) throw new CheckpointError('NO_RUN', `--resume ${runDir}: no ${CONFIG} there; is it a run folder?`);
  const json = await readJson(file);
  const parsed = TRAIN_CONFIG.safeParse(json);
  if (!parsed.success) throw new CheckpointError('CONFIG', `${file}: ${describeIssues(parsed.error, json)}`);
  return parsed.data;
}

/** What a run has done so far, all of it checked against the model and its options. */
export interface RunState {
  /** the newest checkpoint; undefined when no epoch has completed */
  readonly checkpoint?: TrainState;
  /** metrics.jsonl's rows up to the checkpoint's epoch */
  readonly history: EpochMetrics[];
  /** stats.safetensors, when present */
  readonly stats?: DataStats;
}

export interface TrainState {
  /** epochs completed */
  readonly epoch: number;
  readonly schedule: ScheduleState;
  readonly params: Params;
  readonly velocity: Params;
}

/** The learning rates a run can be at: its first divided by 10 some number of times (to rounding). */
function reachableLr(lr: number, first: number): boolean {
  const k = Math.log10(first / lr);
  return k > -1e-9 && Math.abs(k - Math.round(k)) < 1e-6;
}

/**
 * Everything a resumed run reads, refused by name if anything is malformed or disagrees: the run's
 * labels with the dataset's classes, its statistics with the model's input, its checkpoint with the
 * model and the options, its metrics with the checkpoint.
 */
export async function readRunState(runDir: string, graph: Graph, config: TrainConfig, expect: { classes: readonly string[]; channels: number; resize: number }): Promise<RunState> {
  const labelsFile = path.join(runDir, 'labels.txt');
  if (existsSync(labelsFile)) {
    const labels = (await readRunFile(labelsFile)).toString('utf8').split('\n').filter(Boolean);
    if (labels.join('\n') !== expect.classes.join('\n')) fail('LABELS', `${labelsFile} names ${labels.length} classes that are not the dataset's ${expect.classes.length} (${expect.classes.slice(0, 3).join(', ')}, ...): was --data changed?`);
  }
  const statsFile = path.join(runDir, 'stats.safetensors');
  let stats: DataStats | undefined;
  if (existsSync(statsFile)) {
    stats = readStats(await readRunFile(statsFile), statsFile);
    const { channels, width, height } = stats.meanImage;
    if (channels !== expect.channels || width !== expect.resize || height !== expect.resize) {
      fail('STATS', `${statsFile} has a ${channels}x${height}x${width} mean image; the model needs ${expect.channels}x${expect.resize}x${expect.resize}`);
    }
  }
  const checkpoint = await loadCheckpoint(runDir, graph, config);
  const epoch = checkpoint?.epoch ?? 0;
  const metricsFile = path.join(runDir, METRICS);
  let history: EpochMetrics[] = [];
  if (existsSync(metricsFile)) {
    const text = (await readRunFile(metricsFile)).toString('utf8');
    const lines = text.split('\n');
    if (lines.pop() !== '') fail('METRICS', `${metricsFile} does not end with a newline: its last line was cut short`);
    history = lines.map((line, i) => {
      const where = `${metricsFile} line ${i + 1}`;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch (e) {
        return fail('METRICS', `${where} is not JSON (${(e as Error).message})`);
      }
      const row = EPOCH_METRICS.safeParse(json);
      if (!row.success) fail('METRICS', `${where}: ${describeIssues(row.error, json)}`);
      if (row.data!.epoch !== i + 1) fail('METRICS', `${where} is epoch ${row.data!.epoch}; the lines count epochs from 1`);
      if (!reachableLr(row.data!.lr, config.lr)) fail('METRICS', `${where} has learning rate ${row.data!.lr}, which a run starting at ${config.lr} never reaches`);
      return row.data!;
    });
    // rows past the checkpoint are epochs being trained again (an older checkpoint is resumed)
    history = history.slice(0, epoch);
    // a crash between committing the checkpoint and rewriting metrics.jsonl: the checkpoint has the row
    if (history.length === epoch - 1 && checkpoint?.metrics) history.push(checkpoint.metrics);
    if (history.length < epoch) fail('METRICS', `${metricsFile} has ${history.length} epochs, the checkpoint ${epoch}: move it aside to resume without the earlier curves`);
  }
  return { checkpoint, history, stats };
}

const epochDir = (runDir: string, epoch: number): string => path.join(runDir, CHECKPOINTS, `epoch-${String(epoch).padStart(4, '0')}`);

async function checkpointEpochs(runDir: string): Promise<number[]> {
  const dir = path.join(runDir, CHECKPOINTS);
  if (!existsSync(dir)) return [];
  if (!statSync(dir).isDirectory()) fail('NOT_DIR', `${dir} is a file; a run keeps its checkpoints in a folder of that name`);
  return (await readdir(dir))
    .map((name) => /^epoch-(\d{4,})$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** The newest checkpoint of a run, checked against the model and the run's options; undefined when the run has none. */
async function loadCheckpoint(runDir: string, graph: Graph, config: TrainConfig): Promise<(TrainState & { metrics?: EpochMetrics }) | undefined> {
  const epochs = await checkpointEpochs(runDir);
  const epoch = epochs.at(-1);
  if (epoch === undefined) return undefined;
  const dir = epochDir(runDir, epoch);
  try {
    const weightsFile = path.join(dir, 'weights.safetensors');
    const velocityFile = path.join(dir, 'velocity.safetensors');
    const { params } = splitEmbeddedStats(readSafetensors(await readRunFile(weightsFile), weightsFile).tensors);
    const velocity = readSafetensors(await readRunFile(velocityFile), velocityFile).tensors;
    checkWeights(graph.params(), params, weightsFile);
    checkWeights(graph.params(), velocity, velocityFile);
    const stateFile = path.join(dir, 'state.json');
    const json = await readJson(stateFile);
    const parsed = CHECKPOINT_STATE.safeParse(json);
    if (!parsed.success) fail('STATE', `${stateFile}: ${describeIssues(parsed.error, json)}`);
    const saved = parsed.data!;
    if (saved.epoch !== epoch) fail('STATE', `${stateFile} describes epoch ${saved.epoch}, not ${epoch}`);
    if (!reachableLr(saved.schedule.lr, config.lr)) fail('STATE', `${stateFile} has learning rate ${saved.schedule.lr}, which a run starting at ${config.lr} never reaches`);
    if (config.schedule === 'plateau' && saved.schedule.stale >= config.patience) fail('STATE', `${stateFile} counts ${saved.schedule.stale} epochs without improvement, past the patience of ${config.patience}`);
    if (saved.metrics && saved.metrics.epoch !== epoch) fail('STATE', `${stateFile} holds the metrics of epoch ${saved.metrics.epoch}, not ${epoch}`);
    return { epoch, schedule: { ...saved.schedule, best: saved.schedule.best ?? Infinity }, params, velocity, metrics: saved.metrics };
  } catch (e) {
    if (!(e instanceof AlexnetError)) throw e;
    const previous = epochs.at(-2);
    const keep = previous === undefined ? '' : `; the checkpoint of epoch ${previous} (${epochDir(runDir, previous)}) is intact: delete ${dir} to resume from it`;
    throw new CheckpointError('CORRUPT', `checkpoint ${dir} cannot be read (${e.message})${keep}`);
  }
}

/**
 * Refuses a folder a new run cannot be written to, before the run starts rather than after its
 * first epoch: a file in the way, or no writable folder to create it in.
 */
export async function checkNewRunDir(runDir: string): Promise<void> {
  if (existsSync(path.join(runDir, CONFIG))) throw new UsageError('RUN_EXISTS', `--out ${runDir} already holds a run; use --resume ${runDir} to continue it, or another folder`);
  let dir = path.resolve(runDir);
  while (!existsSync(dir)) dir = path.dirname(dir);
  if (!statSync(dir).isDirectory()) throw new UsageError('NOT_DIR', `--out ${runDir}: ${dir} is a file, not a folder`);
  // checkpoints of some other run would be taken for this one's
  if ((await checkpointEpochs(runDir)).length) throw new UsageError('RUN_EXISTS', `--out ${runDir} holds another run's checkpoints (${path.join(runDir, CHECKPOINTS)}); use another folder`);
}

export interface Commit {
  readonly state: TrainState;
  /** every epoch's metrics so far, the last this commit's */
  readonly history: readonly EpochMetrics[];
  /** the bytes of the run's weights file (the whole model) after this epoch */
  readonly weights: Uint8Array;
  /** files the folder does not have yet (a new run's config, labels and statistics), by name */
  readonly pending: ReadonlyMap<string, Uint8Array>;
}

/**
 * Writes an epoch: everything is encoded and drawn first (a failure there changes nothing), then
 * the files a new run lacks, then the checkpoint, renamed into place whole (the commit), then the
 * files that follow it; the older checkpoints go last, so a crash at any point leaves a folder a
 * resume reads.
 */
export async function commitEpoch(runDir: string, { state, history, weights, pending }: Commit): Promise<void> {
  const metrics = history.at(-1);
  const velocity = writeSafetensors(state.velocity);
  const stateJson = new TextEncoder().encode(JSON.stringify({ epoch: state.epoch, schedule: state.schedule, metrics }));
  const metricsText = new TextEncoder().encode(history.map((m) => `${JSON.stringify(m)}\n`).join(''));
  const svg = await renderSvg(trainingChart(history));
  const png = await svgToPng(svg);

  await mkdir(runDir, { recursive: true });
  for (const [name, bytes] of pending) await writeFileAtomic(path.join(runDir, name), bytes);
  const dir = epochDir(runDir, state.epoch);
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await writeFileAtomic(path.join(tmp, 'weights.safetensors'), weights);
  await writeFileAtomic(path.join(tmp, 'velocity.safetensors'), velocity);
  await writeFileAtomic(path.join(tmp, 'state.json'), stateJson);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);

  await writeFileAtomic(path.join(runDir, 'weights.safetensors'), weights);
  await writeFileAtomic(path.join(runDir, METRICS), metricsText);
  await writeFileAtomic(path.join(runDir, 'plot.svg'), new TextEncoder().encode(svg));
  await writeFileAtomic(path.join(runDir, 'plot.png'), png);
  const all = await checkpointEpochs(runDir);
  // the two newest are kept: a damaged newest one leaves the one before it
  for (const old of all.slice(0, -2)) await rm(epochDir(runDir, old), { recursive: true, force: true });
}
