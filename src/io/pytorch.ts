// PyTorch state dicts (.pth / .pt), as torch.save writes them, read without Python:
//   - the zip format (PyTorch 1.6 and later): ARCHIVE/data.pkl, a pickle whose tensors point at
//     storages ARCHIVE/data/KEY by persistent id ('storage', torch.FloatStorage, KEY, device,
//     numel), and ARCHIVE/byteorder;
//   - the legacy format (before 1.6, or _use_new_zipfile_serialization=False): pickles one after
//     another (a magic number, the protocol version, system information, the state dict, the
//     storage keys), then each storage as an int64 element count and its bytes.
// The pickles go through the restricted unpickler (pickle.ts) with only the globals a state dict
// needs. Tensors are rebuilt from their storage, offset, sizes and strides; float16, bfloat16 and
// float64 are converted to float32 (said through `notice`); any other dtype is refused.
import { unzipSync } from 'fflate';
import { PickleError, PytorchError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { tensor } from '../tensor.js';
import { float16 } from './float16.js';
import { Global, Tuple, unpickle } from './pickle.js';
import type { PickleValue, UnpickleOptions } from './pickle.js';

/** torch's storage types, by the dtype their bytes hold; only floats make weights. */
const STORAGES: Readonly<Record<string, { readonly dtype: string; readonly bytes: number; readonly float: boolean }>> = {
  'torch.FloatStorage': { dtype: 'float32', bytes: 4, float: true },
  'torch.HalfStorage': { dtype: 'float16', bytes: 2, float: true },
  'torch.BFloat16Storage': { dtype: 'bfloat16', bytes: 2, float: true },
  'torch.DoubleStorage': { dtype: 'float64', bytes: 8, float: true },
  'torch.LongStorage': { dtype: 'int64', bytes: 8, float: false },
  'torch.IntStorage': { dtype: 'int32', bytes: 4, float: false },
  'torch.ShortStorage': { dtype: 'int16', bytes: 2, float: false },
  'torch.CharStorage': { dtype: 'int8', bytes: 1, float: false },
  'torch.ByteStorage': { dtype: 'uint8', bytes: 1, float: false },
  'torch.BoolStorage': { dtype: 'bool', bytes: 1, float: false },
};

const ALLOWED = new Set(['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_tensor', 'torch._utils._rebuild_parameter', ...Object.keys(STORAGES)]);
const HINT = 'a state dict holds only tensors in dicts; a file that names other globals is a whole pickled model or object: save model.state_dict() instead';

/** A storage a tensor points into: its key, its element type and count, and (legacy views) where it sits in its root. */
class Storage {
  bytes?: Uint8Array;
  constructor(
    readonly key: string,
    readonly type: string,
    readonly numel: number,
  ) {}
}

/** A tensor as the pickle describes it, before its values are read. */
class TensorRef {
  constructor(
    readonly storage: Storage,
    readonly offset: number,
    readonly size: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

/** The weights archive's largest entry: more than any AlexNet's storages and far less than memory. */
const MAX_ENTRY = 2 ** 31;
/** Deflate's best ratio is about 1032:1: a larger claim is a bomb. */
const MAX_RATIO = 1100;

/** The tensors of a state dict (names as saved), float32. `notice` hears conversions. */
export function readPytorch(bytes: Uint8Array, source: string, notice: (message: string) => void = () => {}): Map<string, Tensor> {
  const fail = (code: string, why: string): never => {
    throw new PytorchError(code, `${source}: ${why}`);
  };
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return readZip(bytes, source, fail, notice);
  if (bytes.length >= 2 && bytes[0] === 0x80) return readLegacy(bytes, source, fail, notice);
  if (bytes.length > 262 && String.fromCharCode(...bytes.subarray(257, 262)) === 'ustar') fail('TAR', 'a tar-format checkpoint (PyTorch 0.1.10 or older): load it in PyTorch and save it again');
  return fail('FORMAT', 'neither a torch.save zip archive nor a legacy torch.save file (it starts with neither "PK" nor a pickle)');
}

type Fail = (code: string, why: string) => never;

/**
 * The zip's end-of-central-directory record, checked before fflate reads the archive: fflate loops
 * over as many entries as the record claims (up to 2^32 in a zip64 one) whatever the bytes hold, so
 * a claim the directory cannot hold (46 bytes an entry at least) is refused here.
 */
function checkDirectory(bytes: Uint8Array, fail: Fail): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let e = bytes.length - 22;
  while (e >= 0 && view.getUint32(e, true) !== 0x06054b50) {
    if (bytes.length - e > 65557) e = -1;
    else e--;
  }
  if (e < 0) fail('ZIP', 'no end-of-central-directory record: the archive is cut short or not a zip');
  let [count, size, offset] = [view.getUint16(e + 10, true), view.getUint32(e + 12, true), view.getUint32(e + 16, true)];
  if (e >= 20 && view.getUint32(e - 20, true) === 0x07064b50) {
    const z = Number(view.getBigUint64(e - 12, true));
    if (z + 56 > bytes.length || view.getUint32(z, true) !== 0x06064b50) fail('ZIP', 'a zip64 locator that points at no zip64 directory record');
    [count, size, offset] = [Number(view.getBigUint64(z + 32, true)), Number(view.getBigUint64(z + 40, true)), Number(view.getBigUint64(z + 48, true))];
  }
  if (offset + size > bytes.length || count * 46 > size) fail('ZIP', `the directory claims ${count} entries in ${size} bytes at ${offset}, which the ${bytes.length}-byte file cannot hold`);
}

function readZip(bytes: Uint8Array, source: string, fail: Fail, notice: (m: string) => void): Map<string, Tensor> {
  checkDirectory(bytes, fail);
  let entries: Record<string, Uint8Array>;
  let total = 0;
  try {
    entries = unzipSync(bytes, {
      filter(file) {
        if (file.originalSize > MAX_ENTRY) fail('TOO_LARGE', `zip entry ${file.name} claims ${file.originalSize} bytes, more than a weights file holds`);
        if (file.compression === 0 && file.originalSize !== file.size) fail('ZIP', `stored zip entry ${file.name} claims ${file.originalSize} bytes but holds ${file.size}`);
        if (file.compression !== 0 && file.originalSize > MAX_RATIO * file.size + 65536) fail('BOMB', `zip entry ${file.name} claims ${file.originalSize} bytes from ${file.size} compressed: no data compresses that well`);
        // what the whole archive unpacks to is bounded by what its bytes can honestly encode
        total += file.originalSize;
        if (total > MAX_RATIO * bytes.length + 65536) fail('BOMB', `the archive's entries claim ${total} bytes from a ${bytes.length}-byte file`);
        return true;
      },
    });
  } catch (e) {
    if (e instanceof PytorchError) throw e;
    return fail('ZIP', `not a readable zip archive (${(e as Error).message})`);
  }
  const pickles = Object.keys(entries).filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) fail('ZIP', pickles.length ? `${pickles.length} data.pkl entries (${pickles.join(', ')}); a torch.save archive has one` : 'no ARCHIVE/data.pkl: not a torch.save archive');
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  const order = entries[`${prefix}byteorder`];
  const little = order === undefined || new TextDecoder().decode(order) === 'little';
  if (order !== undefined && !little && new TextDecoder().decode(order) !== 'big') fail('BYTEORDER', `byteorder says "${new TextDecoder().decode(order).slice(0, 20)}", not little or big`);
  const storages = new Map<string, Storage>();
  const persistentLoad = (id: PickleValue): PickleValue => {
    const items = id instanceof Tuple ? id.items : [];
    const [kind, type, key, , numel] = items;
    if (items.length !== 5 || kind !== 'storage' || !isStorageType(type) || typeof key !== 'string' || !isCount(numel)) fail('STORAGE', `a persistent id that is not ('storage', torch.*Storage, key, device, count)`);
    const storage = storages.get(key as string) ?? new Storage(key as string, (type as Global).name, numel as number);
    storages.set(key as string, storage);
    return storage;
  };
  const dict = loadDict(entries[pickles[0]], 0, source, persistentLoad, fail).value;
  for (const storage of storages.values()) {
    const data = entries[`${prefix}data/${storage.key}`];
    if (!data) fail('STORAGE', `storage ${storage.key} has no entry ${prefix}data/${storage.key}`);
    const info = STORAGES[storage.type];
    if (data.length !== storage.numel * info.bytes) fail('STORAGE', `storage ${storage.key} holds ${data.length} bytes; ${storage.numel} ${info.dtype} values need ${storage.numel * info.bytes}`);
    storage.bytes = data;
  }
  return tensorsOf(dict, little, fail, notice);
}

function readLegacy(bytes: Uint8Array, source: string, fail: Fail, notice: (m: string) => void): Map<string, Tensor> {
  const plain = (start: number, what: string) => unpickle(bytes, start, { source: `${source} (${what})`, allowed: new Set(), reduce: () => fail('LEGACY', `the ${what} pickle calls something`) });
  const magic = plain(0, 'magic number');
  if (magic.value !== 0x1950a86a20f9469cfc6cn) fail('FORMAT', 'a pickle, but not a torch.save file (no PyTorch magic number first)');
  const version = plain(magic.end, 'protocol version');
  if (version.value !== 1001) fail('VERSION', `legacy format version ${String(version.value)}; 1001 expected`);
  const info = plain(version.end, 'system information');
  const little = !(info.value instanceof Map) || info.value.get('little_endian') !== false;
  const storages = new Map<string, Storage>();
  const persistentLoad = (id: PickleValue): PickleValue => {
    const items = id instanceof Tuple ? id.items : [];
    const [kind, type, key, , numel, view] = items;
    if (kind === 'module') fail('MODULE', `the file pickles a whole module's source (${HINT})`);
    if (items.length !== 6 || kind !== 'storage' || !isStorageType(type) || typeof key !== 'string' || !isCount(numel)) fail('STORAGE', 'a persistent id that is not (\'storage\', torch.*Storage, key, device, count, view)');
    if (view !== null) fail('VIEW', `storage ${key as string} is a view into another storage (a pre-1.0 file): load it in PyTorch and save it again`);
    const storage = storages.get(key as string) ?? new Storage(key as string, (type as Global).name, numel as number);
    storages.set(key as string, storage);
    return storage;
  };
  const main = loadDict(bytes, info.end, source, persistentLoad, fail);
  const keys = plain(main.end, 'storage keys');
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) fail('LEGACY', 'the storage-key list is not a list of strings');
  let at = keys.end;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys.value as string[]) {
    const storage = storages.get(key) ?? fail('STORAGE', `the data names storage ${key}, which no tensor uses`);
    const element = STORAGES[storage.type].bytes;
    if (at + 8 > bytes.length) fail('TRUNCATED', `storage ${key}'s element count runs past the end of the file`);
    const count = Number(view.getBigInt64(at, little));
    if (count !== storage.numel) fail('STORAGE', `storage ${key} holds ${count} elements, its tensors say ${storage.numel}`);
    at += 8;
    if (at + count * element > bytes.length) fail('TRUNCATED', `storage ${key} (${count * element} bytes) runs past the end of the file`);
    storage.bytes = bytes.subarray(at, at + count * element);
    at += count * element;
  }
  for (const s of storages.values()) if (!s.bytes) fail('STORAGE', `storage ${s.key} is used but not in the file`);
  return tensorsOf(main.value, little, fail, notice);
}

