// The loaders the fuzz suites drive (test/fuzz.test.ts, `npm run fuzz`), each with a valid input
// to mutate and what makes a read acceptable: what came out is consistent (tensors whose values
// fill their shapes, no more data than the bytes could hold, statistics that are statistics, a run
// folder left as it was), and where a reference implementation defines the format, it reads the
// same bytes the same way (NumPy for .npy, Pillow for PNG and JPEG, fflate's inflate for gzip).
// Anything thrown must be a named project error (AlexnetError); anything else is a failure, as is
// a case that takes longer than HANG_MS.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { gunzipSync as fflateGunzip } from 'fflate';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { trainCommand } from '../src/cli/train.js';
import { decodeImage } from '../src/data/decode.js';
import { openDataset, resolveDataset } from '../src/data/datasets.js';
import { image } from '../src/data/image.js';
import { readStats, writeStats } from '../src/data/stats.js';
import type { DataStats } from '../src/data/pipeline.js';
import { AlexnetError } from '../src/errors.js';
import { checkWeights, readNpy, readSafetensors, writeSafetensors } from '../src/io/index.js';
import { readOnnxModel } from '../src/io/onnx-import.js';
import { readPytorch } from '../src/io/pytorch.js';
import { describedWeights, loadModel } from '../src/model-file.js';
import { alexnet } from '../src/models/index.js';
import type { Tensor } from '../src/tensor.js';
import { sizeOf } from '../src/tensor.js';
import { paperInit } from '../src/train/index.js';
import type { Mutator } from './fuzz.js';
import { crc32, JSON_MUTATORS, npyHeaderMutator, PNG_MUTATORS } from './fuzz.js';
import { idx, writeIdxDataset } from './idx.js';
import type { OracleKind, OracleVerdict } from './python-oracle.js';

export interface Loader<R = unknown> {
  readonly name: string;
  /** the valid input the cases mutate */
  readonly valid: () => Promise<Uint8Array> | Uint8Array;
  /** mutations that know the format, besides the byte-level ones */
  readonly mutators?: readonly Mutator[];
  /** reads the bytes as the project does, throwing to refuse them */
  readonly read: (bytes: Uint8Array) => Promise<R> | R;
  /** why a read is not consistent, or undefined when it is */
  readonly check?: (read: R, bytes: Uint8Array) => string | undefined;
  /** a reference reader that must agree with every read */
  readonly oracle?: { readonly kind: OracleKind; readonly agree: (read: R, theirs: OracleVerdict) => string | undefined };
}

export type Outcome = { kind: 'refused' } | { kind: 'read'; value: unknown } | { kind: 'failure'; why: string };

const HANG_MS = 5000;
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const fixture = (file: string) => (): Uint8Array => readFileSync(here(file));

/** Tensors whose values fill their shapes, and no more float32 values than `bytes` could encode (float16 doubles them). */
function consistentTensors(tensors: ReadonlyMap<string, Tensor>, bytes: number): string | undefined {
  let floats = 0;
  for (const [name, t] of tensors) {
    if (t.data.length !== sizeOf(t.shape)) return `tensor ${name}: ${t.data.length} values for ${JSON.stringify(t.shape)}`;
    floats += t.data.length;
  }
  return floats * 2 > bytes + 64 ? `${floats} values from ${bytes} bytes` : undefined;
}

// --- fixtures made here, small so that thousands of mutations stay quick ---

/** Statistics of a few 3-channel 6x6 pictures: a real covariance and its decomposition. */
async function smallStats(): Promise<DataStats> {
  const { computeStats } = await import('../src/data/stats.js');
  const pictures = Array.from({ length: 5 }, (_, k) => image(3, 6, 6, Float32Array.from({ length: 108 }, (_, j) => (37 * k + 11 * j + (j % 7) * (k + 1)) % 256)));
  return computeStats({ spec: { kind: 'folder', dir: 'fuzz' }, classes: ['a'], length: pictures.length, label: () => 0, load: async (i) => pictures[i] }, 6, 3);
}

