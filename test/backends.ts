// The backends every shared suite runs on (one suite, every backend), with the design card's
// tolerances (ARCHITECTURE.md, Numerics). Both wasm builds run here; the relaxed one needs an
// engine that accepts relaxed SIMD (vitest.config.ts turns it on for Node 20), and a test process
// where it is missing fails rather than skipping it. WebGPU runs where there is an adapter; where
// there is none its suites are skipped with a message, except under CI, where they fail.
import type { Backend } from '../src/backends/backend.js';
import { referenceBackend } from '../src/backends/reference/index.js';
import { wasmBackend } from '../src/backends/wasm/index.js';
import { defaultGpu, isSoftwareAdapter, KERNEL_CHOICES, requestAdapter, webgpuBackend } from '../src/backends/webgpu/index.js';

export interface BackendUnderTest {
  readonly name: string;
  readonly backend: Backend;
  /** Largest relative error of one op against the float64 oracle. */
  readonly opTolerance: number;
  /** Largest relative error of any layer of a whole network against the float64 oracle. */
  readonly networkTolerance: number;
  /** Share of the property runs it takes: lavapipe runs WebGPU on the CPU, slowly. */
  readonly runsScale: number;
}

async function webgpu(): Promise<BackendUnderTest[]> {
  const entry = { opTolerance: 1e-5, networkTolerance: 1e-4, runsScale: 0.25 };
  try {
    // the adapter's own kernels first (webgpuUnderTest), then every other set of the kernel ladder,
    // so that each passes every suite
    const own = isSoftwareAdapter((await requestAdapter(await defaultGpu())).info) ? 'direct' : 'tiled';
    const others = KERNEL_CHOICES.filter((k) => k !== own).map((kernels) => ({ name: `webgpu, ${kernels} kernels`, backend: webgpuBackend({ kernels }), ...entry }));
    return [{ name: 'webgpu', backend: webgpuBackend(), ...entry }, ...others];
  } catch (e) {
    const why = (e as Error).message;
    if (process.env.CI) return [{ name: 'webgpu (no adapter, under CI: failing)', backend: { name: 'webgpu', load: () => Promise.reject(e) }, ...entry }];
    console.warn(`WebGPU suites skipped: ${why}`);
    return [];
  }
}

/** The WebGPU entry: undefined where there is no adapter (outside CI), failing under CI without one. */
const webgpus = await webgpu();
export const webgpuUnderTest: BackendUnderTest | undefined = webgpus[0];

export const backends: readonly BackendUnderTest[] = [
  // float64 accumulation rounded once per op: a whole network stays near float32 rounding
  { name: 'reference', backend: referenceBackend, opTolerance: 1e-6, networkTolerance: 1e-5, runsScale: 1 },
  { name: 'wasm simd128, 1 thread', backend: wasmBackend({ build: 'simd128', threads: 1 }), opTolerance: 1e-5, networkTolerance: 1e-4, runsScale: 1 },
  { name: 'wasm relaxed, 2 threads', backend: wasmBackend({ build: 'relaxed', threads: 2 }), opTolerance: 1e-5, networkTolerance: 1e-4, runsScale: 1 },
  ...webgpus,
];
