// Any thread count gives the 1-thread bits, also when threads are preempted at the worst moments
// (issue 22): the stress of test/thread-stress.ts, briefly. Before the protocol's fix this failed
// in most runs; `npm run stress` runs it at length in several processes.
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { stressThreads } from './thread-stress.js';

describe('wasm thread protocol under contention', () => {
  for (const build of ['simd128', 'relaxed'] as const) {
    it(`${build}: forward, two devices and training steps match one thread bit for bit`, async () => {
      const cores = availableParallelism();
      const found = await stressThreads({ runs: 24, seed: build === 'relaxed' ? 2 : 1, threads: cores + 1, busy: cores, jitterMs: 1, build });
      expect(found).toEqual([]);
    });
  }
});
