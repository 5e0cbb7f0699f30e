// Datasets: an image folder (one subfolder per class) or Fashion-MNIST in its IDX files. A dataset
// is opened from a spec that is plain data, so a prefetch worker can open the same dataset itself.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import { DatasetError } from '../errors.js';
import { decodeImage } from './decode.js';
import type { Image } from './image.js';
import { idxBytes, idxDataset, idxHeader, parseIdx } from './idx.js';

export type Split = 'train' | 'test';
/** `limit`: only the first `limit` images (a short run) */
export type DatasetSpec = ({ readonly kind: 'folder'; readonly dir: string } | { readonly kind: 'fashion-mnist'; readonly dir: string; readonly split: Split }) & { readonly limit?: number };

export interface Dataset {
  readonly spec: DatasetSpec;
  readonly classes: readonly string[];
  readonly length: number;
  label(index: number): number;
  /** the decoded image, with `channels` channels (grey replicated, colour to luma) */
  load(index: number, channels: 1 | 3): Promise<Image>;
}

/** Where Debian's dataset-fashion-mnist package puts the files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/**
 * What `--data` names: `fashion-mnist` (Debian's copy), a folder holding Fashion-MNIST's IDX files,
 * or an image folder. An image folder with `train/` and `test/` (or `val/`) subfolders is split by
 * them; otherwise the whole folder is the one split there is.
 */
export function resolveDataset(arg: string, split: Split): DatasetSpec {
  const dir = arg === 'fashion-mnist' ? FASHION_MNIST_DIR : arg;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    const hint = arg === 'fashion-mnist' ? ' (install Debian\'s dataset-fashion-mnist package, or pass the folder holding its IDX files)' : '';
    throw new DatasetError('NOT_FOUND', `dataset ${dir}: no such folder${hint}`);
  }
  if (idxFile(dir, 'train-images-idx3-ubyte') || idxFile(dir, 't10k-images-idx3-ubyte')) return { kind: 'fashion-mnist', dir, split };
  const sub = split === 'train' ? ['train'] : ['test', 'val'];
  for (const name of sub) if (existsSync(path.join(dir, name)) && statSync(path.join(dir, name)).isDirectory()) return { kind: 'folder', dir: path.join(dir, name) };
  return { kind: 'folder', dir };
}

/** Grey when the first images (up to 16) have R = G = B everywhere; Fashion-MNIST is grey by definition. */
export async function isGreyDataset(data: Dataset): Promise<boolean> {
  if (data.spec.kind === 'fashion-mnist') return true;
  for (let i = 0; i < Math.min(16, data.length); i++) {
    const { data: px, width, height } = await data.load(i, 3);
    const plane = width * height;
    for (let p = 0; p < plane; p++) if (px[p] !== px[plane + p] || px[p] !== px[2 * plane + p]) return false;
  }
  return true;
}

export async function openDataset(spec: DatasetSpec): Promise<Dataset> {
  const all = spec.kind === 'folder' ? openFolder(spec) : await openFashionMnist(spec);
  if (spec.limit === undefined || spec.limit >= all.length) return all;
  if (!(Number.isSafeInteger(spec.limit) && spec.limit > 0)) throw new DatasetError('LIMIT', `a dataset limit must be a positive integer, got ${spec.limit}`);
  return { ...all, length: spec.limit };
}

function openFolder(spec: Extract<DatasetSpec, { kind: 'folder' }>): Dataset {
  const classes = readdirSync(spec.dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  if (!classes.length) throw new DatasetError('NO_CLASSES', `image folder ${spec.dir}: no subfolders; expected one subfolder of images per class`);
  const files: string[] = [];
  const labels: number[] = [];
  classes.forEach((name, label) => {
    const images = readdirSync(path.join(spec.dir, name))
      .filter((f) => IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase()) && statSync(path.join(spec.dir, name, f)).isFile())
      .sort();
    if (!images.length) throw new DatasetError('EMPTY_CLASS', `image folder ${spec.dir}: class "${name}" holds no .png, .jpg or .jpeg files`);
    for (const f of images) {
      files.push(path.join(spec.dir, name, f));
      labels.push(label);
    }
  });
  return {
    spec,
    classes,
    length: files.length,
    label: (i) => labels[i],
    load: async (i, channels) => {
      const bytes = await readFile(files[i]).catch((e: Error) => {
        throw new DatasetError('READ', `cannot read ${files[i]}: ${e.message}`);
      });
      return decodeImage(bytes, { source: files[i], channels });
    },
  };
}

