// A Tensor is a shape and a dense float32 buffer in C order. Activations are NCHW (batch first);
// parameters use PyTorch's layouts (conv weight [out, in/groups, kh, kw], linear weight [out, in]).
import { ShapeError } from './errors.js';

export type Shape = readonly number[];

export interface Tensor {
  readonly shape: Shape;
  readonly data: Float32Array;
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeToString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function isValidShape(shape: Shape): boolean {
  return shape.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/** A tensor over `data` (zero-filled when omitted); the buffer is used as is, not copied. */
export function tensor(shape: Shape, data?: Float32Array): Tensor {
  if (!isValidShape(shape)) throw new ShapeError('BAD_SHAPE', `shape ${shapeToString(shape)} has a negative or non-integer dimension`);
  const n = sizeOf(shape);
  if (data && data.length !== n) {
    throw new ShapeError('SIZE_MISMATCH', `shape ${shapeToString(shape)} needs ${n} values, got ${data.length}`);
  }
  return { shape: [...shape], data: data ?? new Float32Array(n) };
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** [N, C_i, ...] tensors -> [N, ΣC_i, ...]: each sample's parts one after another, in order. */
export function concatAxis1(parts: readonly Tensor[]): Tensor {
  const [n, , ...rest] = parts[0].shape;
  const out = tensor([n, parts.reduce((sum, t) => sum + t.shape[1], 0), ...rest]);
  const per = sizeOf(out.shape) / n;
  for (let s = 0; s < n; s++) {
    let at = s * per;
    for (const t of parts) {
      const block = sizeOf(t.shape) / n;
      out.data.set(t.data.subarray(s * block, (s + 1) * block), at);
      at += block;
    }
  }
  return out;
}

/**
 * dst.set(src, at) through byte views. V8 copies a Float32Array that views shared memory (a wasm
 * memory, a SharedArrayBuffer) element by element, about ten times slower than the memcpy it uses
 * for bytes.
 */
export function copyFloats(dst: Float32Array, src: Float32Array, at = 0): void {
  new Uint8Array(dst.buffer, dst.byteOffset + at * 4, src.byteLength).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
}

/**
 * The design card's error of `actual` against `expected`: max |difference| / max(max |expected|,
 * 1e-6). A NaN difference counts as infinite, so that a broken result never passes a bound.
 */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let [err, scale] = [0, 0];
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    err = Number.isNaN(d) ? Infinity : Math.max(err, d);
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return err / Math.max(scale, 1e-6);
}

/** The k most probable classes, highest first; equal probabilities keep the lower class index first. */
export function topK(probs: ArrayLike<number>, k: number): { class: number; prob: number }[] {
  return Array.from(probs, (prob, c) => ({ class: c, prob }))
    .sort((a, b) => b.prob - a.prob || a.class - b.class)
    .slice(0, k);
}
