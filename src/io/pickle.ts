// A restricted unpickler, of the kind torch.load(weights_only=True) uses: it reads the opcodes a
// state dict needs (protocols 2 to 5) and builds plain values from them. Nothing is ever imported
// or executed: GLOBAL and STACK_GLOBAL give a named marker only for the globals in `allowed`,
// REDUCE calls only the constructors the caller supplies for those markers, and BUILD only sets
// state on objects the caller says take it. Any other global, opcode or call is refused with a
// PickleError that names it. Sizes are checked against the bytes present before anything is
// allocated, and nesting is bounded, so a hostile file costs at most its own length.
import { PickleError } from '../errors.js';

/** A global the pickle named and the caller allowed: `module.name`. */
export class Global {
  constructor(readonly name: string) {}
}

/** A tuple: kept apart from lists, which some constructors must tell apart. */
export class Tuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/** What a pickle holds here: the caller's objects (from `reduce` and `persistentLoad`) among plain values. */
export type PickleValue = null | boolean | number | bigint | string | Uint8Array | PickleValue[] | Map<PickleValue, PickleValue> | Tuple | Global | object;

export interface UnpickleOptions {
  /** Globals the pickle may name ("collections.OrderedDict"); any other is refused. */
  readonly allowed: ReadonlySet<string>;
  /** Builds the object for REDUCE of an allowed global on these arguments (or refuses by throwing). */
  readonly reduce: (callable: Global, args: readonly PickleValue[]) => PickleValue;
  /** Resolves a persistent id (BINPERSID): torch's storages. */
  readonly persistentLoad?: (id: PickleValue) => PickleValue;
  /** Applies BUILD's state to an object reduce made; refuse (throw) for anything else. */
  readonly build?: (target: PickleValue, state: PickleValue) => void;
  /** For messages: which file, which pickle. */
  readonly source: string;
  /** Added to the message refusing a global: what the file probably is and what to do instead. */
  readonly refusalHint?: string;
}

/** Nesting allowed: MARKs open at once, and stack depth. A state dict needs a handful. */
const MAX_MARKS = 1000;
const MAX_STACK = 1_000_000;

// prettier-ignore
const OP = {
  MARK: 0x28, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, DUP: 0x32, BINFLOAT: 0x47, BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d,
  NONE: 0x4e, BINPERSID: 0x51, REDUCE: 0x52, BINSTRING: 0x54, SHORT_BINSTRING: 0x55, BINUNICODE: 0x58,
  APPEND: 0x61, BUILD: 0x62, GLOBAL: 0x63, DICT: 0x64, EMPTY_DICT: 0x7d, APPENDS: 0x65, BINGET: 0x68, LONG_BINGET: 0x6a,
  LIST: 0x6c, EMPTY_LIST: 0x5d, BINPUT: 0x71, LONG_BINPUT: 0x72, SETITEM: 0x73, TUPLE: 0x74, EMPTY_TUPLE: 0x29, SETITEMS: 0x75,
  PROTO: 0x80, NEWOBJ: 0x81, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87, NEWTRUE: 0x88, NEWFALSE: 0x89, LONG1: 0x8a, LONG4: 0x8b,
  SHORT_BINBYTES: 0x43, BINBYTES: 0x42, SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d, BINBYTES8: 0x8e, EMPTY_SET: 0x8f,
  ADDITEMS: 0x90, FROZENSET: 0x91, STACK_GLOBAL: 0x93, MEMOIZE: 0x94, FRAME: 0x95,
} as const;
const NAMES = new Map<number, string>(Object.entries(OP).map(([k, v]) => [v, k]));

/**
 * Reads one pickle starting at `start`; returns its value and the offset just past its STOP (a
 * legacy torch file holds several pickles one after another).
 */
