// An image as the data pipeline carries it: planar channels (CHW, like one sample of an NCHW
// tensor), float32, on the 0..255 scale of 8-bit pixels (16-bit sources keep their extra precision
// as fractions). Planar, so that a finished image is already the model's input layout.
import { ShapeError } from '../errors.js';

export interface Image {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** channel c, row y, column x at `(c * height + y) * width + x` */
  readonly data: Float32Array;
}

/** An image over `data` (zero-filled when omitted); the buffer is used as is, not copied. */
export function image(channels: number, height: number, width: number, data?: Float32Array): Image {
  for (const [name, v] of [['channels', channels], ['height', height], ['width', width]] as const) {
    if (!(Number.isSafeInteger(v) && v > 0)) throw new ShapeError('BAD_SHAPE', `image ${name} must be a positive integer, got ${v}`);
  }
  const n = channels * height * width;
  if (data && data.length !== n) throw new ShapeError('SIZE_MISMATCH', `a ${channels}x${height}x${width} image needs ${n} values, got ${data.length}`);
  return { channels, height, width, data: data ?? new Float32Array(n) };
}
