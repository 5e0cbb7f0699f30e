// The closed op set. Each op is plain data; its definition infers the per-sample output shape,
// lists its parameters (PyTorch layouts), counts its multiply-accumulates and describes itself in
// one line. Shapes here exclude the batch dimension: [C, H, W] for maps, [F] for features.
import type { Shape } from '../tensor.js';
import { shapeToString, sizeOf } from '../tensor.js';

/** A size per spatial axis, [height, width]; one number for both. */
export type Pair = number | readonly [number, number];
/** Zero padding per side, [top, left, bottom, right] (ONNX's order for 2-D); one number for all four. */
export type Pads = number | readonly [number, number, number, number];

export type Op =
  | { readonly type: 'input'; readonly shape: Shape }
  | {
      readonly type: 'conv2d';
      readonly out: number;
      readonly kernel: Pair;
      readonly stride: Pair;
      readonly pad: Pads;
      readonly groups: number;
    }
  | { readonly type: 'relu' }
  | {
      readonly type: 'lrn';
      readonly size: number;
      readonly alpha: number;
      readonly beta: number;
      readonly k: number;
      /** true: alpha/n multiplies the sum (Caffe, ONNX, PyTorch); false: alpha does (the 2012 paper). */
      readonly alphaOverSize: boolean;
      /** Channels are split into this many contiguous groups; the window never crosses a group. */
      readonly groups: number;
    }
  | {
      readonly type: 'maxpool2d';
      readonly kernel: Pair;
      readonly stride: Pair;
      /** padded positions never win (-∞); default none */
      readonly pad?: Pads;
      /** ceil mode: a last window that starts inside the (left-padded) input counts; default floor */
      readonly ceil?: boolean;
    }
  | {
      readonly type: 'avgpool2d';
      readonly kernel: Pair;
      readonly stride: Pair;
      readonly pad?: Pads;
      readonly ceil?: boolean;
      /** divide by the window's size within the padded input (true) or by its valid positions only (false, the default) */
      readonly countIncludePad?: boolean;
    }
  | { readonly type: 'adaptiveavgpool2d'; readonly out: number }
  | { readonly type: 'flatten' }
  | { readonly type: 'linear'; readonly out: number }
  | { readonly type: 'dropout'; readonly p: number }
  | { readonly type: 'softmax' }
  // The multi-device ops the partition pass (src/partition/) inserts; all work on axis 0 of a
  // sample (channels of maps, features of flat tensors).
  | { readonly type: 'concat' }
  | { readonly type: 'slice'; readonly from: number; readonly to: number }
  /** The identity, from device `from` to device `to`: its output lives on `to`. */
  | { readonly type: 'transfer'; readonly from: number; readonly to: number };

export type OpType = Op['type'];
export type OpOf<T extends OpType> = Extract<Op, { type: T }>;

export interface ParamShape {
  /** Local name: the full name is `${node}.${name}` (`conv1.weight`). */
  readonly name: 'weight' | 'bias';
  readonly shape: Shape;
}

/** Thrown by an op definition; the graph adds the node's name and shapes. */
export class OpShapeError extends Error {}

interface OpDef<T extends OpType> {
  /** How many nodes it reads: 0 for `input`, 'many' (one or more) for `concat`, else 1. */
  readonly arity: 0 | 1 | 'many';
  /** The output shape for this input shape ([] for `input`; all of them in `inputs`), or OpShapeError. */
  outputShape(op: OpOf<T>, input: Shape, inputs: readonly Shape[]): Shape;
  params(op: OpOf<T>, input: Shape): ParamShape[];
  /** Multiply-accumulates of the op's reduction per sample; 0 for comparisons and elementwise ops. */
  macs(op: OpOf<T>, input: Shape, output: Shape): number;
  /** One line for people: what the op does with these numbers. */
  describe(op: OpOf<T>, input: Shape, output: Shape): string;
}

function fail(message: string): never {
  throw new OpShapeError(message);
}

function positiveInts(op: Op, keys: string[]): void {
  const record = op as unknown as Record<string, unknown>;
  for (const key of keys) {
    const v = record[key];
    if (!(Number.isSafeInteger(v) && (v as number) > 0)) fail(`${key} must be a positive integer, got ${String(v)}`);
  }
}

