// Options shared by the commands: the model options, the backend choice, and file reading with
// errors that name the flag.
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import type { Backend } from '../backends/backend.js';
import { referenceBackend } from '../backends/reference/index.js';
import { wasmDevicesBackend } from '../backends/wasm/devices.js';
import { wasmBackend } from '../backends/wasm/index.js';
import { defaultGpu, describeAdapter, isSoftwareAdapter, webgpuBackend } from '../backends/webgpu/index.js';
import { UsageError } from '../errors.js';
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

/**
 * The model options; `arch` says what --arch defaults to for this command, in words (e.g. "paper",
 * or "told from --weights; built-in: mini"), and `fallback` is the preset meant by it, if any;
 * `classes` and `inChannels` say where this command takes those from when they are not given.
 */
export function addModelOptions(cmd: Command, arch: { readonly help: string; readonly fallback?: Preset; readonly classes?: string; readonly inChannels?: string }): Command {
  const option = arch.fallback ? new Option('--arch <preset>', 'AlexNet preset').choices(PRESETS).default(arch.fallback, arch.help) : new Option('--arch <preset>', `AlexNet preset (default: ${arch.help})`).choices(PRESETS);
  return cmd
    .addOption(option)
    .option('--width <w>', 'scale every conv channel count and the hidden FC sizes by w', positiveNumber)
    .option('--classes <n>', `outputs of fc8 (default: ${arch.classes ?? 'the preset\'s, 1000; mini 10'})`, positiveInt)
    .option('--size <s>', 'side of the square input (default 227; torchvision 224, mini 32)', positiveInt)
    .option('--in-channels <k>', `input channels (default: ${arch.inChannels ?? 'the preset\'s, 3; mini 1'})`, positiveInt);
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
export type BackendChoice = BackendName | 'auto';

const AUTO_HELP = 'auto: webgpu on a hardware GPU for models big enough to gain from it, else wasm';

export function backendOption(): Option {
  return new Option('--backend <name>', `backend that runs the graph (${AUTO_HELP}; reference is the float64 oracle, slow)`).choices(['auto', ...Object.keys(BACKENDS)]).default('auto');
}

export function devicesOption(): Option {
  return new Option('--devices <n>', 'devices to split the graph over, as the 2012 network was over 2 GPUs').argParser(positiveInt).default(1);
}

/** `devices`: the command has --devices (where wasm devices take one thread each by default). */
export function threadsOption(devices: boolean): Option {
  return new Option('--threads <t>', `threads of the wasm backend (default: the available cores${devices ? '; 1 per device with --devices' : ''})`).argParser(positiveInt);
}

/** Work per run (multiply-adds) below which a GPU's dispatch and copy costs outweigh its speed: wasm wins. */
const GPU_WORTH_MACS = 100e6;

/**
 * The backend for `choice`: a named one as is; `auto` is webgpu where a hardware adapter exists and
 * the model is big enough (`macs` per run), else wasm. Looking for an adapter costs half a second, so
 * it is skipped on Linux machines without a GPU device node.
 */
export async function createBackend(choice: BackendChoice, threads: number | undefined, devices: number, macs: number): Promise<Backend> {
  if (choice === 'auto') choice = threads === undefined && macs >= GPU_WORTH_MACS && (await hardwareGpu()) ? 'webgpu' : 'wasm';
  if (threads !== undefined && choice !== 'wasm') throw new UsageError('THREADS', `--threads applies to the wasm backend, not "${choice}"`);
  return BACKENDS[choice](threads, devices);
}

async function hardwareGpu(): Promise<boolean> {
  const { existsSync, readdirSync } = await import('node:fs');
  if (process.platform === 'linux') {
    const render = existsSync('/dev/dri') && readdirSync('/dev/dri').some((n) => n.startsWith('renderD'));
    if (!render && !existsSync('/dev/nvidiactl')) return false;
  }
  try {
    const adapter = await (await defaultGpu()).requestAdapter();
    if (adapter && !isSoftwareAdapter(adapter.info)) return true;
    process.stderr.write(`a GPU is present but WebGPU found ${adapter ? `only a software adapter (${describeAdapter(adapter.info)})` : 'no adapter'}: running on wasm\n`);
  } catch (e) {
    process.stderr.write(`WebGPU is unavailable (${(e as Error).message}): running on wasm\n`);
  }
  return false;
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