export function unpickle(bytes: Uint8Array, start: number, o: UnpickleOptions): { value: PickleValue; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (code: string, why: string, at = pos): never => {
    throw new PickleError(code, `${o.source}: ${why} (at byte ${at})`);
  };
  let pos = start;
  let stack: PickleValue[] = [];
  const marks: PickleValue[][] = [];
  const memo = new Map<number, PickleValue>();
  const text = new TextDecoder('utf-8', { fatal: true });

  const need = (n: number | bigint, what: string): number => {
    if (n < 0) fail('LENGTH', `${what} of negative length ${n}`);
    if (typeof n === 'bigint' ? n > BigInt(bytes.length - pos) : n > bytes.length - pos) fail('TRUNCATED', `${what} needs ${n} bytes, ${bytes.length - pos} are left`);
    return Number(n);
  };
  const take = (n: number | bigint, what: string): Uint8Array => {
    const len = need(n, what);
    const out = bytes.subarray(pos, pos + len);
    pos += len;
    return out;
  };
  const u8 = (): number => take(1, 'an opcode argument')[0];
  const u16 = (): number => (need(2, 'a 2-byte argument'), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = (): number => (need(4, 'a 4-byte argument'), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = (): number => (need(4, 'a 4-byte argument'), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = (): bigint => (need(8, 'an 8-byte argument'), (pos += 8), view.getBigUint64(pos - 8, true));
  const utf8 = (b: Uint8Array): string => {
    try {
      return text.decode(b);
    } catch {
      return fail('UTF8', 'a string is not valid UTF-8');
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('TRUNCATED', 'a GLOBAL name runs past the end of the file');
    return utf8(take(end - pos + 1, 'a name').subarray(0, -1));
  };
  const push = (v: PickleValue): void => {
    if (stack.length >= MAX_STACK) fail('TOO_DEEP', `the stack holds over ${MAX_STACK} values`);
    stack.push(v);
  };
  const pop = (): PickleValue => (stack.length ? stack.pop()! : fail('STACK', 'an opcode reads from an empty stack'));
  const top = (): PickleValue => (stack.length ? stack[stack.length - 1] : fail('STACK', 'an opcode reads from an empty stack'));
  const popMark = (): PickleValue[] => {
    const items = stack;
    stack = marks.pop() ?? fail('STACK', 'no MARK to close');
    return items;
  };
  const global = (module: string, name: string): Global => {
    const full = `${module}.${name}`;
    if (!o.allowed.has(full)) fail('GLOBAL', `refused global ${full}: only ${[...o.allowed].join(', ')} may appear in a weights file${o.refusalHint ? `; ${o.refusalHint}` : ''}`);
    return new Global(full);
  };
  const asMap = (v: PickleValue, op: string): Map<PickleValue, PickleValue> => (v instanceof Map ? v : fail('TYPE', `${op} on something that is not a dict`));
  const asList = (v: PickleValue, op: string): PickleValue[] => (Array.isArray(v) ? v : fail('TYPE', `${op} on something that is not a list`));
  const key = (k: PickleValue): PickleValue => (typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean' || k === null ? k : fail('TYPE', 'a dict key is not a string or number'));
  const setItems = (map: Map<PickleValue, PickleValue>, items: readonly PickleValue[]): void => {
    if (items.length % 2) fail('STACK', 'SETITEMS with an odd number of values');
    for (let i = 0; i < items.length; i += 2) map.set(key(items[i]), items[i + 1]);
  };
  const get = (index: number): PickleValue => (memo.has(index) ? memo.get(index)! : fail('MEMO', `memo index ${index} was never stored`));

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case OP.PROTO:
        if (u8() > 5) fail('PROTOCOL', 'pickle protocol above 5', at);
        break;
      case OP.FRAME:
        u64(); // a size hint: the opcodes follow
        break;
      case OP.STOP:
        if (marks.length || stack.length !== 1) fail('STACK', `STOP with ${stack.length} values on the stack and ${marks.length} MARKs open`, at);
        return { value: stack[0], end: pos };
      case OP.MARK:
        if (marks.length >= MAX_MARKS) fail('TOO_DEEP', `over ${MAX_MARKS} MARKs open at once`, at);
        marks.push(stack);
        stack = [];
        break;
      case OP.POP:
        pop();
        break;
      case OP.POP_MARK:
        popMark();
        break;
      case OP.DUP:
        push(top());
        break;
      case OP.NONE:
        push(null);
        break;
      case OP.NEWTRUE:
        push(true);
        break;
      case OP.NEWFALSE:
        push(false);
        break;
      case OP.BININT:
        push(i32());
        break;
      case OP.BININT1:
        push(u8());
        break;
      case OP.BININT2:
        push(u16());
        break;
      case OP.LONG1:
      case OP.LONG4: {
        const n = op === OP.LONG1 ? u8() : u32();
        if (n > 64) fail('TOO_LARGE', `a ${n}-byte integer: no size or offset needs that many`, at);
        const b = take(n, 'an integer');
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n); // two's complement
        push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case OP.BINFLOAT:
        need(8, 'a float');
        pos += 8;
        push(view.getFloat64(pos - 8, false));
        break;
      case OP.SHORT_BINUNICODE:
        push(utf8(take(u8(), 'a string')));
        break;
      case OP.BINUNICODE:
        push(utf8(take(u32(), 'a string')));
        break;
      case OP.BINUNICODE8:
        push(utf8(take(u64(), 'a string')));
        break;
      case OP.SHORT_BINSTRING:
        push(utf8(take(u8(), 'a string')));
        break;
      case OP.BINSTRING:
        push(utf8(take(i32(), 'a string')));
        break;
      case OP.SHORT_BINBYTES:
        push(take(u8(), 'bytes'));
        break;
      case OP.BINBYTES:
        push(take(u32(), 'bytes'));
        break;
      case OP.BINBYTES8:
        push(take(u64(), 'bytes'));
        break;
      case OP.EMPTY_TUPLE:
        push(new Tuple([]));
        break;
      case OP.TUPLE1:
        push(new Tuple([pop()]));
        break;
      case OP.TUPLE2: {
        const b = pop();
        push(new Tuple([pop(), b]));
        break;
      }
      case OP.TUPLE3: {
        const c = pop();
        const b = pop();
        push(new Tuple([pop(), b, c]));
        break;
      }
      case OP.TUPLE:
        push(new Tuple(popMark()));
        break;
      case OP.EMPTY_LIST:
        push([]);
        break;
      case OP.LIST:
        push(popMark());
        break;
      case OP.APPEND: {
        const v = pop();
        asList(top(), 'APPEND').push(v);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        asList(top(), 'APPENDS').push(...items);
        break;
      }
      case OP.EMPTY_DICT:
        push(new Map());
        break;
      case OP.DICT: {
        const map = new Map<PickleValue, PickleValue>();
        setItems(map, popMark());
        push(map);
        break;
      }
      case OP.SETITEM: {
        const v = pop();
        const k = pop();
        asMap(top(), 'SETITEM').set(key(k), v);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        setItems(asMap(top(), 'SETITEMS'), items);
        break;
      }
      case OP.BINPUT:
        memo.set(u8(), top());
        break;
      case OP.LONG_BINPUT:
        memo.set(u32(), top());
        break;
      case OP.MEMOIZE:
        memo.set(memo.size, top());
        break;
      case OP.BINGET:
        push(get(u8()));
        break;
      case OP.LONG_BINGET:
        push(get(u32()));
        break;
      case OP.GLOBAL: {
        const module = line();
        push(global(module, line()));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('TYPE', 'STACK_GLOBAL of non-strings', at);
        push(global(module as string, name as string));
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        const callable = pop();
        if (!(callable instanceof Global)) fail('REDUCE', 'REDUCE calls something that is not an allowed global', at);
        if (!(args instanceof Tuple)) fail('REDUCE', `REDUCE of ${(callable as Global).name} without an argument tuple`, at);
        push(o.reduce(callable as Global, (args as Tuple).items));
        break;
      }
      case OP.BUILD: {
        const state = pop();
        if (!o.build) fail('BUILD', 'BUILD (setting an object\'s state) is not allowed here', at);
        o.build!(top(), state);
        break;
      }
      case OP.BINPERSID: {
        const id = pop();
        if (!o.persistentLoad) fail('PERSID', 'a persistent id, and this pickle may hold none', at);
        push(o.persistentLoad!(id));
        break;
      }
      default:
        fail('OPCODE', `opcode ${NAMES.get(op) ?? `0x${op.toString(16).padStart(2, '0')}`} is not allowed in a weights file`, at);
    }
  }
}