function maps(input: Shape, what: string): [number, number, number] {
  if (input.length !== 3) fail(`${what} needs a [C, H, W] input, got ${shapeToString(input)}`);
  return [input[0], input[1], input[2]];
}

/** A conv's or pool's window, every size spelled out: kernel, stride and padding per axis and side. */
export interface Window {
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly top: number;
  readonly left: number;
  readonly bottom: number;
  readonly right: number;
  readonly ceil: boolean;
}

/** The window of a conv or pool op, checked: positive kernel and stride, non-negative padding. */
export function windowOf(op: { readonly kernel: Pair; readonly stride: Pair; readonly pad?: Pads; readonly ceil?: boolean }): Window {
  const pair = (v: Pair): readonly [number, number] => (typeof v === 'number' ? [v, v] : v);
  const [kh, kw] = pair(op.kernel);
  const [sh, sw] = pair(op.stride);
  const pad = op.pad ?? 0;
  const [top, left, bottom, right] = typeof pad === 'number' ? [pad, pad, pad, pad] : pad;
  const ok = (v: unknown, min: number): boolean => Number.isSafeInteger(v) && (v as number) >= min;
  if (!(Array.isArray(op.kernel) ? op.kernel.length === 2 : true) || !ok(kh, 1) || !ok(kw, 1)) fail(`kernel must be a positive integer or [height, width], got ${JSON.stringify(op.kernel)}`);
  if (!(Array.isArray(op.stride) ? op.stride.length === 2 : true) || !ok(sh, 1) || !ok(sw, 1)) fail(`stride must be a positive integer or [height, width], got ${JSON.stringify(op.stride)}`);
  if (!(typeof pad === 'number' || pad.length === 4) || ![top, left, bottom, right].every((v) => ok(v, 0))) fail(`pad must be a non-negative integer or [top, left, bottom, right], got ${JSON.stringify(op.pad)}`);
  return { kh, kw, sh, sw, top, left, bottom, right, ceil: op.ceil === true };
}

/** Whether the window is a k x k one, moved by s on both axes, padded by p on every side. */
export function isSquare(w: Window): boolean {
  return w.kh === w.kw && w.sh === w.sw && w.top === w.left && w.top === w.bottom && w.top === w.right;
}

/**
 * Positions of a window sliding over `size` with padding `before` and `after`: floor mode (PyTorch's
 * default), or ceil mode, where a last partial window counts if it starts inside the input or its
 * left padding (PyTorch's and ONNX's rule).
 */
export function slide(size: number, kernel: number, stride: number, before: number, after: number, ceil: boolean, what: string): number {
  const span = size + before + after - kernel;
  if (span < 0) fail(`${what}: a ${kernel}-wide window does not fit in ${size} (+${before}+${after} padding)`);
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceil && (out - 1) * stride >= size + before) out--;
  return out;
}

/** The output [C, OH, OW] of `window` over maps [C, H, W]. */
function windowed(window: Window, input: Shape, what: string): [number, number] {
  const [, h, w] = maps(input, what);
  return [slide(h, window.kh, window.sh, window.top, window.bottom, window.ceil, what), slide(w, window.kw, window.sw, window.left, window.right, window.ceil, what)];
}

/** A window over every map: the channels stay. A pool's padding must be narrower than its window (PyTorch's rule), so every window holds an input. */
function pooledShape(op: OpOf<'maxpool2d' | 'avgpool2d'>, input: Shape): Shape {
  const win = windowOf(op);
  if (Math.max(win.top, win.bottom) >= win.kh || Math.max(win.left, win.right) >= win.kw) fail(`padding ${JSON.stringify(op.pad)} must be smaller than the ${win.kh}x${win.kw} window`);
  return [input[0], ...windowed(win, input, op.type)];
}

/** "3x3" or "3x5". */
const size2 = (a: number, b: number): string => `${a}x${b}`;
/** "stride 2" or "stride 2x1". */
const strideText = (w: Window): string => `stride ${w.sh === w.sw ? w.sh : size2(w.sh, w.sw)}`;
/** "no padding", "padding 2" or "padding 0, 0, 1, 1 (top, left, bottom, right)". */
function padText(w: Window): string {
  const sides = [w.top, w.left, w.bottom, w.right];
  if (sides.every((v) => v === 0)) return 'no padding';
  return sides.every((v) => v === w.top) ? `padding ${w.top}` : `padding ${sides.join(', ')} (top, left, bottom, right)`;
}

