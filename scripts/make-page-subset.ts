// Writes the Fashion-MNIST subset the notebook page trains on (its "Train in the page" cell):
// the first PER_CLASS training images of each class and the first TEST_PER_CLASS test images of
// each class, in dataset order, from Debian's dataset-fashion-mnist (MIT-licensed, Zalando SE).
//
// The format is Fashion-MNIST's own: gzipped IDX files under their usual names. `openDataset` reads
// them as is (the test and `alexnet train --data models/mini-fashion/page-subset` train on the same
// bytes as the page), and a browser needs nothing but fetch + DecompressionStream('gzip') and a
// 16-byte header to read them (src/train/live.ts, parseIdx): no node:fs, no decoder library.
// Run: npx tsx scripts/make-page-subset.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, openDataset } from '../src/data/datasets.js';
import type { Split } from '../src/data/datasets.js';

const PER_CLASS = 200;
const TEST_PER_CLASS = 50;
const out = new URL('../models/mini-fashion/page-subset/', import.meta.url);

/** An IDX file of unsigned bytes: 0, 0, type 0x08, rank, the dimensions big-endian, the data. */
function idx(dims: number[], data: Uint8Array): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  header.setUint8(2, 0x08);
  header.setUint8(3, dims.length);
  dims.forEach((d, i) => header.setUint32(4 + 4 * i, d));
  const bytes = new Uint8Array(header.byteLength + data.length);
  bytes.set(new Uint8Array(header.buffer));
  bytes.set(data, header.byteLength);
  return gzipSync(bytes, { level: 9 }); // Node writes mtime 0: the same input gives the same file
}

async function write(split: Split, perClass: number): Promise<number> {
  const data = await openDataset({ kind: 'fashion-mnist', dir: FASHION_MNIST_DIR, split });
  const taken = new Array<number>(FASHION_MNIST_CLASSES.length).fill(0);
  const chosen: number[] = [];
  for (let i = 0; i < data.length && chosen.length < perClass * taken.length; i++) {
    if (taken[data.label(i)]++ < perClass) chosen.push(i); // dataset order: the classes stay interleaved
  }
  const { height, width } = await data.load(0, 1);
  const pixels = new Uint8Array(chosen.length * height * width);
  for (const [n, i] of chosen.entries()) pixels.set((await data.load(i, 1)).data, n * height * width);
  const prefix = split === 'train' ? 'train' : 't10k';
  const images = idx([chosen.length, height, width], pixels);
  writeFileSync(new URL(`${prefix}-images-idx3-ubyte.gz`, out), images);
  writeFileSync(new URL(`${prefix}-labels-idx1-ubyte.gz`, out), idx([chosen.length], Uint8Array.from(chosen, (i) => data.label(i))));
  process.stdout.write(`${split}: ${chosen.length} images (${perClass} per class, the first ${chosen.at(-1)! + 1} of the split), ${images.length} bytes gzipped\n`);
  return images.length;
}

mkdirSync(out, { recursive: true });
await write('train', PER_CLASS);
await write('test', TEST_PER_CLASS);
