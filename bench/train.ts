// The training benchmark: images/s of one SGD step (forward, backward, update) of the mini preset
// at batch 128, on the wasm training kernels with 1 and 2 threads and split over 2 emulated devices
// with 1 thread each, and of the full paper and bvlc networks at batch 8 on 2 threads, against
// PyTorch (CPU) training the same layers, all in this run. The emulated devices take turns on one
// thread, so their row shows what the split costs (copies for transfers, GEMMs half as wide) and is
// compared with PyTorch on 1 thread. Each process
// reports the median step time of its timed steps after warm-up steps (mini: 10 after 3, in 3
// processes; paper and bvlc: 3 after 1, in 1 process); each figure is the median of the processes.
// Run: npx tsx bench/train.ts   (PyTorch: Debian's python3-torch; its rows are left out without it)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { alexnet } from '../src/models/index.js';
import { createRng, fillNormal } from '../src/random.js';
import { sizeOf, tensor } from '../src/tensor.js';
import { paperInit } from '../src/train/index.js';
import { wasmTrainKernels } from '../src/train/kernels.js';
import { TrainingNetwork } from '../src/train/network.js';
import { PartitionedTrainingNetwork } from '../src/train/partitioned.js';
import { sgdStep, zeroVelocity } from '../src/train/sgd.js';
import { machine, setWasmFlags, spread } from './common.js';

type Preset = 'mini' | 'paper' | 'bvlc';
/** mini at the paper's batch; the full networks at a batch whose step takes seconds, not minutes. */
const BATCH: Record<Preset, number> = { mini: 128, paper: 8, bvlc: 8 };
const STEPS: Record<Preset, number> = { mini: 10, paper: 3, bvlc: 3 };
const WARMUP: Record<Preset, number> = { mini: 3, paper: 1, bvlc: 1 };
// Debian's interpreter, where python3-torch installs (a python3 earlier on PATH may not see it)
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** One configuration, in this process: the median images/s. */
async function ours(preset: Preset, threads: number, devices: number): Promise<number> {
  const graph = alexnet({ preset });
  const kernels = await Promise.all(Array.from({ length: devices }, () => wasmTrainKernels(threads)));
  const net = devices > 1 ? new PartitionedTrainingNetwork(graph, kernels) : new TrainingNetwork(graph, kernels[0]);
  const params = preset === 'mini' ? paperInit(graph, { seed: 1, std: 'fan-in', unitBiases: new Set() }) : paperInit(graph, { seed: 1 });
  const velocity = zeroVelocity(params);
  const rng = createRng(2);
  const batch = BATCH[preset];
  const x = tensor([batch, ...graph.input.shape], fillNormal(rng, new Float32Array(batch * sizeOf(graph.input.shape)), 0, 1));
  const classes = graph.output.shape[0];
  const labels = Int32Array.from({ length: batch }, (_, i) => i % classes);
  const times: number[] = [];
  for (let i = 0; i < STEPS[preset] + WARMUP[preset]; i++) {
    const t = performance.now();
    sgdStep(params, net.step(x, labels, params, rng).grads, velocity, 0.01);
    if (i >= WARMUP[preset]) times.push(performance.now() - t);
  }
  await Promise.all(kernels.map((k) => k.release()));
  return batch / (spread(times).median / 1000);
}

if (process.argv[2] === '--child') {
  setWasmFlags();
  const [preset, threads, devices] = process.argv.slice(3);
  process.stdout.write(`${JSON.stringify({ images_per_s: await ours(preset as Preset, Number(threads), Number(devices)) })}\n`);
} else {
  const self = fileURLToPath(import.meta.url);
  // every configuration in several processes, interleaved, so that a noisy stretch of the machine hits all of them
  const samples = new Map<string, { preset: Preset; name: string; threads: number; values: number[] }>();
  const add = (preset: Preset, name: string, threads: number, value: number): void => {
    const key = `${preset}/${name}/${threads}`;
    if (!samples.has(key)) samples.set(key, { preset, name, threads, values: [] });
    samples.get(key)!.values.push(value);
  };
  const configurations: { preset: Preset; name: string; threads: number; devices: number; processes: number }[] = [
    { preset: 'mini', name: 'alexnet-ts wasm', threads: 1, devices: 1, processes: 3 },
    { preset: 'mini', name: 'alexnet-ts wasm', threads: 2, devices: 1, processes: 3 },
    { preset: 'mini', name: 'alexnet-ts wasm, 2 devices (1 thread each)', threads: 1, devices: 2, processes: 3 },
    // the full networks: a step of batch 8 takes seconds, so one process each, on both cores
    { preset: 'paper', name: 'alexnet-ts wasm', threads: 2, devices: 1, processes: 1 },
    { preset: 'bvlc', name: 'alexnet-ts wasm', threads: 2, devices: 1, processes: 1 },
  ];
  const peers = (preset: Preset): number[] => (preset === 'mini' ? [1, 2] : [2]);
  for (let rep = 0; rep < 3; rep++) {
    for (const { preset, name, threads, devices, processes } of configurations) {
      if (rep >= processes) continue;
      const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', preset, String(threads), String(devices)], { encoding: 'utf8' });
      add(preset, name, threads, (JSON.parse(out) as { images_per_s: number }).images_per_s);
    }
    for (const preset of ['mini', 'paper', 'bvlc'] as const) {
      if (preset !== 'mini' && rep > 0) continue;
      for (const threads of peers(preset)) {
        try {
          const args = [fileURLToPath(new URL('train_torch.py', import.meta.url)), String(threads), String(BATCH[preset]), String(STEPS[preset]), preset];
          const peer = JSON.parse(execFileSync(PYTHON, args, { encoding: 'utf8' })) as { peer: string; images_per_s: number };
          add(preset, peer.peer, threads, peer.images_per_s);
        } catch (e) {
          if (rep === 0) process.stderr.write(`PyTorch row left out: ${(e as Error).message.split('\n')[0]}\n`);
        }
      }
    }
  }
  const rows = [...samples.values()].map((r) => ({ preset: r.preset, name: r.name, threads: r.threads, batch: BATCH[r.preset], images_per_s: spread(r.values).median, spread: spread(r.values) }));
  const m = machine();
  const lines = [
    `Training step (forward + backward + SGD), ${m.cpu}, ${m.cores} cores, Node ${m.node}`,
    '',
    '| network | trainer | threads | batch | images/s (median of the processes) | min–max | processes | vs PyTorch, same threads |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const peer = rows.find((p) => p.preset === r.preset && p.threads === r.threads && p.name.startsWith('PyTorch'));
      return `| ${r.preset} | ${r.name} | ${r.threads} | ${r.batch} | ${r.images_per_s.toFixed(r.images_per_s < 10 ? 2 : 0)} | ${r.spread.min.toFixed(r.images_per_s < 10 ? 2 : 0)}–${r.spread.max.toFixed(r.images_per_s < 10 ? 2 : 0)} | ${r.spread.samples} | ${peer ? `${(r.images_per_s / peer.images_per_s).toFixed(2)}x` : ''} |`;
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
