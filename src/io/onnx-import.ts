// ONNX models in: the graph of ops AlexNet files use (Conv, Relu, LRN, MaxPool, AveragePool,
// GlobalAveragePool, GlobalMaxPool, Gemm, MatMul + Add, Flatten, Reshape to [N, -1], Dropout,
// Softmax, Concat, Identity, Constant), with the initializers as weights, from the ONNX model zoo's
// oldest opsets to current ones. Every node becomes one op of our set, with its attributes spelled
// out (auto_pad resolved against the input's size; Gemm's transB, alpha and beta folded into the
// weights); anything the op set cannot express is refused in one OnnxError that lists every such
// op and node. Parsing is onnx-proto's (protobufjs); a file it cannot decode is refused by name.
import onnxProto from 'onnx-proto'; // CommonJS: its namespace comes as the default export
import type { onnx as Onnx } from 'onnx-proto';
import { OnnxError } from '../errors.js';
import { Graph } from '../graph/index.js';
import type { NodeSpec, Op, Pads } from '../graph/index.js';
import type { Shape, Tensor } from '../tensor.js';
import { shapeToString, sizeOf, tensor } from '../tensor.js';
import { float16 } from './float16.js';
import { torchvisionLayer } from './weights.js';

const { onnx } = onnxProto;

export interface OnnxModel {
  readonly graph: Graph;
  /** `${node}.weight` and `${node}.bias` for every conv and linear node */
  readonly weights: Map<string, Tensor>;
  /** who wrote it: "pytorch", "onnx-caffe2", ... and the default domain's opset */
  readonly producer: string;
  readonly opset: number;
  /** the weights came from Caffe (Caffe2's converter: conv1_w_0-style names, or an LRN): its images are BGR */
  readonly caffe: boolean;
  /** the file's output is flat, not a softmax's: class scores (logits) */
  readonly logits: boolean;
}

type Long = { toNumber(): number; high: number; low: number; unsigned?: boolean };

/** Integers up to 2^53 (protobufjs gives 64-bit fields as Long). */
function int(v: number | Long | null | undefined, what: string, fail: (why: string) => never): number {
  if (v === null || v === undefined) return 0;
  const n = typeof v === 'number' ? v : v.toNumber();
  if (!Number.isSafeInteger(n)) fail(`${what} ${n} is not an integer a model can mean`);
  return n;
}

/** The values of a TensorProto: FLOAT, DOUBLE, FLOAT16 or INT64, raw or in its typed fields. */
function values(t: Onnx.ITensorProto, fail: (why: string) => never): { dims: number[]; data: Float64Array } {
  const dims = (t.dims ?? []).map((d) => int(d as number | Long, `tensor ${t.name} dimension`, fail));
  if (dims.some((d) => d < 0)) fail(`tensor ${t.name} has a negative dimension`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (count > 2 ** 31) fail(`tensor ${t.name} declares ${count} values`);
  const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  const T = onnx.TensorProto.DataType;
  const sizes: Record<number, number> = { [T.FLOAT]: 4, [T.DOUBLE]: 8, [T.FLOAT16]: 2, [T.INT64]: 8, [T.INT32]: 4 };
  const size = sizes[t.dataType ?? 0] ?? fail(`tensor ${t.name} has data type ${t.dataType}; FLOAT, DOUBLE, FLOAT16, INT32 or INT64 expected`);
  if (raw) {
    // checked against the bytes present before anything is allocated
    if (raw.length !== count * size) fail(`tensor ${t.name} holds ${raw.length} bytes; ${shapeToString(dims)} of ${size}-byte values needs ${count * size}`);
    if (t.dataType === T.FLOAT) {
      // little-endian float32, the usual initializer: widened in one pass
      const floats = new Float32Array(count);
      new Uint8Array(floats.buffer).set(raw);
      return { dims, data: Float64Array.from(floats) };
    }
    const data = new Float64Array(count);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < count; i++) {
      data[i] = size === 4 ? (t.dataType === T.INT32 ? view.getInt32(4 * i, true) : view.getFloat32(4 * i, true)) : size === 8 ? (t.dataType === T.INT64 ? Number(view.getBigInt64(8 * i, true)) : view.getFloat64(8 * i, true)) : float16(view.getUint16(2 * i, true));
    }
    return { dims, data };
  }
  const typed: ArrayLike<number | Long> =
    t.dataType === T.FLOAT ? (t.floatData ?? []) : t.dataType === T.DOUBLE ? (t.doubleData ?? []) : t.dataType === T.INT64 ? (t.int64Data ?? []) : (t.int32Data ?? []);
  if (typed.length !== count) fail(`tensor ${t.name} holds ${typed.length} values; ${shapeToString(dims)} needs ${count}${t.dataLocation === 1 ? ' (its data is in an external file: save the model with its weights inside)' : ''}`);
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = t.dataType === T.FLOAT16 ? float16(typed[i] as number) : typeof typed[i] === 'number' ? (typed[i] as number) : (typed[i] as Long).toNumber();
  return { dims, data };
}


