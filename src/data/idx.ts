// IDX files (Fashion-MNIST's format) to a Dataset held in memory: the parsing and checks shared by
// the CLI's reader (datasets.ts, which reads and inflates with Node) and the page (src/train/live.ts).
// Browser-safe: no node: module.
import { DatasetError } from '../errors.js';
import type { Dataset, DatasetSpec } from './datasets.js';
import { image } from './image.js';

/** The dimensions once `bytes` holds the whole header, undefined before; a wrong magic, type or rank throws (big-endian: 0, 0, type 0x08 = unsigned byte, rank, each dimension). */
export function idxHeader(bytes: Uint8Array, rank: number, source: string): number[] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if ((bytes.length >= 2 && view.getUint16(0) !== 0) || (bytes.length >= 3 && bytes[2] !== 0x08) || (bytes.length >= 4 && bytes[3] !== rank)) notIdx(rank, source);
  return bytes.length < 4 + 4 * rank ? undefined : Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
}

function notIdx(rank: number, source: string): never {
  throw new DatasetError('CORRUPT', `${source}: not an IDX file of unsigned bytes with ${rank} dimension${rank > 1 ? 's' : ''}`);
}

export const idxBytes = (dims: readonly number[]): number => 4 + 4 * dims.length + dims.reduce((a, b) => a * b, 1);

/** A whole IDX file: its dimensions and data, the length checked against them. */
export function parseIdx(bytes: Uint8Array, rank: number, source: string): { dims: number[]; data: Uint8Array } {
  const dims = idxHeader(bytes, rank, source) ?? notIdx(rank, source);
  if (bytes.length !== idxBytes(dims)) throw new DatasetError('CORRUPT', `${source}: dimensions [${dims.join(', ')}] need ${idxBytes(dims)} bytes, the file has ${bytes.length}`);
  return { dims, data: bytes.subarray(4 + 4 * rank) };
}

/** Grey images [n, h, w] and their labels as a Dataset; `source` names them in messages. */
export function idxDataset(spec: Extract<DatasetSpec, { kind: 'fashion-mnist' }>, classes: readonly string[], images: { dims: number[]; data: Uint8Array }, labels: { dims: number[]; data: Uint8Array }, source: string): Dataset {
  const [n, height, width] = images.dims;
  if (labels.dims[0] !== n) throw new DatasetError('CORRUPT', `${source}: ${n} ${spec.split} images but ${labels.dims[0]} labels`);
  const bad = labels.data.findIndex((l) => l >= classes.length);
  if (bad >= 0) throw new DatasetError('CORRUPT', `${source}: label ${labels.data[bad]} of image ${bad} is not a class (0..${classes.length - 1})`);
  const pixels = height * width;
  return {
    spec,
    classes,
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
