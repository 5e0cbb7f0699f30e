// One loader's fuzz suite: the cases, each outcome, and the reads checked by the loader's
// reference implementation in batches. Shared by test/fuzz.test.ts and `npm run fuzz`.
import type { FuzzCase } from './fuzz.js';
import { fuzzCases } from './fuzz.js';
import type { Loader } from './fuzz-loaders.js';
import { runLoader } from './fuzz-loaders.js';
import { oracleVerdicts } from './python-oracle.js';

export interface Failure extends FuzzCase {
  readonly why: string;
}

export interface FuzzResult {
  readonly failures: Failure[];
  readonly refused: number;
  readonly read: number;
  /** reads compared with the reference implementation */
  readonly checked: number;
  /** with `refusals`: inputs refused here that the reference implementation reads (stricter, not wrong) */
  readonly stricter?: number;
}

const ORACLE_BATCH = 2000;

export async function fuzzLoader<R>(loader: Loader<R>, count: number, seed: number, { oracle = true, refusals = false } = {}): Promise<FuzzResult> {
  const failures: Failure[] = [];
  let [refused, read, checked, stricter] = [0, 0, 0, 0];
  let refusedCases: Uint8Array[] = [];
  const consultRefusals = (): void => {
    if (!loader.oracle || !oracle || !refusals || !refusedCases.length) return;
    stricter += oracleVerdicts(loader.oracle.kind, refusedCases, { okOnly: true }).filter((v) => v.ok).length;
    refusedCases = [];
  };
  let reads: { c: FuzzCase; value: R }[] = [];
  const consult = (): void => {
    if (!loader.oracle || !oracle || !reads.length) return;
    const verdicts = oracleVerdicts(loader.oracle.kind, reads.map((r) => r.c.bytes));
    reads.forEach(({ c, value }, i) => {
      const why = loader.oracle!.agree(value, verdicts[i]);
      if (why) failures.push({ ...c, why: `read, but ${why}` });
    });
    checked += reads.length;
    reads = [];
  };
  const valid = new Uint8Array(await loader.valid());
  for (const c of fuzzCases(valid, count, seed, loader.mutators)) {
    const outcome = await runLoader(loader, c.bytes);
    if (outcome.kind === 'failure') failures.push({ ...c, why: outcome.why });
    else if (outcome.kind === 'refused') {
      refused++;
      if (refusals && loader.oracle) refusedCases.push(c.bytes);
      if (refusedCases.length >= ORACLE_BATCH) consultRefusals();
    }
    else {
      read++;
      if (loader.oracle) reads.push({ c, value: outcome.value as R });
      if (reads.length >= ORACLE_BATCH) consult();
    }
  }
  consult();
  consultRefusals();
  return { failures, refused, read, checked, ...(refusals && loader.oracle && oracle && { stricter }) };
}
