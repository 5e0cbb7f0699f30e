// The training benchmark: images/s of one SGD step (forward, backward, update) of the mini preset
// at batch 128, on the wasm training kernels with 1 and 2 threads and split over 2 emulated devices
// with 1 thread each, against PyTorch (CPU) training the same layers with 1 and 2 threads, all in
// this run. The emulated devices take turns on one thread, so their row shows what the split costs
// (copies for transfers, GEMMs half as wide) and is compared with PyTorch on 1 thread. Each process
// reports the median step time of 10 steps after 3 warm-up steps; each figure is the median of 3
// such processes.
// Run: npx tsx bench/train.ts   (PyTorch: Debian's python3-torch; its rows are left out without it)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { alexnet } from '../src/models/index.js';
import { createRng, fillNormal } from '../src/random.js';
import { tensor } from '../src/tensor.js';
import { paperInit } from '../src/train/index.js';
import { wasmTrainKernels } from '../src/train/kernels.js';
import { TrainingNetwork } from '../src/train/network.js';
import { PartitionedTrainingNetwork } from '../src/train/partitioned.js';
import { sgdStep, zeroVelocity } from '../src/train/sgd.js';
import { machine, setWasmFlags, spread } from './common.js';

const BATCH = 128;
// Debian's interpreter, where python3-torch installs (a python3 earlier on PATH may not see it)
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const STEPS = 10;

/** One configuration, in this process: the median images/s. */
async function ours(threads: number, devices: number): Promise<number> {
  const graph = alexnet({ preset: 'mini' });
  const kernels = await Promise.all(Array.from({ length: devices }, () => wasmTrainKernels(threads)));
  const net = devices > 1 ? new PartitionedTrainingNetwork(graph, kernels) : new TrainingNetwork(graph, kernels[0]);
  const params = paperInit(graph, { seed: 1, std: 'fan-in', unitBiases: new Set() });
  const velocity = zeroVelocity(params);
  const rng = createRng(2);
  const x = tensor([BATCH, ...graph.input.shape], fillNormal(rng, new Float32Array(BATCH * 32 * 32), 0, 1));
  const labels = Int32Array.from({ length: BATCH }, (_, i) => i % 10);
  const times: number[] = [];
  for (let i = 0; i < STEPS + 3; i++) {
    const t = performance.now();
    sgdStep(params, net.step(x, labels, params, rng).grads, velocity, 0.01);
    if (i >= 3) times.push(performance.now() - t);
  }
  await Promise.all(kernels.map((k) => k.release()));
  return BATCH / (spread(times).median / 1000);
}

if (process.argv[2] === '--child') {
  setWasmFlags();
  process.stdout.write(`${JSON.stringify({ images_per_s: await ours(Number(process.argv[3]), Number(process.argv[4])) })}\n`);
} else {
  const self = fileURLToPath(import.meta.url);
  // every configuration in 3 processes, interleaved, so that a noisy stretch of the machine hits all of them
  const samples = new Map<string, { name: string; threads: number; values: number[] }>();
  const add = (name: string, threads: number, value: number): void => {
    const key = `${name}/${threads}`;
    if (!samples.has(key)) samples.set(key, { name, threads, values: [] });
    samples.get(key)!.values.push(value);
  };
  const configurations = [
    { name: 'alexnet-ts wasm', threads: 1, devices: 1 },
    { name: 'alexnet-ts wasm', threads: 2, devices: 1 },
    { name: 'alexnet-ts wasm, 2 devices (1 thread each)', threads: 1, devices: 2 },
  ];
  for (let rep = 0; rep < 3; rep++) {
    for (const { name, threads, devices } of configurations) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', String(threads), String(devices)], { encoding: 'utf8' });
      add(name, threads, (JSON.parse(out) as { images_per_s: number }).images_per_s);
    }
    for (const threads of [1, 2]) {
      try {
        const peer = JSON.parse(execFileSync(PYTHON, [fileURLToPath(new URL('train_torch.py', import.meta.url)), String(threads), String(BATCH), String(STEPS)], { encoding: 'utf8' })) as { peer: string; images_per_s: number };
        add(peer.peer, threads, peer.images_per_s);
      } catch (e) {
        if (rep === 0) process.stderr.write(`PyTorch row left out: ${(e as Error).message.split('\n')[0]}\n`);
      }
    }
  }
  const rows = [...samples.values()].map((r) => ({ name: r.name, threads: r.threads, images_per_s: spread(r.values).median, spread: spread(r.values) }));
  const m = machine();
  const lines = [
    `Training step of mini (batch ${BATCH}, forward + backward + SGD), ${m.cpu}, ${m.cores} cores, Node ${m.node}`,
    '',
    '| trainer | threads | images/s (median of 3 processes) | min–max | vs PyTorch, same threads |',
    '|---|---|---|---|---|',
    ...rows.map((r) => {
      const peer = rows.find((p) => p.threads === r.threads && p.name.startsWith('PyTorch'));
      return `| ${r.name} | ${r.threads} | ${r.images_per_s.toFixed(0)} | ${r.spread.min.toFixed(0)}–${r.spread.max.toFixed(0)} | ${peer ? `${(r.images_per_s / peer.images_per_s).toFixed(2)}x` : ''} |`;
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const dir = fileURLToPath(new URL('results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().slice(0, 16).replace(':', '');
  writeFileSync(`${dir}${stamp}-train.json`, `${JSON.stringify({ machine: m, batch: BATCH, steps: STEPS, rows }, null, 2)}\n`);
  writeFileSync(`${dir}${stamp}-train.md`, `${lines.join('\n')}\n`);
  process.stdout.write(`wrote bench/results/${stamp}-train.md and .json\n`);
}
