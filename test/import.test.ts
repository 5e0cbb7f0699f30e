// Real AlexNet weights in (issue 16): PyTorch state dicts (zip and legacy torch.save, float16,
// bfloat16, float64, strided views) and ONNX models (torch.onnx.export at opsets 9 and 17, the
// model zoo's Caffe2 conversion of bvlc_alexnet), against what PyTorch (float64) and onnxruntime
// compute on the same files; ONNX's own node tests (Debian's libonnx-testdata) on every backend;
// hostile pickles refused before anything runs. The fixtures are written by real PyTorch and onnx
// (test/fixtures/pytorch/make.py).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { OnnxError, PickleError, PytorchError } from '../src/errors.js';
import { readNpy } from '../src/io/index.js';
import { readOnnxModel } from '../src/io/onnx-import.js';
import { readPytorch } from '../src/io/pytorch.js';
import { describeNetwork, loadModel, loadNetwork } from '../src/model-file.js';
import { runGraph } from '../src/runtime/index.js';
import type { Tensor } from '../src/tensor.js';
import { relativeError, tensor } from '../src/tensor.js';
import { backends } from './backends.js';

const { onnx } = onnxProto;
const FIXTURES = fileURLToPath(new URL('./fixtures/pytorch/', import.meta.url));
const fixture = (name: string): Uint8Array => readFileSync(path.join(FIXTURES, name));
const file = (name: string) => ({ name, bytes: fixture(name) });
const quiet = (): void => {};

describe('PyTorch state dicts', () => {
  it('reads torch.save\'s zip and legacy formats to the same tensors, in torchvision\'s names', () => {
    const zip = readPytorch(fixture('tv16.pth'), 'tv16.pth');
    const legacy = readPytorch(fixture('tv16-legacy.pth'), 'tv16-legacy.pth');
    expect([...zip.keys()]).toEqual(['features.0.weight', 'features.0.bias', 'features.3.weight', 'features.3.bias', 'features.6.weight', 'features.6.bias', 'features.8.weight', 'features.8.bias', 'features.10.weight', 'features.10.bias', 'classifier.1.weight', 'classifier.1.bias', 'classifier.4.weight', 'classifier.4.bias', 'classifier.6.weight', 'classifier.6.bias']);
    expect(zip.get('features.0.weight')!.shape).toEqual([4, 3, 11, 11]);
    for (const [name, t] of zip) expect(Array.from(legacy.get(name)!.data), name).toEqual(Array.from(t.data));
  });

  it('converts float16, bfloat16 and float64 to float32, and honours strides and storage offsets', () => {
    const notices: string[] = [];
    const tensors = readPytorch(fixture('dtypes.pth'), 'dtypes.pth', (m) => notices.push(m));
    const expected = JSON.parse(readFileSync(path.join(FIXTURES, 'dtypes.json'), 'utf8')) as { values: Record<string, number[]>; shapes: Record<string, number[]> };
    for (const [name, values] of Object.entries(expected.values)) {
      const t = tensors.get(name)!;
      expect(t.shape, name).toEqual(expected.shapes[name]);
      // half and bfloat16 values are exact in float32; float64 ones round once
      expect(Array.from(t.data), name).toEqual(values.map(Math.fround));
    }
    expect(notices).toEqual(['converted float16 and bfloat16 and float64 tensors to float32']);
  });

  it('tells the preset from the shapes: torchvision at 1/16 width, 10 classes', () => {
    const net = loadNetwork({ weights: file('tv16.pth') }, quiet);
    expect(net.format).toBe('pytorch');
    expect(net.config).toEqual({ preset: 'torchvision', width: 1 / 16, classes: 10, inChannels: 3 });
    expect(describeNetwork(net)).toBe('torchvision at width 0.0625, 10 classes');
  });
});

