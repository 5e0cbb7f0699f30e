// Seeded generators of bad files, for the loaders' fuzz suites (test/fuzz.test.ts, `npm run fuzz`).
// Each case is a valid file mutated by one or more of: truncation, bit flips, random bytes written
// over a stretch, bytes inserted or deleted, a stretch duplicated, a little-endian integer (a
// length, count or offset) replaced by an extreme value; a loader may add mutations that know its
// format (a JSON value replaced, a .npy header rewritten), which then make half the steps. The
// same seed gives the same cases.
import { createRng, uniform } from '../src/random.js';
import type { Rng } from '../src/random.js';

export interface FuzzCase {
  readonly index: number;
  /** what was done, for a person reading a failure */
  readonly how: string;
  readonly bytes: Uint8Array;
}

export const int = (rng: Rng, n: number): number => Math.floor(uniform(rng) * n);
export const pick = <T>(rng: Rng, items: readonly T[]): T => items[int(rng, items.length)];

/** Extreme values a length or count field might take. */
const EXTREMES = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

export type Mutator = (rng: Rng, b: Uint8Array) => { bytes: Uint8Array; how: string };

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
export function fuzzCases(valid: Uint8Array, count: number, seed: number, formatMutators: readonly Mutator[] = []): FuzzCase[] {
  const rng = createRng(seed);
  // a copy of its own: a Node Buffer's slice() is a view, and mutating it would corrupt `valid`
  const base = new Uint8Array(valid);
  const cases: FuzzCase[] = [];
  for (let index = 0; index < count; index++) {
    let bytes: Uint8Array = base;
    const hows: string[] = [];
    const steps = 1 + int(rng, 3);
    for (let s = 0; s < steps && bytes.length > 0; s++) {
      const m = pick(rng, formatMutators.length && uniform(rng) < 0.5 ? formatMutators : MUTATORS)(rng, bytes);
      bytes = m.bytes;
      hows.push(m.how);
    }
    cases.push({ index, how: hows.join('; then '), bytes });
  }
  return cases;
}

/** Values a hostile or damaged JSON file might hold where a number, string or object belongs. */
const JSON_VALUES: readonly unknown[] = [null, true, false, 0, -1, 1, 0.5, 2, 1e308, -1e308, 2 ** 53, 1e-320, '', 'x', '1', [], [1], {}, { a: 1 }];

/** Every path to a value inside `value`, [] being the whole. */
function jsonPaths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  const paths = [at];
  if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths.push(...jsonPaths(v, [...at, Array.isArray(value) ? Number(k) : k]));
  return paths;
}

/**
 * Mutations of a JSON document (or of one line of a JSON-lines file): a value replaced by an
 * extreme or wrongly typed one, a key deleted, an unknown key added, a line dropped or repeated.
 * Bytes that are not JSON are left to the byte mutators.
 */
export const JSON_MUTATORS: readonly Mutator[] = [
  (rng, b) => {
    const text = new TextDecoder().decode(b);
    const lines = text.split('\n');
    const docs = lines.map((l, i) => ({ l, i })).filter(({ l }) => l.trim() !== '');
    const lineMode = docs.length > 1 && docs.every(({ l }) => !l.startsWith(' '));
    const target = lineMode ? pick(rng, docs) : { l: text, i: -1 };
    let doc: unknown;
    try {
      doc = JSON.parse(target.l);
    } catch {
      return { bytes: b, how: 'not JSON: left as is' };
    }
    const paths = jsonPaths(doc);
    const path = pick(rng, paths);
    const action = int(rng, 3);
    let how: string;
    const parentOf = (p: (string | number)[]): Record<string | number, unknown> | undefined => p.slice(0, -1).reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], doc) as Record<string | number, unknown> | undefined;
    if (path.length === 0 || action === 0) {
      const value = pick(rng, JSON_VALUES);
      if (path.length === 0) doc = value;
      else parentOf(path)![path.at(-1)!] = value;
      how = `${path.join('.') || 'the document'} set to ${JSON.stringify(value)}`;
    } else if (action === 1) {
      const parent = parentOf(path)!;
      if (Array.isArray(parent)) parent.splice(Number(path.at(-1)), 1);
      else delete parent[path.at(-1)!];
      how = `${path.join('.')} deleted`;
    } else {
      const parent = parentOf(path)!;
      if (!Array.isArray(parent)) parent.unknown_key = 1;
      how = `a key "unknown_key" added beside ${path.join('.')}`;
    }
    const mutated = JSON.stringify(doc);
    if (!lineMode) return { bytes: new TextEncoder().encode(mutated), how };
    const out = [...lines];
    out[target.i] = mutated;
    return { bytes: new TextEncoder().encode(out.join('\n')), how: `line ${target.i + 1}: ${how}` };
  },
  (rng, b) => {
    const lines = new TextDecoder().decode(b).split('\n');
    const i = int(rng, lines.length);
    const out = int(rng, 2) ? [...lines.slice(0, i), ...lines.slice(i + 1)] : [...lines.slice(0, i + 1), ...lines.slice(i)];
    return { bytes: new TextEncoder().encode(out.join('\n')), how: `line ${i + 1} ${out.length < lines.length ? 'dropped' : 'repeated'}` };
  },
];

