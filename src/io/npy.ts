// NumPy .npy files holding little-endian float32 in C order.
// Format: "\x93NUMPY", major, minor, header length (u16 LE in v1, u32 LE in v2/v3), then a Python
// dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, space-padded and ended
// by '\n' so the data starts on a 64-byte boundary, then the raw data.
//
// NumPy reads the header with ast.literal_eval, so a file means what Python makes of that literal:
// a repeated key takes its last value, the keys must be exactly these three, the shape a tuple of
// ints. The header is parsed here as Python would, for the part of the grammar writers use (quoted
// strings without escapes, decimal integers, True/False, tuples, the dict, comments); anything else Python
// might accept is refused by name rather than guessed at, so no file reads here as an array NumPy
// would read differently.
import { NpyError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { isValidShape, shapeToString, sizeOf, tensor } from '../tensor.js';

const MAGIC = '\x93NUMPY';
/** NumPy's own limit (numpy.lib.format._MAX_HEADER_SIZE): longer headers are refused as unsafe. */
const MAX_HEADER = 10_000;

type PyValue = string | number | boolean | PyValue[] | { readonly tuple: PyValue[] } | Map<PyValue, PyValue>;

/** A Python literal, the subset of the grammar .npy writers produce; throws a string saying what it stopped at. */
function parsePythonLiteral(text: string): PyValue {
  let at = 0;
  // Python's whitespace and comments between tokens (a header is all on one line, but brackets allow newlines)
  const space = (): void => {
    for (;;) {
      while (at < text.length && ' \t\f\n\r'.includes(text[at])) at++;
      if (text[at] !== '#') return;
      while (at < text.length && text[at] !== '\n' && text[at] !== '\r') at++;
    }
  };
  const stop = (why: string): never => {
    throw `${why} at character ${at}`;
  };
  const value = (): PyValue => {
    space();
    const c = text[at];
    if (c === '{') return dict();
    if (c === '(') return sequence('(', ')');
    if (c === '[') return sequence('[', ']');
    if (c === "'" || c === '"') return str();
    const word = /^(?:True|False|[0-9A-Za-z_.+-]+)/.exec(text.slice(at))?.[0];
    if (word === 'True' || word === 'False') {
      at += word.length;
      return word === 'True';
    }
    // decimal integers as Python writes them: no sign, no leading zeros (01 is a syntax error there)
    if (word !== undefined && /^(0|[1-9][0-9]*)$/.test(word)) {
      at += word.length;
      return Number(word);
    }
    return stop(word ? `'${word}' is not a quoted string, a decimal integer, True or False` : `unexpected ${c === undefined ? 'end' : `'${c}'`}`);
  };
  const str = (): string => {
    const quote = text[at];
    const end = text.indexOf(quote, at + 1);
    const body = end < 0 ? '' : text.slice(at + 1, end);
    if (end < 0 || body.includes('\n')) stop('a string is not closed');
    if (body.includes('\\')) stop('a string with a backslash escape');
    at = end + 1;
    space();
    if (text[at] === "'" || text[at] === '"') stop('adjacent strings (Python joins them)');
    return body;
  };
  // items separated by commas, a trailing comma allowed; `(x)` is x itself, `(x,)` a tuple
  const sequence = (open: string, close: string): PyValue => {
    at++;
    const items: PyValue[] = [];
    let comma = false;
    for (;;) {
      space();
      if (text[at] === close) break;
      if (items.length && !comma) stop(`expected ',' or '${close}'`);
      items.push(value());
      space();
      comma = text[at] === ',';
      if (comma) at++;
    }
    at++;
    if (open === '[') return items;
    return items.length === 1 && !comma ? items[0] : { tuple: items };
  };
  const dict = (): Map<PyValue, PyValue> => {
    at++;
    const entries = new Map<PyValue, PyValue>();
    let comma = false;
    for (;;) {
      space();
      if (text[at] === '}') break;
      if (entries.size && !comma) stop("expected ',' or '}'");
      const key = value();
      if (typeof key !== 'string') stop('a key that is not a string');
      space();
      if (text[at++] !== ':') stop("expected ':'");
      entries.set(key, value()); // a repeated key: the last value wins, as in Python
      space();
      comma = text[at] === ',';
      if (comma) at++;
    }
    at++;
    return entries;
  };
  // literal_eval strips leading spaces and tabs
  while (text[at] === ' ' || text[at] === '\t') at++;
  const result = value();
  space();
  if (at < text.length) stop(`unexpected '${text[at]}' after the literal`);
  return result;
}

export function readNpy(bytes: Uint8Array, source = '.npy file'): Tensor {
  const fail = (code: string, why: string): never => {
    throw new NpyError(code, `${source}: ${why}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 10 || String.fromCharCode(...bytes.subarray(0, 6)) !== MAGIC) fail('MAGIC', 'not a .npy file (it does not start with \\x93NUMPY)');
  const [major, minor] = [bytes[6], bytes[7]];
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) fail('VERSION', `format version ${major}.${minor} is not supported (1.0, 2.0 and 3.0 are)`);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) fail('TRUNCATED', 'the file ends inside its header length');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > bytes.length) fail('TRUNCATED', `the header claims ${headerLength} bytes but the file has only ${bytes.length - 8 - lengthBytes} after it`);
  const raw = bytes.subarray(8 + lengthBytes, dataStart);
  // a character is a byte in latin-1 and at most 4 in UTF-8: a longer header is over the limit before decoding
  if (raw.length > (major === 3 ? 4 : 1) * MAX_HEADER) fail('HEADER', `the header is ${headerLength} bytes, more than NumPy's limit of ${MAX_HEADER} characters`);
  let header: string;
  try {
    // version 3 headers are UTF-8, the others latin-1 (every byte a character)
    header = major === 3 ? new TextDecoder('utf-8', { fatal: true }).decode(raw) : String.fromCharCode(...raw);
  } catch {
    return fail('HEADER', 'the version 3.0 header is not valid UTF-8');
  }
  if (header.length > MAX_HEADER) fail('HEADER', `the header is ${header.length} characters, more than NumPy's limit of ${MAX_HEADER}`);

  let dict: PyValue;
  try {
    dict = parsePythonLiteral(header);
  } catch (why) {
    if (typeof why !== 'string') throw why;
    return fail('HEADER', `the header is not a Python literal this reader parses (${why}): ${JSON.stringify(header.trim())}`);
  }
  if (!(dict instanceof Map)) return fail('HEADER', `the header is not a dictionary: ${header.trim()}`);
  const keys = [...dict.keys()].map(String).sort();
  if (keys.join() !== 'descr,fortran_order,shape') fail('HEADER', `the header's keys are ${JSON.stringify(keys)}; a .npy header has exactly 'descr', 'fortran_order' and 'shape'`);
  const [descr, fortran, dims] = [dict.get('descr'), dict.get('fortran_order'), dict.get('shape')];
  const isTuple = (v: PyValue | undefined): v is { tuple: PyValue[] } => typeof v === 'object' && 'tuple' in v;
  if (!isTuple(dims) || !dims.tuple.every((d) => typeof d === 'number')) return fail('HEADER', `shape ${header.trim()} is not a tuple of integers`);
  if (typeof fortran !== 'boolean') fail('HEADER', 'fortran_order is not True or False');
  if (descr !== '<f4') {
    fail('DTYPE', `dtype ${typeof descr === 'string' ? `'${descr}'` : 'given by a structure'} is not supported: expected '<f4' (little-endian float32); convert with x.astype('<f4')`);
  }
  if (fortran) fail('FORTRAN_ORDER', 'the array is in Fortran order: expected C order; save np.ascontiguousarray(x)');
  const shape = dims.tuple as number[];
  if (!isValidShape(shape)) fail('HEADER', `shape (${shape.join(', ')}) is too large`);

  const expected = sizeOf(shape) * 4;
  const actual = bytes.length - dataStart;
  if (actual < expected) fail('TRUNCATED', `shape ${shapeToString(shape)} needs ${expected} bytes of data, the file has ${actual}`);
  // NumPy would ignore them; extra bytes mean the file is not what its writer meant
  if (actual > expected) fail('TRAILING_BYTES', `shape ${shapeToString(shape)} needs ${expected} bytes of data, the file has ${actual - expected} more`);
  // Copy: the data offset need not be 4-aligned within `bytes`, and the tensor must own its buffer.
  const data = new Float32Array(sizeOf(shape));
  new Uint8Array(data.buffer).set(bytes.subarray(dataStart));
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