/** The network's class scores (fc8, before any softmax) for the fixtures' input. */
async function logits(weights: string, backend = backends[0].backend): Promise<Tensor> {
  const net = loadNetwork({ weights: file(weights) }, quiet);
  const x = readNpy(fixture('tv16-input.npy'));
  const { activations } = await runGraph(net.graph, backend, net.weights, x, { keep: ['fc8'] });
  return activations.get('fc8')!;
}

describe.each(backends)('real files on the $name backend', ({ name, backend, networkTolerance }) => {
  const torch = readNpy(fixture('tv16-logits.npy'));
  for (const weights of ['tv16.pth', 'tv16-legacy.pth', 'tv16-opset9.onnx', 'tv16-opset17.onnx']) {
    it(`${weights}: the class scores PyTorch computes in float64`, async () => {
      const ours = await logits(weights, backend);
      expect(relativeError(ours.data, torch.data), name).toBeLessThanOrEqual(name === 'reference' ? 1e-5 : networkTolerance);
    });
  }

  it('the zoo\'s bvlc_alexnet (Caffe2): recognised as bvlc at 224 with Caffe\'s pooling, computing what onnxruntime does', async () => {
    const model = loadModel({ weights: file('bvlc16.onnx') }, quiet);
    expect(model.config).toEqual({ preset: 'bvlc', width: 1 / 16, classes: 10, inChannels: 3, inputSize: 224 });
    expect(model.spec.preprocessing).toMatchObject({ crop: 224, resize: 256, order: 'bgr', mean: [104.00698793, 116.66876762, 122.67891434] });
    const x = readNpy(fixture('tv16-input.npy'));
    const session = await ort.InferenceSession.create(path.join(FIXTURES, 'bvlc16.onnx'));
    const expected = (await session.run({ data_0: new ort.Tensor('float32', x.data, [1, 3, 224, 224]) })).prob_1.data as Float32Array;
    const { output } = await runGraph(model.graph, backend, model.weights, x);
    expect(relativeError(output.data, expected)).toBeLessThanOrEqual(name === 'reference' ? 1e-5 : networkTolerance);
  });
});

describe('ONNX models', () => {
  it('recognises a torch.onnx.export of torchvision\'s AlexNet as the preset, with its weights renamed', () => {
    for (const weights of ['tv16-opset9.onnx', 'tv16-opset17.onnx']) {
      const net = loadNetwork({ weights: file(weights) }, quiet);
      expect(net.config, weights).toEqual({ preset: 'torchvision', width: 1 / 16, classes: 10, inChannels: 3, inputSize: 224 });
      const pth = readPytorch(fixture('tv16.pth'), 'tv16.pth');
      expect(Array.from(net.weights.get('conv3.weight')!.data)).toEqual(Array.from(pth.get('features.6.weight')!.data));
    }
  });

  it('lists every op and node it cannot express, in one named error', () => {
    const h = onnx;
    const model = onnx.ModelProto.encode({
      irVersion: 7,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'g',
        input: [{ name: 'x', type: { tensorType: { elemType: h.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'n' }, { dimValue: 4 }] } } } }],
        output: [{ name: 'z', type: { tensorType: { elemType: h.TensorProto.DataType.FLOAT } } }],
        node: [
          { opType: 'Sigmoid', name: 'squash', input: ['x'], output: ['y'] },
          { opType: 'Tanh', name: 'bend', input: ['y'], output: ['z'] },
        ],
      },
    }).finish();
    expect(() => readOnnxModel(model, 'two.onnx')).toThrow(OnnxError);
    expect(() => readOnnxModel(model, 'two.onnx')).toThrow(/two\.onnx: the op set cannot express Sigmoid \(not in the op set\): squash; Tanh \(not in the op set\): bend/);
    expect(() => readOnnxModel(new Uint8Array([0xff, 0xff, 0xff]), 'junk.onnx')).toThrow(/junk\.onnx: not an ONNX model/);
  });
});

