// Seeded generators of bad files, for the loaders' fuzz suites (test/fuzz.test.ts, `npm run fuzz`).
// Each case is a valid file mutated by one or more of: truncation, bit flips, random bytes written
// over a stretch, bytes inserted or deleted, a stretch duplicated, a little-endian integer (a
// length, count or offset) replaced by an extreme value. The same seed gives the same cases.
import { createRng, uniform } from '../src/random.js';
import type { Rng } from '../src/random.js';

export interface FuzzCase {
  readonly index: number;
  /** what was done, for a person reading a failure */
  readonly how: string;
  readonly bytes: Uint8Array;
}

const int = (rng: Rng, n: number): number => Math.floor(uniform(rng) * n);

/** Extreme values a length or count field might take. */
const EXTREMES = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

type Mutator = (rng: Rng, b: Uint8Array) => { bytes: Uint8Array; how: string };


const MUTATORS: readonly Mutator[] = [
  (rng, b) => {
    const at = int(rng, b.length);
    return { bytes: new Uint8Array(b.subarray(0, at)), how: `truncated to ${at} bytes` };
  },
  (rng, b) => {
    const out = new Uint8Array(b);
    const flips = 1 + int(rng, 8);
    const where: number[] = [];
    for (let i = 0; i < flips; i++) {
      const at = int(rng, out.length);
      out[at] ^= 1 << int(rng, 8);
      where.push(at);
    }
    return { bytes: out, how: `bits flipped at ${where.join(', ')}` };
  },
  (rng, b) => {
    const out = new Uint8Array(b);
    const at = int(rng, out.length);
    const len = 1 + int(rng, 16);
    for (let i = at; i < Math.min(out.length, at + len); i++) out[i] = int(rng, 256);
    return { bytes: out, how: `${len} random bytes at ${at}` };
  },
  (rng, b) => {
    const at = int(rng, b.length + 1);
    const len = 1 + int(rng, 32);
    const insert = Uint8Array.from({ length: len }, () => int(rng, 256));
    return { bytes: Uint8Array.from([...b.subarray(0, at), ...insert, ...b.subarray(at)]), how: `${len} bytes inserted at ${at}` };
  },
  (rng, b) => {
    const at = int(rng, b.length);
    const len = 1 + int(rng, 64);
    return { bytes: Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + len)]), how: `${len} bytes deleted at ${at}` };
  },
  (rng, b) => {
    const at = int(rng, b.length);
    const len = 1 + int(rng, 256);
    const chunk = b.subarray(at, at + len);
    return { bytes: Uint8Array.from([...b.subarray(0, at + chunk.length), ...chunk, ...b.subarray(at + chunk.length)]), how: `${chunk.length} bytes at ${at} duplicated` };
  },
  (rng, b) => {
    // in the first 4 KiB, where headers, lengths and offsets live
    const out = new Uint8Array(Math.max(b.length, 4));
    out.set(b);
    const at = int(rng, Math.max(1, Math.min(out.length - 3, 4096)));
    const value = EXTREMES[int(rng, EXTREMES.length)];
    new DataView(out.buffer).setUint32(at, value >>> 0, true);
    return { bytes: out, how: `uint32 ${value} written at ${at}` };
  },
];

/** `count` cases from `valid` (whose bytes never change), deterministic in `seed`; every case has bytes of its own. */
export function fuzzCases(valid: Uint8Array, count: number, seed: number): FuzzCase[] {
  const rng = createRng(seed);
  // a copy of its own: a Node Buffer's slice() is a view, and mutating it would corrupt `valid`
  const base = new Uint8Array(valid);
  const cases: FuzzCase[] = [];
  for (let index = 0; index < count; index++) {
    let bytes: Uint8Array = base;
    const hows: string[] = [];
    const steps = 1 + int(rng, 3);
    for (let s = 0; s < steps && bytes.length > 0; s++) {
      const m = MUTATORS[int(rng, MUTATORS.length)](rng, bytes);
      bytes = m.bytes;
      hows.push(m.how);
    }
    cases.push({ index, how: hows.join('; then '), bytes });
  }
  return cases;
}