const isStorageType = (v: PickleValue): v is Global => v instanceof Global && v.name in STORAGES;
const isCount = (v: PickleValue): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const isCounts = (v: PickleValue): v is Tuple => v instanceof Tuple && v.items.every(isCount);

/** The state dict's pickle: OrderedDicts of tensors (or a checkpoint dict holding one). */
function loadDict(bytes: Uint8Array, start: number, source: string, persistentLoad: (id: PickleValue) => PickleValue, fail: Fail): { value: PickleValue; end: number } {
  // a call or state the pickle asks for and a state dict has no use for: the pickle's fault
  const refuse = (code: string, why: string): never => {
    throw new PickleError(code, `${source}: ${why}`);
  };
  const options: UnpickleOptions = {
    source: `${source} (its pickle)`,
    allowed: ALLOWED,
    refusalHint: HINT,
    persistentLoad,
    reduce(callable, args) {
      switch (callable.name) {
        case 'collections.OrderedDict': {
          const map = new Map<PickleValue, PickleValue>();
          if (args.length === 0) return map;
          if (args.length === 1 && Array.isArray(args[0])) {
            for (const pair of args[0]) {
              if (!(pair instanceof Tuple) || pair.items.length !== 2) refuse('REDUCE', 'OrderedDict of something other than (key, value) pairs');
              map.set((pair as Tuple).items[0], (pair as Tuple).items[1]);
            }
            return map;
          }
          return refuse('REDUCE', 'OrderedDict called with arguments it does not take');
        }
        case 'torch._utils._rebuild_tensor':
        case 'torch._utils._rebuild_tensor_v2': {
          const [storage, offset, size, stride] = args;
          if (!(storage instanceof Storage) || !isCount(offset) || !isCounts(size) || !isCounts(stride) || size.items.length !== stride.items.length) {
            return fail('TENSOR', `${callable.name} with arguments that are not (storage, offset, sizes, strides)`);
          }
          return new TensorRef(storage, offset as number, size.items as number[], stride.items as number[]);
        }
        case 'torch._utils._rebuild_parameter':
          if (!(args[0] instanceof TensorRef)) fail('TENSOR', '_rebuild_parameter of something that is not a tensor');
          return args[0];
        default:
          return refuse('REDUCE', `${callable.name} is a type, not something to call`);
      }
    },
    build(target, state) {
      // OrderedDict's state is its attributes: a state dict's _metadata (module versions), unused here
      if (!(target instanceof Map) || !(state instanceof Map || state === null)) refuse('BUILD', 'BUILD sets state on something other than a dict');
    },
  };
  return unpickle(bytes, start, options);
}