// ONNX's own node tests: each a one-node model with inputs and outputs. The inputs after the first
// become initializers (the op set takes weights, not second data inputs); a test the op set can
// express must pass on every backend, and the set that can is pinned, so an importer that stops
// expressing one fails here.
const NODE_TESTS = '/usr/share/libonnx-testdata/data/';
const haveNodeTests = existsSync(NODE_TESTS);
if (!haveNodeTests && !process.env.CI) console.warn(`ONNX node tests skipped: ${NODE_TESTS} is missing (Debian package libonnx-testdata)`);
const IN_SCOPE = /^test_(conv|maxpool|averagepool|globalaveragepool|globalmaxpool|lrn|gemm|relu|softmax|flatten|dropout|concat|matmul|reshape|identity|Conv2d|MaxPool2d|AvgPool2d|ReLU|Softmax)/i;
export const EXPRESSIBLE = [
  ...['averagepool_2d_ceil', 'averagepool_2d_default', 'averagepool_2d_pads', 'averagepool_2d_pads_count_include_pad', 'averagepool_2d_precomputed_pads', 'averagepool_2d_precomputed_pads_count_include_pad', 'averagepool_2d_precomputed_same_upper', 'averagepool_2d_precomputed_strides', 'averagepool_2d_same_lower', 'averagepool_2d_same_upper', 'averagepool_2d_strides'],
  ...['conv_with_autopad_same', 'conv_with_strides_and_asymmetric_padding', 'conv_with_strides_no_padding', 'conv_with_strides_padding'],
  ...['dropout_default', 'dropout_default_ratio', 'dropout_random_old', 'flatten_axis1', 'flatten_default_axis'],
  ...['gemm_alpha', 'gemm_beta', 'gemm_default_no_bias', 'gemm_default_scalar_bias', 'gemm_default_single_elem_vector_bias', 'gemm_default_vector_bias', 'gemm_default_zero_bias', 'gemm_transposeB'],
  ...['globalaveragepool', 'globalaveragepool_precomputed', 'globalmaxpool', 'globalmaxpool_precomputed', 'identity', 'lrn', 'lrn_default', 'matmul_2d'],
  ...['maxpool_2d_ceil', 'maxpool_2d_default', 'maxpool_2d_pads', 'maxpool_2d_precomputed_pads', 'maxpool_2d_precomputed_same_upper', 'maxpool_2d_precomputed_strides', 'maxpool_2d_same_lower', 'maxpool_2d_same_upper', 'maxpool_2d_strides'],
  ...['relu', 'softmax_example', 'softmax_large_number'],
].map((n) => `node/test_${n}`).concat(
  ['AvgPool2d', 'AvgPool2d_stride', 'Conv2d', 'Conv2d_depthwise', 'Conv2d_depthwise_padded', 'Conv2d_depthwise_strided', 'Conv2d_depthwise_with_multiplier', 'Conv2d_groups', 'Conv2d_groups_thnn', 'Conv2d_no_bias', 'Conv2d_padding', 'Conv2d_strided', 'MaxPool2d', 'ReLU', 'Softmax', 'softmax_lastdim'].map((n) => `pytorch-converted/test_${n}`),
);

interface NodeTest {
  readonly id: string;
  readonly model: Uint8Array;
  readonly input: Tensor;
  readonly output: Tensor;
}

function floats(t: ReturnType<typeof onnx.TensorProto.decode>): Float32Array {
  const raw = t.rawData;
  return raw && raw.length ? new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)) : Float32Array.from(t.floatData ?? []);
}

