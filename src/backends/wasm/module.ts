// Finds, chooses and compiles the AssemblyScript kernels (build/kernels.<build>.wasm). Two builds
// of one source: `relaxed` (fused multiply-add, 6-row micro-kernel) where the engine accepts
// relaxed SIMD, else `simd128`. ALEXNET_WASM=simd128|relaxed forces one.
import { BackendError, UsageError } from '../../errors.js';

export const WASM_BUILDS = ['simd128', 'relaxed'] as const;
export type WasmBuild = (typeof WASM_BUILDS)[number];

/** The kernel ABI the host is written against (assembly/index.ts abiVersion). */
const ABI_VERSION = 7;

/** The exports of assembly/index.ts; pointers are byte offsets, booleans 0 or 1. */
export interface Kernels {
  abiVersion(): number;
  panelRows(): number;
  heapBase(): number;
  edgeBytes(): number;
  convScratchFloats(cg: number, hp: number, wp: number, kh: number, kw: number, padded: number): number;
  winogradScratchFloats(cg: number, og: number, oh: number, ow: number, r: number): number;
  packedRowsFloats(n: number, k: number): number;
  packRows(x: number, dst: number, n: number, k: number): void;
  softmax(x: number, y: number, n: number, f: number): void;
  sgemmPackFloats(m: number, n: number, k: number): number;
}

/** Kernels that split their work over threads: called with (...args, part, parts). */
export const PARALLEL_KERNELS = ['conv2d', 'winograd', 'spaceToDepth', 'padPlanes', 'linearGemm', 'linearGemv', 'lrn', 'maxpool', 'avgpool', 'relu', 'lrnBackward', 'maxpoolBackward', 'sgemmPack', 'sgemmTiles', 'im2colImages', 'col2imImages'] as const;
export type ParallelKernel = (typeof PARALLEL_KERNELS)[number];

const compiled = new Map<WasmBuild, Promise<WebAssembly.Module>>();

async function readBuild(build: WasmBuild): Promise<Uint8Array<ArrayBuffer>> {
  const url = new URL(`../../../build/kernels.${build}.wasm`, import.meta.url);
  if (url.protocol !== 'file:') return new Uint8Array(await (await fetch(url)).arrayBuffer());
  const { readFile } = await import('node:fs/promises');
  try {
    return await readFile(url);
  } catch {
    throw new BackendError('WASM_MISSING', `the wasm kernels are not built (${url.pathname} is missing): run npm run build`);
  }
}

/** The build to use: `requested`, else ALEXNET_WASM, else relaxed when this engine validates it. */
export async function chooseBuild(requested?: string): Promise<WasmBuild> {
  const forced = requested ?? (typeof process === 'undefined' ? undefined : process.env.ALEXNET_WASM) ?? undefined;
  if (forced !== undefined && !(WASM_BUILDS as readonly string[]).includes(forced)) {
    throw new UsageError('WASM_BUILD', `unknown wasm build "${forced}" (from ${requested ? 'the options' : 'ALEXNET_WASM'}); builds: ${WASM_BUILDS.join(', ')}`);
  }
  const relaxedOk = WebAssembly.validate(await readBuild('relaxed'));
  if (forced === 'relaxed' && !relaxedOk) {
    throw new BackendError('WASM_RELAXED', 'this engine rejects relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd; Node 22+ and current browsers accept it)');
  }
  return (forced as WasmBuild | undefined) ?? (relaxedOk ? 'relaxed' : 'simd128');
}

export function compileBuild(build: WasmBuild): Promise<WebAssembly.Module> {
  let module = compiled.get(build);
  if (!module) {
    module = readBuild(build).then((bytes) => WebAssembly.compile(bytes));
    compiled.set(build, module);
  }
  return module;
}

export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): Kernels & Record<ParallelKernel, (...args: number[]) => void> {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels & Record<ParallelKernel, (...args: number[]) => void>;
  if (exports.abiVersion() !== ABI_VERSION) {
    throw new BackendError('WASM_ABI', `build/kernels.*.wasm has ABI ${exports.abiVersion()}, this code expects ${ABI_VERSION}: run npm run build`);
  }
  return exports;
}