/** A self-describing weights file of a tiny mini AlexNet: names, labels, statistics. */
async function smallWeights(): Promise<Uint8Array> {
  const config = { preset: 'mini' as const, width: 0.05, classes: 3, inChannels: 3 };
  const graph = alexnet(config);
  const stats = await smallStats();
  const { tensors, metadata } = describedWeights(paperInit(graph, { seed: 1 }), { config, labels: ['a', 'b', 'c'], stats: { ...stats, meanImage: image(3, 36, 36, new Float32Array(3 * 36 * 36).fill(100)) } });
  return writeSafetensors(tensors, metadata);
}

/** An 8-bit RGB PNG of 12x9 with a text chunk before its image data. */
function smallPng(): Uint8Array {
  const p = new PNG({ width: 12, height: 9, colorType: 2 });
  for (let i = 0; i < 12 * 9; i++) p.data.set([(i * 29) % 256, (i * 7) % 256, 255 - ((i * 13) % 256), 255], 4 * i);
  const file = PNG.sync.write(p, { colorType: 2 });
  const text = Buffer.concat([Buffer.from([0, 0, 0, 8]), Buffer.from('tEXtfuzz\0yes'), Buffer.alloc(4)]);
  text.writeUInt32BE(crc32(text.subarray(4, 16)), 16);
  const idat = file.indexOf('IDAT') - 4;
  return Buffer.concat([file.subarray(0, idat), text, file.subarray(idat)]);
}

/** A 20x12 colour JPEG (jpeg-js: 4:4:4 baseline), gradients and an edge. */
function smallJpeg(): Uint8Array {
  const [w, h] = [20, 12];
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x * 12, y * 20, x > 10 ? 220 : 30, 255], 4 * (y * w + x));
  return jpeg.encode({ width: w, height: h, data }, 90).data;
}

/** Pixels 0..255 RGB interleaved, from an image decoded here (planar). */
function interleaved(img: { data: Float32Array; width: number; height: number; channels: number }): Uint8Array {
  const plane = img.width * img.height;
  const out = new Uint8Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[3 * p + c] = Math.round(img.data[(img.channels === 3 ? c : 0) * plane + p]);
  return out;
}

/** The share of samples of `a` within `tolerance` of `b`'s, and the largest difference. */
function agreement(a: Uint8Array, b: Uint8Array, tolerance: number): { share: number; max: number } {
  let [close, max] = [0, 0];
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d <= tolerance) close++;
    max = Math.max(max, d);
  }
  return { share: close / a.length, max };
}

const decoded = (bytes: Uint8Array) => decodeImage(bytes, { source: 'fuzz' });
type Decoded = ReturnType<typeof decoded>;
/** Pillow reads the same size, with at least `share` of the samples within `tolerance` of ours. */
function imagesAgree(tolerance: number, share: number) {
  return (ours: Decoded, theirs: OracleVerdict): string | undefined => {
    if (!theirs.ok) return `Pillow refuses it (${theirs.error})`;
    if (!('rgb' in theirs)) return 'not an image verdict';
    if (theirs.width !== ours.width || theirs.height !== ours.height) return `Pillow reads ${theirs.width}x${theirs.height}, we ${ours.width}x${ours.height}`;
    const a = agreement(interleaved(ours), Buffer.from(theirs.rgb, 'base64'), tolerance);
    return a.share < share ? `only ${(100 * a.share).toFixed(1)}% of the samples are within ${tolerance} of Pillow's (up to ${a.max} apart)` : undefined;
  };
}

// --- IDX: a dataset folder whose images file is the case ---

