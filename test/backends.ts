// The backends every shared suite runs on (one suite, every backend). A backend joins this list
// when it is built; its tolerances are the design card's (ARCHITECTURE.md, Numerics).
import type { Backend } from '../src/backends/backend.js';
import { referenceBackend } from '../src/backends/reference/index.js';

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
];
