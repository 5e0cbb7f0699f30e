// Every loader under bad input: ≥ 1,000 seeded mutations of a valid file each (test/fuzz.ts), and
// every outcome either a named project error or a read the test can justify. `npm run fuzz` runs
// the same suites deeper (scripts/fuzz.ts).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LOADERS, runLoader } from './fuzz-loaders.js';
import { fuzzCases } from './fuzz.js';

const CASES = 1000;

describe('loaders under 1,000 bad files each', () => {
  for (const loader of LOADERS) {
    it(`${loader.name}: named errors or justified reads, never a generic exception`, async () => {
      const valid = readFileSync(fileURLToPath(new URL(loader.fixture, import.meta.url)));
      const failures: string[] = [];
      const outcomes = { refused: 0, read: 0 };
      for (const c of fuzzCases(valid, CASES, 1)) {
        const outcome = await runLoader(loader, c.bytes);
        if (outcome.kind === 'failure') failures.push(`case ${c.index} (${c.how}): ${outcome.why}`);
        else outcomes[outcome.kind]++;
      }
      expect(failures.slice(0, 5)).toEqual([]);
      // the mutations reach past the first check: some files are refused, some still read
      expect(outcomes.refused).toBeGreaterThan(CASES / 4);
    });
  }
});
