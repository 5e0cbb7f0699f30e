// npm run stress: the wasm thread protocol at length, under 4x oversubscription of this machine's
// cores (issue 22). Two parts, each compared bit for bit with one thread:
//   1. test/thread-stress.ts (forward, two devices, training steps, with random pauses in the
//      protocol) run STRESS_RUNS times (default 50), in processes of `cores` pool threads each,
//      four at a time;
//   2. `alexnet eval` of the built-in model on the Fashion-MNIST test set (default threads), run
//      EVAL_RUNS times (default 20), four at a time, against one `--threads 1` run.
// Exits 1 if anything differed. Needs `npm run build` (the npm script runs it) and Fashion-MNIST.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setWasmFlags } from '../bench/common.js';

const cores = availableParallelism();
const AT_ONCE = 4; // processes at once, each with `cores` busy threads: 4x the cores
const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

if (process.argv[2] === '--child') {
  setWasmFlags();
  const { stressThreads } = await import('../test/thread-stress.js');
  const seed = Number(process.argv[3]);
  const found = await stressThreads({ runs: 24, seed, threads: cores, busy: 0, jitterMs: 1, build: seed % 2 ? 'simd128' : 'relaxed' });
  process.stdout.write(JSON.stringify(found));
  process.exit(0);
}

function run(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} exited with ${code}`))));
  });
}

/** Runs `count` jobs, AT_ONCE at a time; job(i) resolves to a failure message or undefined. */
async function inBatches(label: string, count: number, job: (i: number) => Promise<string | undefined>): Promise<number> {
  let failed = 0;
  for (let start = 0; start < count; start += AT_ONCE) {
    const ids = Array.from({ length: Math.min(AT_ONCE, count - start) }, (_, j) => start + j);
    const results = await Promise.all(ids.map(job));
    for (const [j, why] of results.entries()) {
      if (why) failed++;
      console.log(`${label} ${ids[j] + 1}/${count}: ${why ?? 'identical to 1 thread'}`);
    }
  }
  return failed;
}

const stressRuns = Number(process.env.STRESS_RUNS ?? 50);
const evalRuns = Number(process.env.EVAL_RUNS ?? 20);
console.log(`${cores} cores; ${AT_ONCE} processes at once with ${cores} threads each`);
const stressFailed = await inBatches('stress test', stressRuns, async (i) => {
  const found = JSON.parse(await run(['--import', 'tsx', fileURLToPath(import.meta.url), '--child', String(i + 1)])) as { check: string; differ: number; of: number }[];
  return found.length ? `${found.length} mismatches, first: ${found[0].check}, ${found[0].differ} of ${found[0].of} values` : undefined;
});
const evalArgs = [BIN, 'eval', '--backend', 'wasm', '--json'];
const want = await run([...evalArgs, '--threads', '1']);
console.log(`alexnet eval, 1 thread: ${want.replace(/\s+/g, ' ')}`);
const evalFailed = await inBatches('alexnet eval', evalRuns, async () => {
  const got = await run(evalArgs);
  return got === want ? undefined : `differs: ${got.replace(/\s+/g, ' ')}`;
});
console.log(`stress test: ${stressRuns - stressFailed}/${stressRuns} identical; alexnet eval: ${evalRuns - evalFailed}/${evalRuns} identical`);
process.exit(stressFailed + evalFailed ? 1 : 0);