/** Every in-scope test with a data set, its extra inputs folded into initializers. */
export function nodeTests(): NodeTest[] {
  const tests: NodeTest[] = [];
  for (const suite of ['node', 'pytorch-converted']) {
    for (const name of readdirSync(NODE_TESTS + suite).filter((n) => IN_SCOPE.test(n)).sort()) {
      const dir = `${NODE_TESTS}${suite}/${name}/`;
      if (!existsSync(`${dir}test_data_set_0`)) continue;
      const set = readdirSync(`${dir}test_data_set_0`).sort();
      const read = (f: string) => onnx.TensorProto.decode(readFileSync(`${dir}test_data_set_0/${f}`));
      const inputs = set.filter((f) => f.startsWith('input')).map(read);
      const [output] = set.filter((f) => f.startsWith('output')).map(read);
      // images and class scores are float32: a test on other data (uint8, int64) is out of scope
      if (inputs[0].dataType !== onnx.TensorProto.DataType.FLOAT || output.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
      // ...and so are sequences and optionals, whose data sets are no TensorProtos
      const count = (t: typeof output): number => (t.dims ?? []).map(Number).reduce((a, b) => a * b, 1);
      if (floats(inputs[0]).length !== count(inputs[0]) || floats(output).length !== count(output)) continue;
      const model = onnx.ModelProto.decode(readFileSync(`${dir}model.onnx`));
      const g = model.graph!;
      const initialised = new Set((g.initializer ?? []).map((i) => i.name));
      const feeds = (g.input ?? []).filter((i) => !initialised.has(i.name));
      feeds.slice(1).forEach((f, i) => g.initializer!.push({ ...inputs[i + 1], name: f.name }));
      tests.push({
        id: `${suite}/${name}`,
        model: onnx.ModelProto.encode(model).finish(),
        input: tensor(inputs[0].dims!.map(Number), floats(inputs[0])),
        output: tensor(output.dims!.map(Number), floats(output)),
      });
    }
  }
  return tests;
}

describe.skipIf(!haveNodeTests && !process.env.CI)('ONNX\'s node tests (libonnx-testdata)', () => {
  const tests = haveNodeTests ? nodeTests() : [];
  const expressible = tests.filter((t) => {
    try {
      readOnnxModel(t.model, t.id);
      return true;
    } catch (e) {
      if (!(e instanceof OnnxError)) throw e;
      return false;
    }
  });

  it('can express exactly these (the README lists the rest and why)', () => {
    expect(tests.length).toBeGreaterThan(150);
    expect(expressible.map((t) => t.id)).toEqual(EXPRESSIBLE);
  });

  it.each(backends)('each one it can express passes on the $name backend', async ({ backend, opTolerance }) => {
    for (const t of expressible) {
      const m = readOnnxModel(t.model, t.id);
      const { output } = await runGraph(m.graph, backend, m.weights, t.input);
      expect(output.shape, t.id).toEqual(t.output.shape);
      expect(relativeError(output.data, t.output.data), t.id).toBeLessThanOrEqual(opTolerance);
    }
  });
});

/** A pickle, opcode by opcode: strings as their UTF-8 bytes, numbers as bytes. */
function pickle(...parts: (string | number | number[])[]): Uint8Array {
  const bytes: number[] = [];
  for (const p of parts) {
    if (typeof p === 'string') bytes.push(...new TextEncoder().encode(p));
    else if (typeof p === 'number') bytes.push(p);
    else bytes.push(...p);
  }
  return Uint8Array.from(bytes);
}

/** A torch.save zip archive around `data.pkl`, with these storages. */
function archive(pkl: Uint8Array, storages: Record<string, Uint8Array> = {}): Uint8Array {
  return zipSync({ 'archive/data.pkl': pkl, 'archive/version': new TextEncoder().encode('3\n'), ...Object.fromEntries(Object.entries(storages).map(([k, v]) => [`archive/data/${k}`, v])) }, { level: 0 });
}

const PROTO = [0x80, 2];
const STOP = 0x2e;
const u32 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];