// The pieces .npy headers are made of, the awkward ones included: NumPy (ast.literal_eval) reads
// some and refuses others, and the suite checks that every header read here reads the same there.
const DESCRS = ["'<f4'", '"<f4"', "'>f4'", "'|f4'", "'f4'", "'<f8'", "'<i4'", "b'<f4'", "u'<f4'", "'<' 'f4'", "'<f\\x34'", '[]', '1', 'None'];
const ORDERS = ['False', 'True', '0', '1', 'None', "'False'", 'false'];
// with the values each shape holds, where it is one, so that the data often fits the header
const SHAPES: readonly [string, number][] = [['()', 1], ['(3,)', 3], ['(3)', 3], ['(1, 3)', 3], ['(1,3,)', 3], ['(3, 1)', 3], ['(0,)', 0], ['(0, 5)', 0], ['(2, 2, 2)', 8], ['(-1,)', 1], ['(True, 3)', 3], ['(0x3,)', 3], ['(03,)', 3], ['(3.0,)', 3], ['[3]', 3], ['(3 ,)', 3], ['((3,),)', 3], ['(1_0,)', 10], ['(9999999999999999999999,)', 0], ['(3L,)', 3]];
const KEYS = ['descr', 'fortran_order', 'shape'];

/** A .npy file with a header assembled from awkward pieces (keys repeated, dropped, added or quoted oddly) and 0 to 15 float32s of data. */
export const npyHeaderMutator: Mutator = (rng) => {
  const entries: string[] = [];
  let values = int(rng, 16);
  const shape = (): string => {
    const [text, size] = pick(rng, SHAPES);
    if (uniform(rng) < 0.8) values = size; // the last shape written is the one Python keeps
    return text;
  };
  // mostly the values writers use, so that the awkward piece is the one that decides
  const value = (key: string): string => (key === 'descr' ? (uniform(rng) < 0.6 ? "'<f4'" : pick(rng, DESCRS)) : key === 'fortran_order' ? (uniform(rng) < 0.6 ? 'False' : pick(rng, ORDERS)) : shape());
  for (const key of KEYS) if (uniform(rng) > 0.05) entries.push(`'${key}': ${value(key)}`);
  for (let extra = int(rng, 3); extra > 0; extra--) {
    const key = uniform(rng) < 0.8 ? pick(rng, KEYS) : pick(rng, ['extra', 'Shape', 'descr ']);
    const [open, close] = [pick(rng, ["'", '"']), pick(rng, ["'", '"'])]; // sometimes mismatched
    entries.splice(int(rng, entries.length + 1), 0, `${open}${key}${close}: ${value(key.trim())}`);
  }
  const sep = pick(rng, [', ', ',', ' , ', ',\n', ', # note\n']);
  const trailing = pick(rng, ['', ',', ', ']);
  let dict = `{${entries.join(sep)}${trailing}}`;
  if (uniform(rng) < 0.1) dict = pick(rng, [`${dict} x`, `(${dict})`, ` ${dict}`, `\t${dict}`, `\n${dict}`, `${dict}}`, dict.slice(0, -1)]);
  const major = pick(rng, [1, 1, 1, 2, 3]);
  const prefix = major === 1 ? 10 : 12;
  const padded = dict + ' '.repeat(int(rng, 2) ? 64 - ((prefix + dict.length + 1) % 64 || 64) : int(rng, 5)) + (uniform(rng) < 0.9 ? '\n' : '');
  const header = new TextEncoder().encode(padded);
  const floats = uniform(rng) < 0.9 ? values : int(rng, 16);
  const out = new Uint8Array(prefix + header.length + 4 * floats);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(header, prefix);
  for (let i = 0; i < floats; i++) view.setFloat32(prefix + header.length + 4 * i, i - 3.5, true);
  return { bytes: out, how: `header ${JSON.stringify(padded)} (version ${major}.0), ${floats} floats` };
};

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  for (let k = 0; k < 8; k++) n = n & 1 ? 0xedb88320 ^ (n >>> 1) : n >>> 1;
  return n;
});
export const crc32 = (bytes: Uint8Array): number => ~bytes.reduce((crc, b) => CRC_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8), ~0) >>> 0;

