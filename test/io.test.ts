// .npy and safetensors: round trips over random content, and a table of broken files, each of which
// must be refused with a named error.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NpyError, SafetensorsError, WeightsError } from '../src/errors.js';
import { checkWeights, readNpy, readSafetensors, writeNpy, writeSafetensors } from '../src/io/index.js';
import { alexnet } from '../src/models/index.js';
import type { Tensor } from '../src/tensor.js';
import { tensor } from '../src/tensor.js';

const shapeArb = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 0, maxLength: 4 });
// any float32 bit pattern: NaN payloads, infinities, -0 and subnormals must survive untouched
const tensorArb = shapeArb.chain((shape) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: n, maxLength: n }).map((bits) => tensor(shape, new Float32Array(Uint32Array.from(bits).buffer)));
});
const bits = (t: Tensor): number[] => Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length));

function thrown(f: () => unknown): Error & { code?: string } {
  try {
    f();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected an error');
}

/** A .npy file from a header dict and data, laid out by hand (v1 unless told). */
function npyBytes(dict: string, data: Uint8Array, major = 1): Uint8Array {
  const prefix = major === 1 ? 10 : 12;
  const header = dict + ' '.repeat(63 - ((prefix + dict.length) % 64)) + '\n';
  const out = Buffer.alloc(prefix + header.length + data.length);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = major;
  if (major === 1) out.writeUInt16LE(header.length, 8);
  else out.writeUInt32LE(header.length, 8);
  out.write(header, prefix, 'latin1');
  out.set(data, prefix + header.length);
  return out;
}

describe('.npy', () => {
  it('round-trips any float32 tensor bit for bit, header aligned to 64 bytes', () => {
    fc.assert(
      fc.property(tensorArb, (t) => {
        const bytes = writeNpy(t);
        expect((bytes.length - t.data.byteLength) % 64).toBe(0);
        const back = readNpy(bytes);
        expect(back.shape).toEqual(t.shape);
        expect(bits(back)).toEqual(bits(t));
      }),
    );
  });

  it('reads version 2.0 headers and NumPy\'s spellings', () => {
    const data = new Uint8Array(Float32Array.of(1.5, -2, 3, 4, 5, 6).buffer);
    const v2 = readNpy(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data, 2));
    expect(v2.shape).toEqual([2, 3]);
    expect(Array.from(v2.data)).toEqual([1.5, -2, 3, 4, 5, 6]);
    expect(readNpy(npyBytes("{'descr':'<f4','fortran_order':False,'shape':(6,)}", data)).shape).toEqual([6]);
  });

  const good = new Uint8Array(Float32Array.of(1, 2, 3, 4).buffer);
  it.each([
    ['not a .npy', new Uint8Array(Buffer.from('hello world, not numpy')), 'MAGIC', /not a \.npy file/],
    ['float64', npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", good), 'DTYPE', /'<f8'.*expected '<f4'.*astype/],
    ['big-endian', npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", good), 'DTYPE', /'>f4'/],
    ['int32', npyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }", good), 'DTYPE', /'<i4'/],
    ['Fortran order', npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", good), 'FORTRAN_ORDER', /Fortran order.*ascontiguousarray/],
    ['truncated data', npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", good), 'TRUNCATED', /needs 20 bytes.*has 16/],
    ['trailing bytes', npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", good), 'TRAILING_BYTES', /4 more/],
    ['bad shape', npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", good), 'HEADER', /shape/],
    ['version 9', (() => { const b = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", good); b[6] = 9; return b; })(), 'VERSION', /version 9/],
    ['header past the end', npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", good).subarray(0, 40), 'TRUNCATED', /header claims/],
  ])('refuses %s', (_what, bytes, code, message) => {
    const e = thrown(() => readNpy(bytes, 'x.npy'));
    expect(e).toBeInstanceOf(NpyError);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(/^x\.npy: /);
    expect(e.message).toMatch(message);
  });
});

/** A safetensors file with a hand-written header and `dataBytes` bytes of data. */
function stBytes(header: string, dataBytes: number): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  const out = Buffer.alloc(8 + h.length + dataBytes);
  out.writeBigUInt64LE(BigInt(h.length), 0);
  out.set(h, 8);
  return out;
}

describe('safetensors', () => {
  it('round-trips named tensors and metadata bit for bit, in order', () => {
    const namesArb = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_.]{0,12}$/), { maxLength: 6 });
    fc.assert(
      fc.property(namesArb.chain((names) => fc.tuple(fc.constant(names), fc.array(tensorArb, { minLength: names.length, maxLength: names.length }))), fc.dictionary(fc.string(), fc.string()), ([names, tensors], metadata) => {
        const map = new Map(names.map((n, i) => [n, tensors[i]]));
        const back = readSafetensors(writeSafetensors(map, metadata));
        expect([...back.tensors.keys()]).toEqual(names);
        for (const [name, t] of map) {
          expect(back.tensors.get(name)!.shape).toEqual(t.shape);
          expect(bits(back.tensors.get(name)!)).toEqual(bits(t));
        }
        expect(back.metadata).toEqual(Object.keys(metadata).length ? metadata : {});
      }),
    );
  });

  const entry = (dtype: string, shape: number[], begin: number, end: number): string => JSON.stringify({ dtype, shape, data_offsets: [begin, end] });
  it.each([
    ['too short for the length', new Uint8Array(5), 'TRUNCATED', /too short/],
    ['a header length beyond the file', (() => { const b = stBytes('{}', 0); b[0] = 200; return b; })(), 'HEADER_LENGTH', /runs past the end/],
    ['a header that is not JSON', stBytes('{"a": ', 0), 'HEADER_JSON', /not valid JSON/],
    ['a header that is a list', stBytes('[]', 0), 'HEADER_JSON', /not a JSON object/],
    ['F16 data', stBytes(`{"w": ${entry('F16', [2], 0, 4)}}`, 4), 'DTYPE', /"w" has dtype "F16".*only F32/],
    ['a size that disagrees with the shape', stBytes(`{"w": ${entry('F32', [3], 0, 8)}}`, 8), 'OFFSETS', /spans 8 bytes.*needs 12/],
    ['offsets beyond the file', stBytes(`{"w": ${entry('F32', [4], 0, 16)}}`, 8), 'OFFSETS', /ends at data offset 16, past the 8/],
    ['overlapping tensors', stBytes(`{"a": ${entry('F32', [2], 0, 8)}, "b": ${entry('F32', [2], 4, 12)}}`, 12), 'OFFSETS', /"b".*overlaps/],
    ['a gap between tensors', stBytes(`{"a": ${entry('F32', [1], 0, 4)}, "b": ${entry('F32', [1], 8, 12)}}`, 12), 'OFFSETS', /\[4, 8\) belong to no tensor/],
    ['trailing bytes', stBytes(`{"a": ${entry('F32', [1], 0, 4)}}`, 12), 'TRAILING_BYTES', /8 bytes after the last tensor/],
    ['a name given twice', stBytes(`{"a": ${entry('F32', [1], 0, 4)}, "a": ${entry('F32', [1], 4, 8)}}`, 8), 'DUPLICATE_NAME', /"a" appears more than once/],
    ['reversed offsets', stBytes(`{"a": ${entry('F32', [0], 4, 0)}}`, 4), 'OFFSETS', /begin <= end/],
    ['non-string metadata', stBytes('{"__metadata__": {"a": 1}}', 0), 'METADATA', /strings/],
  ])('refuses %s', (_what, bytes, code, message) => {
    const e = thrown(() => readSafetensors(bytes, 'w.safetensors'));
    expect(e).toBeInstanceOf(SafetensorsError);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(/^w\.safetensors: /);
    expect(e.message).toMatch(message);
  });

  it('a truncated real file is refused at every cut', () => {
    const bytes = writeSafetensors(new Map([['a', tensor([3], Float32Array.of(1, 2, 3))], ['b', tensor([2, 2])]]));
    for (let cut = 0; cut < bytes.length; cut++) expect(() => readSafetensors(bytes.subarray(0, cut))).toThrow(SafetensorsError);
  });
});

describe('weights against a model', () => {
  const graph = alexnet({ preset: 'paper', width: 0.05, classes: 3 });
  const complete = (): Map<string, Tensor> => new Map(graph.params().map((p) => [p.name, tensor(p.shape)]));

  it('accepts exactly the model\'s tensors', () => {
    expect(() => checkWeights(graph.params(), complete())).not.toThrow();
  });

  it.each([
    ['a missing tensor', (m: Map<string, Tensor>) => m.delete('conv3.bias'), 'MISSING', /conv3\.bias \[20\]/],
    ['an extra tensor', (m: Map<string, Tensor>) => m.set('fc9.weight', tensor([1])), 'UNEXPECTED', /fc9\.weight/],
    ['a wrong shape', (m: Map<string, Tensor>) => m.set('conv2.weight', tensor([12, 10, 5, 5])), 'SHAPE', /conv2\.weight is \[12, 10, 5, 5\], the model needs \[12, 2, 5, 5\]/],
    ['a NaN weight', (m: Map<string, Tensor>) => m.get('fc7.weight')!.data.fill(NaN, 7, 8), 'NONFINITE', /"fc7\.weight" holds NaN at flat index 7/],
    ['an infinite bias', (m: Map<string, Tensor>) => m.get('fc8.bias')!.data.fill(-Infinity), 'NONFINITE', /-Infinity/],
  ])('refuses %s', (_what, change, code, message) => {
    const m = complete();
    change(m);
    const e = thrown(() => checkWeights(graph.params(), m, 'w.safetensors'));
    expect(e).toBeInstanceOf(WeightsError);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
  });
});
