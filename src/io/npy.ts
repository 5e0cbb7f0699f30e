// NumPy .npy files holding little-endian float32 in C order.
// Format: "\x93NUMPY", major, minor, header length (u16 LE in v1, u32 LE in v2/v3), then a Python
// dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, space-padded and ended
// by '\n' so the data starts on a 64-byte boundary, then the raw data.
import { NpyError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { isValidShape, shapeToString, sizeOf, tensor } from '../tensor.js';

const MAGIC = '\x93NUMPY';

export function readNpy(bytes: Uint8Array, source = '.npy file'): Tensor {
  const fail = (code: string, why: string): never => {
    throw new NpyError(code, `${source}: ${why}`);
  };
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== MAGIC) fail('MAGIC', 'not a .npy file (it does not start with \\x93NUMPY)');
  const major = buf[6];
  if (major !== 1 && major !== 2 && major !== 3) fail('VERSION', `format version ${major}.${buf[7]} is not supported (1.0, 2.0 and 3.0 are)`);
  const lengthBytes = major === 1 ? 2 : 4;
  if (buf.length < 8 + lengthBytes) fail('TRUNCATED', 'the file ends inside its header length');
  const headerLength = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > buf.length) fail('TRUNCATED', `the header claims ${headerLength} bytes but the file has only ${buf.length - 8 - lengthBytes} after it`);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', 8 + lengthBytes, dataStart);

  const field = (key: string, pattern: string): string =>
    new RegExp(`['"]${key}['"]\\s*:\\s*${pattern}`).exec(header)?.[1] ?? fail('HEADER', `the header has no readable '${key}': ${header.trim()}`);
  const descr = field('descr', `['"]([^'"]*)['"]`);
  const fortran = field('fortran_order', '(True|False)');
  const dims = field('shape', '\\(([^)]*)\\)');
  if (descr !== '<f4') {
    fail('DTYPE', `dtype '${descr}' is not supported: expected '<f4' (little-endian float32); convert with x.astype('<f4')`);
  }
  if (fortran === 'True') fail('FORTRAN_ORDER', 'the array is in Fortran order: expected C order; save np.ascontiguousarray(x)');
  const shape = dims
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '')
    .map((d) => (/^\d+$/.test(d) ? Number(d) : fail('HEADER', `shape (${dims}) is not a tuple of integers`)));
  if (!isValidShape(shape)) fail('HEADER', `shape (${dims}) is not a tuple of integers`);

  const expected = sizeOf(shape) * 4;
  const actual = buf.length - dataStart;
  if (actual < expected) fail('TRUNCATED', `shape ${shapeToString(shape)} needs ${expected} bytes of data, the file has ${actual}`);
  if (actual > expected) fail('TRAILING_BYTES', `shape ${shapeToString(shape)} needs ${expected} bytes of data, the file has ${actual - expected} more`);
  // Copy: the data offset need not be 4-aligned within `bytes`, and the tensor must own its buffer.
  const data = new Float32Array(sizeOf(shape));
  new Uint8Array(data.buffer).set(buf.subarray(dataStart));
  return tensor(shape, data);
}

export function writeNpy(t: Tensor): Uint8Array {
  const dims = t.shape.length === 1 ? `${t.shape[0]},` : t.shape.join(', ');
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  // Version 1.0 unless the header outgrows its u16 length (only for absurdly many dimensions).
  const major = dict.length + 1 + 10 > 0xffff ? 2 : 1;
  const prefix = major === 1 ? 10 : 12;
  dict += ' '.repeat(64 - ((prefix + dict.length + 1) % 64 || 64)) + '\n';
  const out = Buffer.alloc(prefix + dict.length + t.data.byteLength);
  out.write(MAGIC, 0, 'latin1');
  out[6] = major;
  out[7] = 0;
  if (major === 1) out.writeUInt16LE(dict.length, 8);
  else out.writeUInt32LE(dict.length, 8);
  out.write(dict, prefix, 'latin1');
  out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), prefix + dict.length);
  return out;
}
