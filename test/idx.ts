// Datasets in Fashion-MNIST's IDX format, written by the tests.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

export function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

/** A Fashion-MNIST-shaped folder: n images of h x w, pixel = (7 * i + y * w + x) % 256, label i % 10. */
export function writeIdxDataset(dir: string, n: number, h: number, w: number, gz: boolean): void {
  const images = Uint8Array.from({ length: n * h * w }, (_, j) => (7 * Math.floor(j / (h * w)) + (j % (h * w))) % 256);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const write = (name: string, bytes: Buffer): void => writeFileSync(path.join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
  for (const prefix of ['train', 't10k']) {
    write(`${prefix}-images-idx3-ubyte`, idx([n, h, w], images));
    write(`${prefix}-labels-idx1-ubyte`, idx([n], labels));
  }
}