/** name -> float32 tensor, from the state dict (or the dict under a checkpoint's "state_dict" or "model"). */
function tensorsOf(dict: PickleValue, little: boolean, fail: Fail, notice: (m: string) => void): Map<string, Tensor> {
  let states = dict instanceof Map ? dict : fail('NOT_STATE_DICT', 'the pickle is not a dict of tensors');
  for (const key of ['state_dict', 'model']) if (states.get(key) instanceof Map && ![...states.values()].some((v) => v instanceof TensorRef)) states = states.get(key) as Map<PickleValue, PickleValue>;
  const out = new Map<string, Tensor>();
  const converted = new Set<string>();
  for (const [name, value] of states) {
    if (!(value instanceof TensorRef)) {
      if (typeof name === 'string' && name.endsWith('num_batches_tracked')) continue;
      fail('NOT_STATE_DICT', `entry ${JSON.stringify(name)} is not a tensor`);
    }
    if (typeof name !== 'string') fail('NOT_STATE_DICT', 'a tensor\'s name is not a string');
    const t = value as TensorRef;
    const info = STORAGES[t.storage.type];
    if (!info.float) fail('DTYPE', `tensor "${name}" is ${info.dtype}; weights are floating point`);
    if (info.dtype !== 'float32') converted.add(info.dtype);
    out.set(name as string, gather(name as string, t, little, fail));
  }
  if (converted.size) notice(`converted ${[...converted].join(' and ')} tensors to float32`);
  return out;
}