let idxDir: string | undefined;
function readIdxCase(bytes: Uint8Array, gz: boolean): Promise<Uint8Array[]> {
  idxDir ??= mkdtempSync(path.join(tmpdir(), 'alexnet-fuzz-idx-'));
  const dir = path.join(idxDir, gz ? 'gz' : 'plain');
  mkdirSync(dir, { recursive: true });
  const name = (n: string): string => path.join(dir, gz ? `${n}.gz` : n);
  writeFileSync(name('train-labels-idx1-ubyte'), gz ? gzipSync(idx([3], Uint8Array.of(0, 1, 2))) : idx([3], Uint8Array.of(0, 1, 2)));
  writeFileSync(name('train-images-idx3-ubyte'), bytes);
  return openDataset(resolveDataset(dir, 'train')).then(async (d) => Promise.all(Array.from({ length: d.length }, async (_, i) => Uint8Array.from((await d.load(i, 1)).data))));
}
const IDX_IMAGES = idx([3, 4, 5], Uint8Array.from({ length: 60 }, (_, i) => (i * 41) % 256));
/** The images an IDX file's bytes hold, as its format defines them (after fflate's inflate for .gz): what any reader must agree with. */
function idxAgrees(gz: boolean) {
  return (images: Uint8Array[], bytes: Uint8Array): string | undefined => {
    let raw: Uint8Array;
    try {
      raw = gz ? fflateGunzip(bytes) : bytes;
    } catch (e) {
      return `fflate cannot inflate what was read (${(e as Error).message})`;
    }
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const [n, h, w] = [view.getUint32(4), view.getUint32(8), view.getUint32(12)];
    if (n !== images.length || raw.length !== 16 + n * h * w) return `read ${images.length} images from a file of [${n}, ${h}, ${w}] in ${raw.length} bytes`;
    const bad = images.findIndex((img, i) => img.length !== h * w || img.some((v, j) => v !== raw[16 + i * h * w + j]));
    return bad >= 0 ? `image ${bad} is not the file's bytes` : undefined;
  };
}

// --- run folders: a real two-epoch run, resumed in-process with --epochs 2 (so it only checks) ---

interface RunFixture {
  readonly template: string;
  readonly work: string;
}
let runFixture: RunFixture | undefined;
const BIN = here('../dist/cli/main.js');

/** A two-epoch run of a tiny model on 60 images; `work` is the copy the cases mutate. */
export function runFolderFixture(): RunFixture {
  if (runFixture) return runFixture;
  const root = mkdtempSync(path.join(tmpdir(), 'alexnet-fuzz-run-'));
  const data = path.join(root, 'data');
  mkdirSync(data);
  writeIdxDataset(data, 60, 28, 28, false);
  const template = path.join(root, 'template');
  const args = ['train', '--arch', 'mini', '--width', '0.25', '--data', data, '--batch', '20', '--workers', '1', '--threads', '1', '--epochs', '2', '--out', template];
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the run folder fixture did not train: ${r.stderr}`);
  const work = path.join(root, 'work');
  cpSync(template, work, { recursive: true });
  runFixture = { template, work };
  return runFixture;
}

/** Every file under `dir` (relative path) with its SHA-256. */
export function folderDigest(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(path.relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

/** Resumes `dir` in-process as `alexnet train --resume dir --epochs 2` would, output discarded. */
async function resumeInProcess(dir: string): Promise<void> {
  const [out, err] = [process.stdout.write, process.stderr.write];
  process.stdout.write = process.stderr.write = (() => true) as typeof process.stdout.write;
  try {
    await trainCommand().exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} }).parseAsync(['--resume', dir, '--epochs', '2'], { from: 'user' });
  } finally {
    [process.stdout.write, process.stderr.write] = [out, err];
  }
}

/** A run file replaced by the case, the resume tried, the file put back; a read must leave every other file as it was. */
function runFileLoader(name: string, file: string, mutators: readonly Mutator[] = JSON_MUTATORS, check?: (bytes: Uint8Array) => string | undefined): Loader<string | undefined> {
  return {
    name,
    mutators,
    valid: () => readFileSync(path.join(runFolderFixture().template, file)),
    async read(bytes) {
      const { template, work } = runFolderFixture();
      writeFileSync(path.join(work, file), bytes);
      try {
        await resumeInProcess(work);
        return undefined;
      } finally {
        const after = folderDigest(work);
        writeFileSync(path.join(work, file), readFileSync(path.join(template, file)));
        const before = folderDigest(template);
        const changed = [...new Set([...before.keys(), ...after.keys()])].filter((f) => f !== file && before.get(f) !== after.get(f));
        if (changed.length) throw new Error(`the resume changed the run folder: ${changed.join(', ')}`);
      }
    },
    check: (_read, bytes) => check?.(bytes),
  };
}

/** A JSON value with the keys and value types of `original` (optional keys may be missing): what a run may accept. */
function sameShapeJson(original: unknown, optional: readonly string[] = []) {
  const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  const walk = (a: unknown, b: unknown, at: string): string | undefined => {
    if (typeOf(a) !== typeOf(b) && !(typeOf(a) === 'null' && typeOf(b) === 'number') && !(typeOf(b) === 'null' && typeOf(a) === 'number')) return `${at || 'the document'} is ${typeOf(b)}, was ${typeOf(a)}`;
    if (typeOf(a) !== 'object') return undefined;
    const [ka, kb] = [Object.keys(a as object), Object.keys(b as object)];
    const extra = kb.find((k) => !ka.includes(k));
    if (extra) return `an unknown key ${at}${extra} was accepted`;
    const gone = ka.find((k) => !kb.includes(k) && !optional.includes(k));
    if (gone) return `the key ${at}${gone} is missing but was accepted`;
    for (const k of kb) {
      const why = walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}${k}.`);
      if (why) return why;
    }
    return undefined;
  };
  return (bytes: Uint8Array): string | undefined => {
    const text = new TextDecoder().decode(bytes);
    // a JSON-lines file's original is the array of its lines
    const lines = Array.isArray(original) ? text.split('\n').filter(Boolean) : [text];
    const originals = Array.isArray(original) ? original : [original];
    for (const [i, line] of lines.entries()) {
      let doc: unknown;
      try {
        doc = JSON.parse(line);
      } catch {
        return `line ${i + 1} is not JSON but was accepted`;
      }
      const why = walk(originals[Math.min(i, originals.length - 1)], doc, '');
      if (why) return why;
    }
    return undefined;
  };
}

