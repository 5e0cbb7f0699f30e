// The torchrun recipe (scripts/torch/train_ddp.py) takes one training step as ours does: from the
// same `init` weights, on the graph `alexnet info --json` describes, the script's step in float64
// PyTorch (Debian's python3-torch, CPU) and ours on the reference kernels give the same updated
// weights within 1e-6. Without python3-torch this skips with a message, except under CI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '../src/io/index.js';
import { alexnet } from '../src/models/index.js';
import { createRng, uniform } from '../src/random.js';
import { tensor } from '../src/tensor.js';
import { referenceTrainKernels } from '../src/train/kernels.js';
import { TrainingNetwork } from '../src/train/network.js';
import { PAPER_SGD, sgdStep, zeroVelocity } from '../src/train/sgd.js';
import { relErr } from './oracle.js';
import { PYTHON } from './python-oracle.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPT = path.join(ROOT, 'scripts/torch/train_ddp.py');
const BIN = path.join(ROOT, 'dist/cli/main.js');
const haveTorch = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0;
if (!haveTorch && process.env.CI) throw new Error(`${PYTHON} cannot import torch: CI installs Debian's python3-torch for the torchrun recipe's test`);
if (!haveTorch) console.warn(`skipping the torchrun recipe test: ${PYTHON} cannot import torch (apt-get install python3-torch)`);

const dir = mkdtempSync(path.join(tmpdir(), 'alexnet-torch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]): string => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`alexnet ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

describe.skipIf(!haveTorch)('the torchrun recipe', () => {
  for (const arch of ['mini', 'paper'] as const) {
    it(`takes the same SGD step as ours on ${arch} (reduced), from our init weights, within 1e-6`, () => {
      const options = arch === 'mini' ? ['--arch', 'mini', '--width', '0.25'] : ['--arch', 'paper', '--width', '0.0625', '--classes', '10', '--size', '67'];
      const graphFile = path.join(dir, `${arch}.json`);
      writeFileSync(graphFile, cli('info', ...options, '--json'));
      const initFile = path.join(dir, `${arch}-init.safetensors`);
      cli('init', ...options, '--seed', '3', '--out', initFile);
      const info = JSON.parse(readFileSync(graphFile, 'utf8')) as { input: number[] };
      const graph = alexnet(arch === 'mini' ? { preset: 'mini', width: 0.25 } : { preset: 'paper', width: 0.0625, classes: 10, inputSize: 67 });

      // a batch of 4 in the pixel range, labels 0..9
      const rng = createRng(11);
      const x = tensor([4, ...info.input]);
      for (let i = 0; i < x.data.length; i++) x.data[i] = 100 * (2 * uniform(rng) - 1);
      const labels = Int32Array.from([3, 0, 9, 5]);
      const batchFile = path.join(dir, `${arch}-batch.safetensors`);
      writeFileSync(batchFile, writeSafetensors(new Map([['x', x], ['labels', tensor([4], Float32Array.from(labels))]])));

      const lr = 0.01;
      const out = path.join(dir, `${arch}-torch.safetensors`);
      const r = spawnSync(PYTHON, [SCRIPT, '--graph', graphFile, '--init', initFile, '--check-step', batchFile, '--lr', String(lr), '--dtype', 'float64', '--out', out], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const theirs = readSafetensors(readFileSync(out), out);

      // ours: the same step without dropout (no step PRNG), then the paper's update
      const init = readSafetensors(readFileSync(initFile), initFile).tensors;
      const params = new Map([...init].map(([name, t]) => [name, tensor(t.shape, t.data.slice())]));
      const step = new TrainingNetwork(graph, referenceTrainKernels).step(x, labels, params);
      sgdStep(params, step.grads, zeroVelocity(params), lr, PAPER_SGD);

      expect(Number(theirs.metadata.loss)).toBeCloseTo(step.loss, 6);
      expect([...theirs.tensors.keys()].sort()).toEqual([...params.keys()].sort());
      for (const [name, w] of params) {
        // the change the step made, so that a wrong gradient cannot hide behind the weights' size;
        // both files store float32, whose rounding of a weight is up to ~1e-3 of a small step's change
        const start = init.get(name)!;
        const ours = w.data.map((v, i) => v - start.data[i]);
        const torch = theirs.tensors.get(name)!.data.map((v, i) => v - start.data[i]);
        expect(relErr(torch, ours), name).toBeLessThanOrEqual(1e-3);
        expect(relErr(theirs.tensors.get(name)!.data, w.data), name).toBeLessThanOrEqual(1e-6);
      }
    }, 60_000);
  }
});