const hw = (s: Shape): string => `${s[1]}x${s[2]}`;

const noParams = (): ParamShape[] => [];
const noMacs = (): number => 0;
const sameShape = (_op: Op, input: Shape): Shape => input;

export const opDefs: { readonly [T in OpType]: OpDef<T> } = {
  input: {
    arity: 0,
    outputShape: (op) => op.shape,
    params: noParams,
    macs: noMacs,
    describe: (op) => `input: ${shapeToString(op.shape)} per sample`,
  },

  conv2d: {
    arity: 1,
    outputShape(op, input) {
      positiveInts(op, ['out', 'groups']);
      const [c] = maps(input, 'conv2d');
      if (c % op.groups !== 0) fail(`${c} input channels are not divisible by groups ${op.groups}`);
      if (op.out % op.groups !== 0) fail(`${op.out} output channels are not divisible by groups ${op.groups}`);
      return [op.out, ...windowed(windowOf(op), input, 'conv2d')];
    },
    params(op, input) {
      const { kh, kw } = windowOf(op);
      return [
        { name: 'weight', shape: [op.out, input[0] / op.groups, kh, kw] },
        { name: 'bias', shape: [op.out] },
      ];
    },
    macs(op, input, output) {
      const { kh, kw } = windowOf(op);
      return sizeOf(output) * (input[0] / op.groups) * kh * kw;
    },
    describe(op, input, output) {
      const w = windowOf(op);
      const towers = op.groups > 1 ? ` in ${op.groups} groups (each sees ${input[0] / op.groups} of the input maps)` : '';
      return `${size2(w.kh, w.kw)} convolution, ${strideText(w)}, ${padText(w)}: ${input[0]} -> ${op.out} maps${towers}, ${hw(input)} -> ${hw(output)}`;
    },
  },

  relu: {
    arity: 1,
    outputShape: sameShape,
    params: noParams,
    macs: noMacs,
    describe: () => 'ReLU: max(0, x) elementwise',
  },

  lrn: {
    arity: 1,
    outputShape(op, input) {
      positiveInts(op, ['size', 'groups']);
      // An even window has no centre; Caffe rejects it too.
      if (op.size % 2 === 0) fail(`size must be odd (the window is centred on its channel), got ${op.size}`);
      if (!(op.k > 0 && op.alpha >= 0 && op.beta >= 0)) fail(`needs k > 0, alpha >= 0, beta >= 0, got k=${op.k} alpha=${op.alpha} beta=${op.beta}`);
      const [c] = maps(input, 'lrn');
      if (c % op.groups !== 0) fail(`${c} channels are not divisible by groups ${op.groups}`);
      return input;
    },
    params: noParams,
    macs: (op, input) => sizeOf(input) * op.size,
    describe(op, input) {
      const scale = op.alphaOverSize ? `${op.alpha}/${op.size}` : `${op.alpha}`;
      const where = op.groups > 1 ? `within each of ${op.groups} groups of ${input[0] / op.groups} maps` : `across all ${input[0]} maps`;
      return `local response normalisation over ${op.size} neighbouring maps ${where}: b = a / (${op.k} + ${scale}·Σa²)^${op.beta}`;
    },
  },

  maxpool2d: {
    arity: 1,
    outputShape: pooledShape,
    params: noParams,
    macs: noMacs,
    describe(op, input, output) {
      const w = windowOf(op);
      const overlap = w.sh < w.kh || w.sw < w.kw ? ' (overlapping)' : '';
      const pad = padText(w) === 'no padding' ? '' : `, ${padText(w)}`;
      return `${size2(w.kh, w.kw)} max-pool, ${strideText(w)}${overlap}${pad}${w.ceil ? ', ceil mode' : ''}: ${hw(input)} -> ${hw(output)}`;
    },
  },

  avgpool2d: {
    arity: 1,
    outputShape: pooledShape,
    params: noParams,
    macs: noMacs,
    describe(op, input, output) {
      const w = windowOf(op);
      const pad = padText(w) === 'no padding' ? '' : `, ${padText(w)} (${op.countIncludePad ? 'counted' : 'not counted'} in the mean)`;
      return `${size2(w.kh, w.kw)} average pool, ${strideText(w)}${pad}${w.ceil ? ', ceil mode' : ''}: ${hw(input)} -> ${hw(output)}`;
    },
  },

  adaptiveavgpool2d: {
    arity: 1,
    outputShape(op, input) {
      positiveInts(op, ['out']);
      const [c] = maps(input, 'adaptiveavgpool2d');
      return [c, op.out, op.out];
    },
    params: noParams,
    macs: noMacs,
    describe: (op, input) =>
      `adaptive average pool to ${op.out}x${op.out}: ${hw(input)} -> ${op.out}x${op.out}${input[1] === op.out && input[2] === op.out ? ' (identity at this size)' : ''}`,
  },

  flatten: {
    arity: 1,
    outputShape: (_op, input) => [sizeOf(input)],
    params: noParams,
    macs: noMacs,
    describe: (_op, input, output) => `flatten ${shapeToString(input)} -> ${shapeToString(output)} (C, H, W order)`,
  },

  linear: {
    arity: 1,
    outputShape(op, input) {
      positiveInts(op, ['out']);
      if (input.length !== 1) fail(`linear needs a flat [F] input (add a flatten), got ${shapeToString(input)}`);
      return [op.out];
    },
    params: (op, input) => [
      { name: 'weight', shape: [op.out, input[0]] },
      { name: 'bias', shape: [op.out] },
    ],
    macs: (op, input) => input[0] * op.out,
    describe: (op, input) => `fully connected: ${input[0]} -> ${op.out}`,
  },

  dropout: {
    arity: 1,
    outputShape(op, input) {
      if (!(op.p >= 0 && op.p < 1)) fail(`p must be in [0, 1), got ${op.p}`);
      return input;
    },
    params: noParams,
    macs: noMacs,
    describe: (op) => `dropout p=${op.p} while training (inverted: kept units scaled by 1/(1-p)); identity at inference`,
  },

  softmax: {
    arity: 1,
    outputShape(_op, input) {
      if (input.length !== 1) fail(`softmax needs a flat [F] input, got ${shapeToString(input)}`);
      return input;
    },
    params: noParams,
    macs: noMacs,
    describe: (_op, input) => `softmax over ${input[0]} classes: exp(x) / Σexp(x)`,
  },

  concat: {
    arity: 'many',
    outputShape(_op, _input, inputs) {
      const rest = inputs[0].slice(1);
      const bad = inputs.find((s) => s.length !== inputs[0].length || s.slice(1).some((d, i) => d !== rest[i]));
      if (bad) fail(`inputs must agree past axis 0, got ${inputs.map(shapeToString).join(' and ')}`);
      return [inputs.reduce((sum, s) => sum + s[0], 0), ...rest];
    },
    params: noParams,
    macs: noMacs,
    describe: (_op, input, output) => `concatenate along axis 0 (${input.length === 3 ? 'channels' : 'features'}): -> ${shapeToString(output)}`,
  },

  slice: {
    arity: 1,
    outputShape(op, input) {
      if (!(Number.isSafeInteger(op.from) && Number.isSafeInteger(op.to) && op.from >= 0 && op.from < op.to && op.to <= input[0])) {
        fail(`slice [${op.from}, ${op.to}) does not fit axis 0 of ${shapeToString(input)}`);
      }
      return [op.to - op.from, ...input.slice(1)];
    },
    params: noParams,
    macs: noMacs,
    describe: (op, input) => `keep ${input.length === 3 ? 'channels' : 'features'} [${op.from}, ${op.to}) of ${input[0]}`,
  },

  transfer: {
    arity: 1,
    outputShape(op, input) {
      if (!(Number.isSafeInteger(op.from) && Number.isSafeInteger(op.to) && op.from >= 0 && op.to >= 0 && op.from !== op.to)) {
        fail(`a transfer goes between two different devices, got ${op.from} -> ${op.to}`);
      }
      return input;
    },
    params: noParams,
    macs: noMacs,
    describe: (op, input) => `copy from device ${op.from} to device ${op.to}: ${(sizeOf(input) * 4).toLocaleString('en-US')} bytes per sample`,
  },
};

/** opDefs[op.type] with its op type kept, so callers need no casts. */
export function defOf<T extends OpType>(op: OpOf<T>): OpDef<T> {
  return opDefs[op.type as T];
}