describe('hostile pickles', () => {
  const sentinel = path.join(tmpdir(), `alexnet-pwned-${process.pid}`);
  const cases: [string, Uint8Array, RegExp][] = [
    ['a GLOBAL of os.system, then REDUCE', archive(pickle(PROTO, 'cos\nsystem\n', 'X', u32(16 + sentinel.length), `touch ${sentinel}`, 0x85, 'R', STOP)), /refused global os\.system/],
    ['a GLOBAL of builtins.eval', archive(pickle(PROTO, 'cbuiltins\neval\n', 'X', u32(4), '1+1;', 0x85, 'R', STOP)), /refused global builtins\.eval/],
    ['STACK_GLOBAL of posix.system', archive(pickle([0x80, 4], 0x8c, 5, 'posix', 0x8c, 6, 'system', 0x93, STOP)), /refused global posix\.system/],
    ['INST', archive(pickle(PROTO, '(', 'ios\nsystem\n', STOP)), /opcode 0x69 is not allowed/],
    ['OBJ', archive(pickle(PROTO, '(', 'ccollections\nOrderedDict\n', 'o', STOP)), /opcode 0x6f is not allowed/],
    ['a whole pickled module', archive(pickle(PROTO, 'ctorchvision.models.alexnet\nAlexNet\n', ')', 0x81, STOP)), /refused global torchvision\.models\.alexnet\.AlexNet.*save model\.state_dict\(\)/],
    ['REDUCE of an allowed type that is no function', archive(pickle(PROTO, 'ctorch\nFloatStorage\n', ')', 'R', STOP)), /torch\.FloatStorage is a type, not something to call/],
    ['BUILD on something other than a dict', archive(pickle(PROTO, ']', '}', 'b', STOP)), /BUILD sets state on something other than a dict/],
    ['MARKs nested past the limit', archive(pickle(PROTO, ...new Array(1001).fill(0x28), STOP)), /over 1000 MARKs open/],
    ['a huge memo index', archive(pickle(PROTO, 'j', u32(0xfffffff0), STOP)), /memo index 4294967280 was never stored/],
    ['a 64-byte-plus integer', archive(pickle(PROTO, 0x8b, u32(1 << 30), STOP)), /integer: no size or offset needs that many/],
    ['a string longer than the file', archive(pickle(PROTO, 'X', u32(1 << 30), STOP)), /needs 1073741824 bytes/],
  ];
  it.each(cases)('%s: a named error, and nothing runs', (_what, bytes, message) => {
    let error: unknown;
    try {
      readPytorch(bytes, 'evil.pth');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PickleError);
    expect((error as Error).message).toMatch(message);
    expect(existsSync(sentinel)).toBe(false);
  });

  it('a storage that reaches past its data, or is missing, is refused by name', () => {
    // OrderedDict([('w', _rebuild_tensor_v2(storage '0' of 4 floats, offset 2, size (3,), stride (1,), False, OrderedDict()))])
    const tensorPickle = (numel: number, offset: number, size: number) =>
      pickle(PROTO, 'ccollections\nOrderedDict\n', ')', 'R', 'X', u32(1), 'w', 'ctorch._utils\n_rebuild_tensor_v2\n', '(', '(', 'X', u32(7), 'storage', 'ctorch\nFloatStorage\n', 'X', u32(1), '0', 'X', u32(3), 'cpu', 'J', u32(numel), 't', 'Q', 'J', u32(offset), 'J', u32(size), 0x85, 'K', 1, 0x85, 0x89, 'ccollections\nOrderedDict\n', ')', 'R', 't', 'R', 's', STOP);
    const four = new Uint8Array(16);
    expect(readPytorch(archive(tensorPickle(4, 1, 3), { 0: four }), 'ok.pth').get('w')!.shape).toEqual([3]);
    expect(() => readPytorch(archive(tensorPickle(4, 2, 3), { 0: four }), 'past.pth')).toThrow(/tensor "w" reaches element 4 of a 4-element storage/);
    expect(() => readPytorch(archive(tensorPickle(8, 0, 3), { 0: four }), 'short.pth')).toThrow(/storage 0 holds 16 bytes; 8 float32 values need 32/);
    expect(() => readPytorch(archive(tensorPickle(4, 0, 3)), 'missing.pth')).toThrow(/storage 0 has no entry archive\/data\/0/);
    expect(() => readPytorch(archive(tensorPickle(4, 0, 3)), 'missing.pth')).toThrow(PytorchError);
  });
});
