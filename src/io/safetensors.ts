// safetensors: an 8-byte little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {..}}
// then the data, offsets relative to its start. Reading checks the whole layout: the tensors must
// tile the data exactly (no gaps, overlaps or trailing bytes), as the format requires.
import { SafetensorsError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { isValidShape, shapeToString, sizeOf, tensor } from '../tensor.js';

export interface Safetensors {
  /** Tensors in file order. */
  readonly tensors: Map<string, Tensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

// A header longer than this is not a weights file (the reference implementation's limit too).
const MAX_HEADER = 100_000_000;

export function readSafetensors(bytes: Uint8Array, source = 'safetensors file'): Safetensors {
  const fail = (code: string, why: string): never => {
    throw new SafetensorsError(code, `${source}: ${why}`);
  };
  // DataView and TextDecoder rather than Buffer: the notebook page reads weights in a browser
  if (bytes.length < 8) fail('TRUNCATED', `${bytes.length} bytes is too short for the 8-byte header length`);
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > bytes.length - 8) fail('HEADER_LENGTH', `the header length ${headerLength} runs past the end of the ${bytes.length}-byte file`);
  if (headerLength > MAX_HEADER) fail('HEADER_LENGTH', `the header length ${headerLength} exceeds ${MAX_HEADER} bytes`);
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail('HEADER_JSON', `the header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('HEADER_JSON', 'the header is not a JSON object');
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== undefined) fail('DUPLICATE_NAME', `the tensor name "${duplicate}" appears more than once in the header`);

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const entries: { name: string; shape: number[]; begin: number; end: number }[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      const ok = typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string');
      if (!ok) fail('METADATA', '__metadata__ must map strings to strings');
      metadata = value as Record<string, string>;
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info !== 'object' || info === null) fail('HEADER_ENTRY', `entry "${name}" is not an object`);
    if (info.dtype !== 'F32') fail('DTYPE', `tensor "${name}" has dtype ${JSON.stringify(info.dtype)}: only F32 is supported; convert with tensor.float()`);
    const shape = info.shape as number[];
    if (!Array.isArray(shape) || !isValidShape(shape)) fail('HEADER_ENTRY', `tensor "${name}" has shape ${JSON.stringify(info.shape)}, not a list of non-negative integers`);
    const offsets = info.data_offsets as number[];
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      fail('OFFSETS', `tensor "${name}" has data_offsets ${JSON.stringify(info.data_offsets)}, not [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = offsets;
    if (end > dataLength) fail('OFFSETS', `tensor "${name}" ends at data offset ${end}, past the ${dataLength} data bytes in the file`);
    if (end - begin !== sizeOf(shape) * 4) {
      fail('OFFSETS', `tensor "${name}" spans ${end - begin} bytes, but F32 ${shapeToString(shape)} needs ${sizeOf(shape) * 4}`);
    }
    entries.push({ name, shape, begin, end });
  }

  // The tensors must cover [0, dataLength) exactly once, in some order.
  let covered = 0;
  for (const e of [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (e.begin < covered) fail('OFFSETS', `tensor "${e.name}" at data offsets [${e.begin}, ${e.end}) overlaps the tensor before it (which ends at ${covered})`);
    if (e.begin > covered) fail('OFFSETS', `data bytes [${covered}, ${e.begin}) belong to no tensor`);
    covered = e.end;
  }
  if (covered < dataLength) fail('TRAILING_BYTES', `${dataLength - covered} bytes after the last tensor belong to no tensor`);

  const tensors = new Map<string, Tensor>();
  for (const e of entries) {
    const data = new Float32Array(sizeOf(e.shape));
    new Uint8Array(data.buffer).set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    tensors.set(e.name, tensor(e.shape, data));
  }
  return { tensors, metadata };
}

/** Tensors are written in the map's order, the header padded with spaces to 8 bytes as the format advises. */
export function writeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new SafetensorsError('HEADER_ENTRY', 'a tensor cannot be named __metadata__');
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * JSON.parse keeps the last of two equal keys silently; a weights file with a name twice is
 * ambiguous, so scan the top-level keys of the (already valid) JSON text for a repeat.
 */
function firstDuplicateKey(json: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const ch = json[i];
    if (ch === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      let next = end + 1;
      while (/\s/.test(json[next] ?? '')) next++;
      if (depth === 1 && json[next] === ':') {
        const key = JSON.parse(json.slice(i, end + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
      }
      i = end;
    } else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') depth--;
  }
  return undefined;
}
