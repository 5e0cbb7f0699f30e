// The backends every shared suite runs on (one suite, every backend), with the design card's
// tolerances (ARCHITECTURE.md, Numerics). Both wasm builds run here; the relaxed one needs an
// engine that accepts relaxed SIMD (vitest.config.ts turns it on for Node 20), and a test process
// where it is missing fails rather than skipping it.
import type { Backend } from '../src/backends/backend.js';
import { referenceBackend } from '../src/backends/reference/index.js';
import { wasmBackend } from '../src/backends/wasm/index.js';

export interface BackendUnderTest {
  readonly name: string;
  readonly backend: Backend;
  /** Largest relative error of one op against the float64 oracle. */
  readonly opTolerance: number;
  /** Largest relative error of any layer of a whole network against the float64 oracle. */
  readonly networkTolerance: number;
}

export const backends: readonly BackendUnderTest[] = [
  // float64 accumulation rounded once per op: a whole network stays near float32 rounding
  { name: 'reference', backend: referenceBackend, opTolerance: 1e-6, networkTolerance: 1e-5 },
  { name: 'wasm simd128, 1 thread', backend: wasmBackend({ build: 'simd128', threads: 1 }), opTolerance: 1e-5, networkTolerance: 1e-4 },
  { name: 'wasm relaxed, 2 threads', backend: wasmBackend({ build: 'relaxed', threads: 2 }), opTolerance: 1e-5, networkTolerance: 1e-4 },
];