/** `name` or `name.gz` in dir, whichever exists; refused when what exists is not a file. */
function idxFile(dir: string, name: string): string | undefined {
  const file = [name, `${name}.gz`].map((f) => path.join(dir, f)).find((f) => existsSync(f));
  if (file && !statSync(file).isFile()) throw new DatasetError('NOT_FILE', `${file} is a directory or device, not an IDX file`);
  return file;
}

function readDataFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new DatasetError('READ', `cannot read ${file}: ${(e as Error).message}`);
  }
}

/**
 * A gzip file's contents, inflated only as far as its first bytes say it should go: `expected`
 * gives the full size from a prefix of the output (or undefined while the prefix is too short), so
 * a file that inflates past it (a bomb, or data after the real content) is refused at that size.
 */
function gunzipBounded(bytes: Uint8Array, file: string, expected: (head: Uint8Array) => number | undefined): Uint8Array {
  const corrupt = (why: string): never => {
    throw new DatasetError('CORRUPT', `${file}: ${why}`);
  };
  try {
    // inflate a growing prefix (at most 1032 bytes out per byte in) until the header is there
    let size: number | undefined;
    for (let prefix = 4096; size === undefined; prefix *= 4) {
      const head = gunzipSync(bytes.subarray(0, prefix), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      size = expected(head);
      if (size === undefined && prefix >= bytes.length) corrupt(`it inflates to ${head.length} bytes, too few for its header`);
    }
    const out = gunzipSync(bytes, { maxOutputLength: Math.max(1, size) });
    // zlib stops at the end of the gzip stream and ignores what follows; the file's last 4 bytes
    // (gzip's ISIZE) name the length of what it holds, so bytes after the stream show here
    const isize = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true);
    if (isize !== out.length % 2 ** 32) corrupt(`it inflates to ${out.length} bytes but its last 4 bytes (gzip's length field) say ${isize}: bytes after the gzip stream, or several streams`);
    return out;
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    const err = e as NodeJS.ErrnoException;
    return corrupt(err.code === 'ERR_BUFFER_TOO_LARGE' ? 'it inflates to more bytes than its header says it holds' : `not a valid gzip file (${err.message})`);
  }
}

/** An IDX file read whole, a gzipped one inflated no further than its header says it holds. */
function readIdx(file: string, rank: number): { dims: number[]; data: Uint8Array } {
  let bytes: Uint8Array = readDataFile(file);
  if (file.endsWith('.gz')) {
    bytes = gunzipBounded(bytes, file, (head) => {
      const dims = idxHeader(head, rank, file);
      // an IDX file this reader could hold: no more than a typed array's 2^31 bytes
      return dims && Math.min(idxBytes(dims), 2 ** 31);
    });
  }
  return parseIdx(bytes, rank, file);
}

function openFashionMnist(spec: Extract<DatasetSpec, { kind: 'fashion-mnist' }>): Dataset {
  const prefix = spec.split === 'train' ? 'train' : 't10k';
  const find = (kind: string): string => {
    const f = idxFile(spec.dir, `${prefix}-${kind}`);
    if (!f) throw new DatasetError('NOT_FOUND', `${spec.dir}: no ${prefix}-${kind}[.gz] for the ${spec.split} split`);
    return f;
  };
  return idxDataset(spec, FASHION_MNIST_CLASSES, readIdx(find('images-idx3-ubyte'), 3), readIdx(find('labels-idx1-ubyte'), 1), spec.dir);
}
