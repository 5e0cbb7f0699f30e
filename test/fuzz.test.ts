// Every loader under bad input: 1,000 seeded mutations of a valid input each (test/fuzz.ts), every
// outcome a named project error or a read the test can justify (test/fuzz-loaders.ts), reads of
// .npy, PNG and JPEG checked against NumPy and Pillow. `npm run fuzz` runs the same suites deeper
// (scripts/fuzz.ts). Without Debian's python3-numpy or python3-pil the oracle checks are skipped
// with a message, except under CI.
import { describe, expect, it } from 'vitest';
import { fuzzLoader } from './fuzz-run.js';
import { LOADERS } from './fuzz-loaders.js';
import { oracleMissing } from './python-oracle.js';

const CASES = 1000;

describe('loaders under 1,000 bad inputs each', () => {
  for (const loader of LOADERS) {
    const missing = loader.oracle && oracleMissing(loader.oracle.kind);
    if (missing && !process.env.CI) console.warn(`${loader.name}: reads are not checked against the reference (${missing})`);
    it(`${loader.name}: named errors or justified reads, never a generic exception`, async () => {
      const { failures, refused, read } = await fuzzLoader(loader, CASES, 1, { oracle: !missing || Boolean(process.env.CI) });
      expect(failures.slice(0, 5).map((f) => `case ${f.index} (${f.how}): ${f.why}`)).toEqual([]);
      // the mutations reach past the first check: some inputs are refused, some still read
      expect(refused, 'too few refused: are the mutations reaching the loader?').toBeGreaterThan(CASES / 10);
      expect(read + refused).toBe(CASES);
    }, 120_000);
  }
});