/** The tensor's values in C order: element i of the result is storage[offset + Σ index_d · stride_d]. */
function gather(name: string, t: TensorRef, little: boolean, fail: Fail): Tensor {
  const { storage, offset, size, stride } = t;
  const count = size.reduce((a, b) => a * b, 1);
  // a view holds at most its storage's elements; more means strides of 0 (a broadcast, never a weight), and an allocation the bytes do not pay for
  if (count > storage.numel) fail('TENSOR', `tensor "${name}" has ${count} elements, more than its ${storage.numel}-element storage`);
  const last = count === 0 ? offset : offset + size.reduce((s, d, i) => s + (d - 1) * stride[i], 0);
  if (count > 0 && last >= storage.numel) fail('TENSOR', `tensor "${name}" reaches element ${last} of a ${storage.numel}-element storage`);
  // the common case, a whole little-endian float32 tensor in C order: its bytes as they are
  const contiguous = size.every((_, d) => size[d] === 1 || stride[d] === size.slice(d + 1).reduce((a, b) => a * b, 1));
  if (contiguous && little && storage.type === 'torch.FloatStorage') {
    const data = new Float32Array(count);
    new Uint8Array(data.buffer).set(storage.bytes!.subarray(4 * offset, 4 * (offset + count)));
    return tensor(size, data);
  }
  const read = reader(storage, little);
  const data = new Float32Array(count);
  const index = new Array<number>(size.length).fill(0);
  for (let i = 0, at = offset; i < count; i++) {
    data[i] = read(at);
    // odometer over the sizes, keeping `at` = offset + Σ index · stride
    for (let d = size.length - 1; d >= 0; d--) {
      index[d]++;
      at += stride[d];
      if (index[d] < size[d]) break;
      at -= stride[d] * size[d];
      index[d] = 0;
    }
  }
  return tensor(size, data);
}

function reader(storage: Storage, little: boolean): (i: number) => number {
  const b = storage.bytes!;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (STORAGES[storage.type].dtype) {
    case 'float32':
      return (i) => view.getFloat32(4 * i, little);
    case 'float64':
      return (i) => view.getFloat64(8 * i, little);
    case 'bfloat16': {
      // the top half of a float32
      const bits = new DataView(new ArrayBuffer(4));
      return (i) => {
        bits.setUint16(0, view.getUint16(2 * i, little));
        return bits.getFloat32(0);
      };
    }
    default:
      return (i) => float16(view.getUint16(2 * i, little));
  }
}

