// The fuzz suites through the command line, as a user meets them: `alexnet train --resume` on a
// run folder with one file damaged, taken one epoch further; and `alexnet init --out` killed with
// SIGKILL while it writes. A command either succeeds or prints one named error line (never a stack)
// and leaves the run folder exactly as it was; no temp file outlives the next write.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors } from '../src/io/index.js';
import { createRng } from '../src/random.js';
import type { Rng } from '../src/random.js';
import { fuzzCases, int, JSON_MUTATORS, pick } from './fuzz.js';
import { folderDigest, runFolderFixture } from './fuzz-loaders.js';

const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const RUN_FILES = ['config.json', 'labels.txt', 'metrics.jsonl', 'stats.safetensors', 'checkpoints/epoch-0002/state.json', 'checkpoints/epoch-0002/weights.safetensors', 'checkpoints/epoch-0002/velocity.safetensors'];
const NAMED = /^alexnet: [A-Za-z]+Error \[[A-Z_0-9]+\]: \S/;

export interface CliFailure {
  readonly index: number;
  readonly how: string;
  readonly why: string;
  /** the damaged run folder, kept for a person to look at */
  readonly dir: string;
}

/** Temp files (`name.tmp-PID-HEX`, `epoch-N.tmp`) anywhere under `dir`. */
export function tempFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tmp(-\d+-[0-9a-f]{8})?$/.test(f));
}

/** One file of a copy of the two-epoch run damaged (bytes, JSON values, or a folder where a file belongs). */
function damage(rng: Rng, dir: string, index: number): string {
  const file = pick(rng, [...RUN_FILES, 'checkpoints']);
  const target = path.join(dir, file);
  if (file === 'checkpoints' || int(rng, 10) === 0) {
    rmSync(target, { recursive: true, force: true });
    const folder = int(rng, 2) === 0;
    if (folder) mkdirSync(target);
    else writeFileSync(target, 'x');
    return `${file} replaced by a ${folder ? 'folder' : 'file'}`;
  }
  const bytes = readFileSync(target);
  const [c] = fuzzCases(bytes, 1, index * 7919 + 1, file.endsWith('.json') || file.endsWith('.jsonl') ? JSON_MUTATORS : []);
  writeFileSync(target, c.bytes);
  return `${file}: ${c.how}`;
}

/** `count` damaged run folders resumed for one more epoch through the CLI. */
export async function fuzzResumeCli(count: number, seed: number): Promise<{ failures: CliFailure[]; refused: number; trained: number }> {
  const { template } = runFolderFixture();
  const root = mkdtempSync(path.join(tmpdir(), 'alexnet-fuzz-cli-'));
  const rng = createRng(seed);
  const failures: CliFailure[] = [];
  let [refused, trained] = [0, 0];
  for (let index = 0; index < count; index++) {
    const dir = path.join(root, `case-${index}`);
    cpSync(template, dir, { recursive: true });
    const how = damage(rng, dir, seed * 100_003 + index);
    const before = folderDigest(dir);
    const r = spawnSync(process.execPath, [BIN, 'train', '--resume', dir, '--epochs', '3'], { encoding: 'utf8', timeout: 120_000 });
    const fail = (why: string): void => void failures.push({ index, how, why, dir });
    const temps = tempFiles(dir);
    if (temps.length) fail(`left temp files: ${temps.join(', ')}`);
    if (r.status === 0) {
      trained++;
      if (!/epoch 3: train loss/.test(r.stdout)) fail(`exit 0 without training epoch 3: ${r.stdout.slice(0, 300)}`);
    } else if (r.status === 1) {
      refused++;
      const lines = r.stderr.trim().split('\n');
      const last = lines.at(-1) ?? '';
      if (!NAMED.test(last)) fail(`not a named error: ${r.stderr.slice(0, 400)}`);
      else if (/\n\s+at /.test(r.stderr)) fail(`a stack trace: ${r.stderr.slice(0, 400)}`);
      const after = folderDigest(dir);
      const changed = [...new Set([...before.keys(), ...after.keys()])].filter((f) => before.get(f) !== after.get(f));
      if (changed.length) fail(`failed (${last}) but changed ${changed.join(', ')}`);
    } else fail(`exit ${r.status ?? r.signal}: ${r.stderr.slice(0, 400)}`);
    if (!failures.some((f) => f.index === index)) rmSync(dir, { recursive: true, force: true });
  }
  return { failures, refused, trained };
}

/**
 * `alexnet init --out f` killed with SIGKILL `kills` times at random moments; after each, f is
 * absent or whole. Then one more write must leave no temp files of the killed ones.
 */
export async function killWrites(kills: number, seed: number): Promise<{ problems: string[]; leftBeforeCleanup: number }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'alexnet-kill-'));
  const out = path.join(dir, 'weights.safetensors');
  const args = [BIN, 'init', '--arch', 'paper', '--width', '0.5', '--out', out];
  const rng = createRng(seed);
  const problems: string[] = [];
  for (let k = 0; k < kills; k++) {
    const child = spawn(process.execPath, args, { stdio: 'ignore' });
    const exited = new Promise((res) => child.once('exit', res));
    // the write starts after the model is built: kill anywhere from before it to after it
    const delay = 200 + int(rng, 1500);
    await new Promise((res) => setTimeout(res, delay));
    child.kill('SIGKILL');
    await exited;
    if (existsSync(out)) {
      try {
        readSafetensors(readFileSync(out), out);
      } catch (e) {
        problems.push(`after a kill at ${delay} ms the file is not whole: ${(e as Error).message}`);
      }
    }
  }
  const leftBeforeCleanup = tempFiles(dir).length;
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status !== 0) problems.push(`the write after the kills failed: ${r.stderr}`);
  const left = tempFiles(dir);
  if (left.length) problems.push(`temp files left after the next write: ${left.join(', ')}`);
  rmSync(dir, { recursive: true, force: true });
  return { problems, leftBeforeCleanup };
}