/** What an ONNX value is while the graph is read: a node's output (per-sample shape), a constant, or the output of a node refused. */
type Value = { kind: 'node'; node: string; shape: Shape } | { kind: 'const'; dims: number[]; data: Float64Array } | { kind: 'refused' };

/** The op types read here; others are refused. */
const OPS = new Set(['Constant', 'Identity', 'Dropout', 'Relu', 'Conv', 'LRN', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'Flatten', 'Reshape', 'Gemm', 'MatMul', 'Add', 'Softmax', 'Concat']);

export function readOnnxModel(bytes: Uint8Array, source: string): OnnxModel {
  const fail = (why: string, code = 'MODEL'): never => {
    throw new OnnxError(code, `${source}: ${why}`);
  };
  let model: Onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    return fail(`not an ONNX model (${(e as Error).message})`, 'DECODE');
  }
  const g = model.graph ?? fail('no graph');
  const opset = int((model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version as Long | undefined, 'opset', fail);
  const known = new Map<string, Value>();
  for (const t of g.initializer ?? []) known.set(t.name ?? '', { kind: 'const', ...values(t, fail) });
  const inputs = (g.input ?? []).filter((i) => !known.has(i.name ?? ''));
  if (inputs.length !== 1) fail(`${inputs.length} graph inputs that are not initializers; one image batch expected`);
  const elem = inputs[0].type?.tensorType?.elemType;
  if (elem !== onnx.TensorProto.DataType.FLOAT) fail(`the input ${inputs[0].name} is of ONNX type ${elem}; float32 (1) expected`);
  const dims = inputs[0].type?.tensorType?.shape?.dim ?? [];
  const inputShape = dims.slice(1).map((d) => int(d.dimValue as Long | undefined, 'input dimension', fail));
  if (dims.length < 2 || inputShape.some((d) => d <= 0)) fail(`the input ${inputs[0].name} is ${dims.map((d) => d.dimParam || String(d.dimValue)).join('x')}; a batch ([N, C, H, W] for images) with every size but N given expected`);

  const specs: NodeSpec[] = [{ name: 'data', op: { type: 'input', shape: inputShape } }];
  known.set(inputs[0].name!, { kind: 'node', node: 'data', shape: inputShape });
  const weights = new Map<string, Tensor>();
  const unsupported = new Map<string, string[]>();
  const used = new Set(['data']);
  let caffe = /caffe/i.test(model.producerName ?? '');

  /** A name for a layer: its weights' (features.0.weight -> features.0, conv1_w_0 -> conv1), else the node's, unique. */
  const nameOf = (node: Onnx.INodeProto, weight?: string): string => {
    const path = weight && (/^(.+)\.weight$/.exec(weight)?.[1] ?? /^(.+)_w_0$/.exec(weight)?.[1]);
    if (weight && /_w_0$/.test(weight)) caffe = true;
    const fromWeight = path && (torchvisionLayer(path) ?? path);
    // an identifier (our names become file and tensor names): /features/features.1/Relu -> features_features_1_Relu
    let base = (fromWeight || node.name || node.output?.[0] || node.opType || 'node').replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
    if (!/^[A-Za-z]/.test(base)) base = `n${base}`;
    if (used.has(base)) {
      let i = 2;
      while (used.has(`${base}_${i}`)) i++;
      base = `${base}_${i}`;
    }
    used.add(base);
    return base;
  };
  const attrs = (node: Onnx.INodeProto): Map<string, Onnx.IAttributeProto> => new Map((node.attribute ?? []).map((a) => [a.name ?? '', a]));
  const ints = (a: Map<string, Onnx.IAttributeProto>, name: string, fallback: number[]): number[] => (a.has(name) ? (a.get(name)!.ints ?? []).map((v) => int(v as number | Long, name, fail)) : fallback);
  const one = (a: Map<string, Onnx.IAttributeProto>, name: string, fallback: number): number => (a.has(name) ? int(a.get(name)!.i as Long | undefined, name, fail) : fallback);
  const real = (a: Map<string, Onnx.IAttributeProto>, name: string, fallback: number): number => (a.has(name) ? (a.get(name)!.f ?? fallback) : fallback);
  const text = (a: Map<string, Onnx.IAttributeProto>, name: string, fallback: string): string => (a.has(name) ? new TextDecoder().decode(a.get(name)!.s ?? new Uint8Array()) : fallback);

  for (const node of g.node ?? []) {
    const type = node.opType ?? '';
    const where = node.name || node.output?.[0] || '(unnamed)';
    const skip = (why: string): void => {
      unsupported.set(`${type} (${why})`, [...(unsupported.get(`${type} (${why})`) ?? []), where]);
      for (const out of node.output ?? []) known.set(out, { kind: 'refused' });
    };
    const input = (i: number): Value | undefined => (node.input?.[i] ? known.get(node.input[i]) : undefined);
    const x = input(0);
    if ((node.input ?? []).some((name) => known.get(name)?.kind === 'refused')) {
      // downstream of a refused node: refused itself only for its own op
      if (OPS.has(type)) for (const out of node.output ?? []) known.set(out, { kind: 'refused' });
      else skip('not in the op set');
      continue;
    }
    const a = attrs(node);
    const out = node.output?.[0] ?? fail(`node ${where} has no output`);
    const emit = (op: Op, name: string, from: string = (x as { node: string }).node): void => {
      specs.push({ name, op, inputs: [from] });
      const made = new Graph(specs); // the op's shape rules, checked now so an error names this node
      known.set(out, { kind: 'node', node: name, shape: made.node(name).shape });
    };
    if (type === 'Constant') {
      const t = a.get('value')?.t;
      if (t) known.set(out, { kind: 'const', ...values(t, fail) });
      else if (a.has('value_ints') || a.has('value_int')) {
        const v = a.has('value_ints') ? ints(a, 'value_ints', []) : [one(a, 'value_int', 0)];
        known.set(out, { kind: 'const', dims: a.has('value_ints') ? [v.length] : [], data: Float64Array.from(v) });
      } else skip('a constant other than a tensor or integers');
      continue;
    }
    if (!x) {
      skip(`its input ${node.input?.[0] ?? '(none)'} is not the output of a node read before it`);
      continue;
    }
    if (x.kind === 'const' && type !== 'Identity') {
      skip('it computes on constants (fold them before exporting)');
      continue;
    }
    const maps = x.kind === 'node' ? x.shape : [];
    switch (type) {
      case 'Identity':
        known.set(out, x);
        break;
      case 'Dropout':
        if (node.output!.length > 1 && node.output![1] && g.node!.some((n) => n.input?.includes(node.output![1]))) skip('its mask output is used');
        else emit({ type: 'dropout', p: real(a, 'ratio', input(1)?.kind === 'const' ? (input(1) as { data: Float64Array }).data[0] : 0.5) }, nameOf(node));
        break;
      case 'Relu':
        emit({ type: 'relu' }, nameOf(node));
        break;
      case 'Conv': {
        const w = input(1);
        if (w?.kind !== 'const' || w.dims.length !== 4) {
          skip('its weights are not a 4-d initializer');
          break;
        }
        if (ints(a, 'dilations', [1, 1]).some((d) => d !== 1)) {
          skip('dilations other than 1');
          break;
        }
        const groups = one(a, 'group', 1);
        if (maps.length !== 3 || groups < 1 || w.dims[1] * groups !== maps[0]) {
          skip(`weights for ${w.dims[1]} input channels per group (${groups} groups) on a ${shapeToString(maps)} input`);
          break;
        }
        const kernel: [number, number] = [w.dims[2], w.dims[3]];
        const stride = ints(a, 'strides', [1, 1]) as [number, number];
        const pad = pads(text(a, 'auto_pad', 'NOTSET'), ints(a, 'pads', [0, 0, 0, 0]), maps, kernel, stride);
        if (!pad) {
          skip(`auto_pad ${text(a, 'auto_pad', '')}`);
          break;
        }
        const name = nameOf(node, node.input![1]);
        const b = input(2);
        const channels = w.dims[0];
        weights.set(`${name}.weight`, tensor(w.dims, Float32Array.from(w.data)));
        weights.set(`${name}.bias`, b?.kind === 'const' && b.data.length === channels ? tensor([channels], Float32Array.from(b.data)) : tensor([channels]));
        emit({ type: 'conv2d', out: channels, kernel, stride, pad, groups }, name);
        break;
      }
      case 'LRN': {
        const size = one(a, 'size', 0);
        if (size % 2 === 0) {
          skip('an even size (its window is not centred)');
          break;
        }
        emit({ type: 'lrn', size, alpha: real(a, 'alpha', 1e-4), beta: real(a, 'beta', 0.75), k: real(a, 'bias', 1), alphaOverSize: true, groups: 1 }, nameOf(node));
        break;
      }
      case 'MaxPool':
      case 'AveragePool': {
        if (ints(a, 'dilations', [1, 1]).some((d) => d !== 1)) {
          skip('dilations other than 1');
          break;
        }
        if (type === 'MaxPool' && (node.output?.length ?? 0) > 1 && node.output![1]) {
          skip('its Indices output');
          break;
        }
        const kernel = ints(a, 'kernel_shape', []) as [number, number];
        const stride = ints(a, 'strides', [1, 1]) as [number, number];
        const pad = kernel.length === 2 ? pads(text(a, 'auto_pad', 'NOTSET'), ints(a, 'pads', [0, 0, 0, 0]), maps, kernel, stride) : undefined;
        if (!pad) {
          skip(kernel.length !== 2 ? 'a kernel that is not 2-d' : `auto_pad ${text(a, 'auto_pad', '')}`);
          break;
        }
        const ceil = one(a, 'ceil_mode', 0) === 1;
        emit(type === 'MaxPool' ? { type: 'maxpool2d', kernel, stride, pad, ceil } : { type: 'avgpool2d', kernel, stride, pad, ceil, countIncludePad: one(a, 'count_include_pad', 0) === 1 }, nameOf(node));
        break;
      }
      case 'GlobalAveragePool':
        emit({ type: 'adaptiveavgpool2d', out: 1 }, nameOf(node));
        break;
      case 'GlobalMaxPool':
        emit({ type: 'maxpool2d', kernel: [maps[1], maps[2]], stride: 1 }, nameOf(node));
        break;
      case 'Flatten':
        if (one(a, 'axis', 1) !== 1) skip(`axis ${one(a, 'axis', 1)} (only 1, keeping the batch, is a flatten)`);
        else emit({ type: 'flatten' }, nameOf(node));
        break;
      case 'Reshape': {
        const shape = input(1);
        const target = shape?.kind === 'const' ? Array.from(shape.data) : a.has('shape') ? ints(a, 'shape', []) : undefined;
        const flat = sizeOf(maps);
        // [0, -1], [-1, F], [1, -1] or [1, F] (the zoo's batch-1 files): a flatten that keeps the batch
        const [rows, cols] = target ?? [];
        if (target?.length === 2 && (cols === -1 || cols === flat) && [0, 1, -1].includes(rows) && !(rows === -1 && cols === -1)) emit({ type: 'flatten' }, nameOf(node));
        else skip(`to ${target ? `[${target.join(', ')}]` : 'a shape computed at run time'} (only [N, -1] is a flatten)`);
        break;
      }
      case 'Gemm':
      case 'MatMul': {
        const w = input(1);
        if (maps.length !== 1 || w?.kind !== 'const' || w.dims.length !== 2 || (type === 'Gemm' && one(a, 'transA', 0) !== 0)) {
          skip(maps.length !== 1 ? `a ${shapeToString(maps)} input (flatten it first)` : 'its weights are not a 2-d initializer, or transA');
          break;
        }
        // y = alpha · x·op(B) + beta · C, as our y = W x + b with W [out, in]
        const transB = type === 'Gemm' && one(a, 'transB', 0) === 1;
        const [rows, cols] = w.dims;
        const [inF, outF] = transB ? [cols, rows] : [rows, cols];
        if (inF !== maps[0]) {
          skip(`weights for ${inF} inputs on ${maps[0]}`);
          break;
        }
        const alpha = type === 'Gemm' ? real(a, 'alpha', 1) : 1;
        const weight = new Float32Array(outF * inF);
        for (let o = 0; o < outF; o++) for (let i = 0; i < inF; i++) weight[o * inF + i] = alpha * (transB ? w.data[o * cols + i] : w.data[i * cols + o]);
        const c = type === 'Gemm' ? input(2) : undefined;
        const beta = real(a, 'beta', 1);
        const bias = new Float32Array(outF);
        if (c?.kind === 'const') {
          if (c.data.length !== 1 && c.data.length !== outF) {
            skip(`a bias of ${c.data.length} values for ${outF} outputs`);
            break;
          }
          for (let o = 0; o < outF; o++) bias[o] = beta * c.data[c.data.length === 1 ? 0 : o];
        }
        const name = nameOf(node, node.input![1]);
        weights.set(`${name}.weight`, tensor([outF, inF], weight));
        weights.set(`${name}.bias`, tensor([outF], bias));
        emit({ type: 'linear', out: outF }, name);
        break;
      }
      case 'Add': {
        // MatMul + Add: the constant added to a linear layer's output is its bias
        const b = input(1);
        const last = specs.at(-1)!;
        if (last.op.type === 'linear' && x.kind === 'node' && x.node === last.name && b?.kind === 'const' && (b.data.length === 1 || b.data.length === last.op.out) && !g.node!.some((n) => n !== node && n.input?.includes(node.input![0]))) {
          const bias = weights.get(`${last.name}.bias`)!;
          for (let o = 0; o < bias.data.length; o++) bias.data[o] += b.data[b.data.length === 1 ? 0 : o];
          known.set(out, x);
        } else skip('other than a bias after MatMul');
        break;
      }
      case 'Softmax':
        if (maps.length !== 1) skip(`over a ${shapeToString(maps)} input`);
        else if (![1, -1].includes(one(a, 'axis', opset >= 13 ? -1 : 1))) skip(`axis ${one(a, 'axis', 1)}`);
        else emit({ type: 'softmax' }, nameOf(node));
        break;
      case 'Concat': {
        const parts = (node.input ?? []).map((n) => known.get(n));
        if (one(a, 'axis', 1) !== 1 || parts.some((p) => p?.kind !== 'node')) {
          skip('other than along channels, of node outputs');
          break;
        }
        const name = nameOf(node);
        specs.push({ name, op: { type: 'concat' }, inputs: parts.map((p) => (p as { node: string }).node) });
        known.set(out, { kind: 'node', node: name, shape: new Graph(specs).node(name).shape });
        break;
      }
      default:
        skip('not in the op set');
    }
  }
  if (unsupported.size) {
    fail(`the op set cannot express ${[...unsupported].map(([op, nodes]) => `${op}: ${nodes.slice(0, 4).join(', ')}${nodes.length > 4 ? ` and ${nodes.length - 4} more` : ''}`).join('; ')}`, 'UNSUPPORTED');
  }
  const outputs = (g.output ?? []).map((o) => known.get(o.name ?? ''));
  if (outputs.length !== 1 || outputs[0]?.kind !== 'node') fail(`${outputs.length} graph outputs; one, computed by the graph, expected`);
  // the graph ends at the model's output: nothing after it runs
  const end = specs.findIndex((s) => s.name === (outputs[0] as { node: string }).node);
  const graph = new Graph(specs.slice(0, end + 1));
  return { graph, weights, producer: model.producerName ?? '', opset, caffe, logits: graph.output.shape.length === 1 && graph.output.op.type !== 'softmax' };
}

/**
 * Explicit padding [top, left, bottom, right] for a window: ONNX's pads ([x1_begin, x2_begin,
 * x1_end, x2_end] is the same order in 2-d), or auto_pad's SAME_UPPER / SAME_LOWER (output =
 * ceil(input / stride), the odd pixel after or before) or VALID (none); undefined for anything else.
 */
function pads(auto: string, explicit: number[], maps: Shape, kernel: readonly [number, number], stride: readonly number[]): Pads | undefined {
  if (auto === 'NOTSET' || auto === '') return explicit.length === 4 && explicit.every((p) => p >= 0) ? [explicit[0], explicit[1], explicit[2], explicit[3]] : undefined;
  if (auto === 'VALID') return 0;
  if (auto !== 'SAME_UPPER' && auto !== 'SAME_LOWER') return undefined;
  const side = (size: number, k: number, s: number): [number, number] => {
    const total = Math.max(0, (Math.ceil(size / s) - 1) * s + k - size);
    const small = Math.floor(total / 2);
    return auto === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
  };
  const [t, b] = side(maps[1], kernel[0], stride[0]);
  const [l, r] = side(maps[2], kernel[1], stride[1]);
  return [t, l, b, r];
}