/** A PNG's chunks as whole byte ranges (length, type, data, CRC), after the signature; undefined when they do not parse. */
function pngChunkList(b: Uint8Array): Uint8Array[] | undefined {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const chunks: Uint8Array[] = [];
  for (let at = 8; at < b.length; ) {
    if (at + 12 > b.length) return undefined;
    const end = at + 12 + view.getUint32(at);
    if (end > b.length) return undefined;
    chunks.push(b.subarray(at, end));
    at = end;
  }
  return chunks;
}

/** A chunk of `type` with `data`, its CRC correct. */
function pngChunk(type: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(type, 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

const join = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/**
 * Mutations that keep every CRC right, so they reach past the checksums to what a decoder makes of
 * the chunks: a chunk's data edited (a field set to an extreme, bits flipped), a chunk repeated
 * elsewhere (a second IHDR), dropped, or moved.
 */
export const PNG_MUTATORS: readonly Mutator[] = [
  (rng, b) => {
    const chunks = pngChunkList(b);
    if (!chunks?.length) return { bytes: b, how: 'not whole chunks: left as is' };
    const i = int(rng, chunks.length);
    const c = chunks[i];
    const data = new Uint8Array(c.subarray(8, c.length - 4));
    const type = String.fromCharCode(...c.subarray(4, 8));
    let how: string;
    if (data.length >= 4 && int(rng, 2)) {
      const at = int(rng, data.length - 3);
      const value = pick(rng, EXTREMES);
      new DataView(data.buffer).setUint32(at, value >>> 0);
      how = `${type} chunk ${i}: uint32 ${value} at ${at}, CRC fixed`;
    } else if (data.length) {
      const at = int(rng, data.length);
      data[at] ^= 1 << int(rng, 8);
      how = `${type} chunk ${i}: a bit flipped at ${at}, CRC fixed`;
    } else return { bytes: b, how: `${type} chunk ${i} is empty: left as is` };
    chunks[i] = pngChunk(c.subarray(4, 8), data);
    return { bytes: join([b.subarray(0, 8), ...chunks]), how };
  },
  (rng, b) => {
    const chunks = pngChunkList(b);
    if (!chunks?.length) return { bytes: b, how: 'not whole chunks: left as is' };
    const [from, to] = [int(rng, chunks.length), int(rng, chunks.length + 1)];
    const type = String.fromCharCode(...chunks[from].subarray(4, 8));
    const action = int(rng, 3);
    const out = [...chunks];
    if (action === 0) out.splice(to, 0, chunks[from]);
    else if (action === 1) out.splice(from, 1);
    else {
      out.splice(from, 1);
      out.splice(Math.min(to, out.length), 0, chunks[from]);
    }
    return { bytes: join([b.subarray(0, 8), ...out]), how: `${type} chunk ${from} ${['repeated at', 'dropped', 'moved to'][action]}${action === 1 ? '' : ` ${to}`}` };
  },
];
