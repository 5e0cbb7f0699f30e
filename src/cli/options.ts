// Options shared by the commands: the model options, the backend choice, and file reading with
// errors that name the flag.
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import type { Backend } from '../backends/backend.js';
import { referenceBackend } from '../backends/reference/index.js';
import { wasmDevicesBackend } from '../backends/wasm/devices.js';
import { wasmBackend } from '../backends/wasm/index.js';
import { webgpuBackend } from '../backends/webgpu/index.js';
import { UsageError } from '../errors.js';
import { checkWeights, fromTorchvisionNames, readSafetensors } from '../io/index.js';
import type { Weights } from '../runtime/index.js';
import type { Graph } from '../graph/index.js';
import { alexnet, PRESETS } from '../models/index.js';
import type { AlexNetConfig, Preset } from '../models/index.js';

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

export function seed(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n >= 2 ** 32) throw new InvalidArgumentError(`expected an integer in [0, 2^32), got "${value}"`);
  return n;
}

export interface ModelOptions {
  arch: Preset;
  width?: number;
  classes?: number;
  size?: number;
  inChannels?: number;
}

export function addModelOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--arch <preset>', 'AlexNet preset').choices(PRESETS).default('paper'))
    .option('--width <w>', 'scale every conv channel count and the hidden FC sizes by w', positiveNumber)
    .option('--classes <n>', 'outputs of fc8 (default 1000; mini 10)', positiveInt)
    .option('--size <s>', 'side of the square input (default 227; torchvision 224, mini 32)', positiveInt)
    .option('--in-channels <k>', 'input channels (default 3; mini 1)', positiveInt);
}

export function modelConfig(o: ModelOptions): AlexNetConfig {
  return { preset: o.arch, width: o.width, classes: o.classes, inputSize: o.size, inChannels: o.inChannels };
}

export function buildModel(o: ModelOptions): Graph {
  return alexnet(modelConfig(o));
}

/** The backends a user can name, and how each runs several devices. */
const BACKENDS = {
  // one address space: several devices are emulated, each with its own executor
  reference: (): Backend => referenceBackend,
  // several devices: each in a worker thread of its own, one core each unless --threads says more
  wasm: (threads: number | undefined, devices: number): Backend => (devices > 1 ? wasmDevicesBackend({ threads }) : wasmBackend({ threads })),
  // each device a GPUDevice of its own (one physical adapter may back them all)
  webgpu: (): Backend => webgpuBackend(),
} satisfies Record<string, (threads: number | undefined, devices: number) => Backend>;
export type BackendName = keyof typeof BACKENDS;

export function backendOption(): Option {
  return new Option('--backend <name>', 'backend that runs the graph').choices(Object.keys(BACKENDS)).default('reference');
}

export function devicesOption(): Option {
  return new Option('--devices <n>', 'devices to split the graph over, as the 2012 network was over 2 GPUs').argParser(positiveInt).default(1);
}

export function threadsOption(): Option {
  return new Option('--threads <t>', 'threads of the wasm backend (default: the available cores; 1 per device with --devices)').argParser(positiveInt);
}

export function createBackend(name: BackendName, threads: number | undefined, devices: number): Backend {
  if (threads !== undefined && name !== 'wasm') throw new UsageError('THREADS', `--threads applies to the wasm backend, not "${name}"`);
  return BACKENDS[name](threads, devices);
}

/** The file's bytes, or a UsageError that names the flag and the reason. */
export async function readInputFile(file: string, flag: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a directory' : err.message;
    throw new UsageError('READ', `cannot read ${flag} ${file}: ${why}`);
  }
}

/**
 * Weights for `graph` from a safetensors file, in our names or in torchvision's state-dict names
 * (`features.0.weight`, ...), checked against the model before anything runs.
 */
export async function readWeightsFile(graph: Graph, file: string, arch: Preset): Promise<Weights> {
  const { tensors } = readSafetensors(await readInputFile(file, '--weights'), file);
  const renamed = fromTorchvisionNames(tensors);
  if (renamed && arch !== 'torchvision') throw new UsageError('ARCH', `--weights ${file} holds torchvision's AlexNet (features.N / classifier.N names); add --arch torchvision`);
  checkWeights(graph.params(), renamed ?? tensors, file);
  return renamed ?? tensors;
}
