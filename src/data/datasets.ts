// Datasets: an image folder (one subfolder per class) or Fashion-MNIST in its IDX files. A dataset
// is opened from a spec that is plain data, so a prefetch worker can open the same dataset itself.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DatasetError } from '../errors.js';
import { decodeImage } from './decode.js';
import type { Image } from './image.js';
import { image } from './image.js';

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
      .filter((f) => IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase()))
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
    load: async (i, channels) => decodeImage(await readFile(files[i]), { source: files[i], channels }),
  };
}

/** `name` or `name.gz` in dir, whichever exists. */
function idxFile(dir: string, name: string): string | undefined {
  return [name, `${name}.gz`].map((f) => path.join(dir, f)).find((f) => existsSync(f));
}

/** An IDX file (big-endian: two zero bytes, type 0x08 = unsigned byte, rank, then each dimension). */
function readIdx(file: string, rank: number): { dims: number[]; data: Uint8Array } {
  let bytes: Uint8Array = readFileSync(file);
  if (file.endsWith('.gz')) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new DatasetError('CORRUPT', `${file}: not a valid gzip file (${(e as Error).message})`);
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes || view.getUint16(0) !== 0 || bytes[2] !== 0x08 || bytes[3] !== rank) {
    throw new DatasetError('CORRUPT', `${file}: not an IDX file of unsigned bytes with ${rank} dimension${rank > 1 ? 's' : ''}`);
  }
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== headerBytes + size) throw new DatasetError('CORRUPT', `${file}: dimensions [${dims.join(', ')}] need ${headerBytes + size} bytes, the file has ${bytes.length}`);
  return { dims, data: bytes.subarray(headerBytes) };
}

function openFashionMnist(spec: Extract<DatasetSpec, { kind: 'fashion-mnist' }>): Dataset {
  const prefix = spec.split === 'train' ? 'train' : 't10k';
  const find = (kind: string): string => {
    const f = idxFile(spec.dir, `${prefix}-${kind}`);
    if (!f) throw new DatasetError('NOT_FOUND', `${spec.dir}: no ${prefix}-${kind}[.gz] for the ${spec.split} split`);
    return f;
  };
  const images = readIdx(find('images-idx3-ubyte'), 3);
  const labels = readIdx(find('labels-idx1-ubyte'), 1);
  const [n, height, width] = images.dims;
  if (labels.dims[0] !== n) throw new DatasetError('CORRUPT', `${spec.dir}: ${n} ${spec.split} images but ${labels.dims[0]} labels`);
  const bad = labels.data.findIndex((l) => l >= FASHION_MNIST_CLASSES.length);
  if (bad >= 0) throw new DatasetError('CORRUPT', `${spec.dir}: label ${labels.data[bad]} of image ${bad} is not a class (0..9)`);
  const pixels = height * width;
  return {
    spec,
    classes: FASHION_MNIST_CLASSES,
    length: n,
    label: (i) => labels.data[i],
    load: async (i, channels) => {
      const grey = images.data.subarray(i * pixels, (i + 1) * pixels);
      const out = image(channels, height, width);
      for (let c = 0; c < channels; c++) out.data.set(grey, c * pixels);
      return out;
    },
  };
}