/** config.json's keys that may be missing: options without defaults, and those added since the first run folders */
const CONFIG_OPTIONAL = ['limit', 'valLimit', 'init', 'threads', 'width', 'classes', 'size', 'inChannels', 'valTta', 'devices'];

const jsonOf = (file: string): unknown => {
  const text = readFileSync(path.join(runFolderFixture().template, file), 'utf8');
  return file.endsWith('.jsonl') ? text.trim().split('\n').map((l) => JSON.parse(l) as unknown) : JSON.parse(text);
};

// each loader reads its own type
export const LOADERS: readonly Loader<any>[] = [
  { name: 'PyTorch zip (.pth)', valid: fixture('fixtures/pytorch/dtypes.pth'), read: (b) => readPytorch(b, 'fuzz.pth'), check: (t, b) => consistentTensors(t, b.length) },
  { name: 'PyTorch legacy (.pth)', valid: fixture('fixtures/pytorch/dtypes-legacy.pth'), read: (b) => readPytorch(b, 'fuzz.pth'), check: (t, b) => consistentTensors(t, b.length) },
  {
    name: 'ONNX (.onnx)',
    valid: fixture('fixtures/pytorch/tiny.onnx'),
    read: (b) => readOnnxModel(b, 'fuzz.onnx'),
    check(m, b) {
      try {
        checkWeights(m.graph.params(), m.weights, 'fuzz.onnx');
      } catch (e) {
        // NaN or infinite weights are the file's values: loading the model refuses them later
        if (!(e instanceof AlexnetError && e.code === 'NONFINITE')) return `weights that do not fit the graph: ${(e as Error).message}`;
      }
      return consistentTensors(m.weights, b.length);
    },
  },
  {
    name: 'weights (.safetensors, self-describing)',
    valid: smallWeights,
    read: (b) => loadModel({ weights: { name: 'fuzz.safetensors', bytes: b } }, () => {}),
    check: (m, b) => consistentTensors(m.weights, b.length),
  },
  {
    name: 'statistics (.safetensors)',
    valid: async () => writeStats(await smallStats(), 'fuzz'),
    read: (b) => readStats(b, 'fuzz.safetensors'),
    // readStats checks what statistics must satisfy; here, that the tensors are the file's
    check: (_s, b) => consistentTensors(readSafetensors(b).tensors, b.length),
  },
  {
    name: 'arrays (.npy)',
    valid: fixture('fixtures/pytorch/tv16-logits.npy'),
    mutators: [npyHeaderMutator],
    read: (b) => readNpy(b, 'fuzz.npy'),
    oracle: {
      kind: 'npy',
      agree(t, theirs) {
        if (!theirs.ok) return `NumPy refuses it (${theirs.error})`;
        if (!('sha256' in theirs)) return 'not a .npy verdict';
        const ours = { descr: '<f4', fortran: false, shape: [...t.shape], sha256: createHash('sha256').update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)).digest('hex') };
        const them = { descr: theirs.descr, fortran: theirs.fortran, shape: theirs.shape, sha256: theirs.sha256 };
        return JSON.stringify(ours) === JSON.stringify(them) ? undefined : `we read ${JSON.stringify(ours)}, NumPy ${JSON.stringify(them)}`;
      },
    },
  },
  // PNG has CRCs and an exact decoding: Pillow must give the very pixels
  { name: 'images (PNG)', valid: smallPng, mutators: PNG_MUTATORS, read: decoded, oracle: { kind: 'image', agree: imagesAgree(0, 1) } },
  // JPEG decoders round their IDCTs differently: within a few levels of libjpeg's. Damaged coded
  // data cannot be detected in general (JPEG has no checksum) and decoders make different garbage of
  // it, so where our pixels are not the undamaged file's, libjpeg must read the file too, at the same
  // size (as far as it goes where it finds the damage: about 1 read in 2,500 here).
  {
    name: 'images (JPEG)',
    valid: smallJpeg,
    read: decoded,
    oracle: {
      kind: 'image',
      agree(ours: Decoded, theirs) {
        const undamaged = interleaved(decoded(smallJpeg()));
        const same = interleaved(ours).every((v, i) => v === undamaged[i]);
        if (same && theirs.ok && 'damaged' in theirs && theirs.damaged) return 'libjpeg finds the coded data damaged, yet we decode the undamaged pixels';
        return imagesAgree(4, same ? 1 : 0)(ours, theirs);
      },
    },
  },
  { name: 'Fashion-MNIST images (IDX)', valid: () => IDX_IMAGES, read: (b) => readIdxCase(b, false), check: idxAgrees(false) },
  { name: 'Fashion-MNIST images (IDX .gz)', valid: () => gzipSync(IDX_IMAGES), read: (b) => readIdxCase(b, true), check: idxAgrees(true) },
  runFileLoader('run folder: config.json (--resume)', 'config.json', JSON_MUTATORS, (b) => sameShapeJson(jsonOf('config.json'), CONFIG_OPTIONAL)(b)),
  runFileLoader('run folder: checkpoint state.json', 'checkpoints/epoch-0002/state.json', JSON_MUTATORS, (b) => sameShapeJson(jsonOf('checkpoints/epoch-0002/state.json'), ['metrics'])(b)),
  runFileLoader('run folder: metrics.jsonl', 'metrics.jsonl', JSON_MUTATORS, (b) => sameShapeJson(jsonOf('metrics.jsonl'))(b)),
  runFileLoader('run folder: checkpoint weights', 'checkpoints/epoch-0002/weights.safetensors', [], () => undefined),
];

export async function runLoader<R>(loader: Loader<R>, bytes: Uint8Array): Promise<Outcome> {
  const start = performance.now();
  try {
    const value = await loader.read(bytes);
    const why = loader.check?.(value, bytes);
    if (why) return { kind: 'failure', why: `read inconsistently: ${why}` };
    return performance.now() - start > HANG_MS ? { kind: 'failure', why: `took ${(performance.now() - start).toFixed(0)} ms` } : { kind: 'read', value };
  } catch (e) {
    if (performance.now() - start > HANG_MS) return { kind: 'failure', why: `took ${(performance.now() - start).toFixed(0)} ms before refusing` };
    return e instanceof AlexnetError ? { kind: 'refused' } : { kind: 'failure', why: `${(e as Error).name}: ${(e as Error).message}`.slice(0, 300) };
  }
}
