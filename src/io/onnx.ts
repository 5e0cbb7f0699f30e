// Writes a graph and its weights as an ONNX model (opset 13), so that other runtimes (onnxruntime,
// in the benchmark) run exactly the network this project runs. The protobuf encoding is
// onnx-proto's; the mapping from our ops to ONNX's is here. Dropout is omitted (the identity at
// inference); an LRN with groups, or an adaptive pool that is not a fixed pool, has no single ONNX
// op and is refused.
import onnxProto from 'onnx-proto'; // CommonJS: its namespace comes as the default export
import type { onnx as Onnx } from 'onnx-proto';
import { UsageError } from '../errors.js';
import type { Graph, GraphNode, Window } from '../graph/index.js';
import { windowOf } from '../graph/index.js';
import type { Tensor } from '../tensor.js';

const { onnx } = onnxProto;

type Attribute = Onnx.IAttributeProto;
const ints = (name: string, values: number[]): Attribute => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: values });
const int = (name: string, value: number): Attribute => ({ name, type: onnx.AttributeProto.AttributeType.INT, i: value });
const float = (name: string, value: number): Attribute => ({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value });

function refuse(node: GraphNode, why: string): never {
  throw new UsageError('ONNX_EXPORT', `node "${node.name}" (${node.op.type}) cannot be exported to ONNX: ${why}`);
}

/** kernel_shape, strides and pads (ONNX's order: [top, left, bottom, right]). */
function windowAttributes(w: Window): Attribute[] {
  return [ints('kernel_shape', [w.kh, w.kw]), ints('strides', [w.sh, w.sw]), ints('pads', [w.top, w.left, w.bottom, w.right])];
}

/** The ONNX node computing `node` from `input`, or undefined for an identity. */
function toOnnxNode(node: GraphNode, input: string): Onnx.INodeProto | undefined {
  const { op, name } = node;
  const inputs = node.params.length ? [input, `${name}.weight`, `${name}.bias`] : [input];
  const make = (opType: string, attribute: Attribute[] = []): Onnx.INodeProto => ({ name, opType, input: inputs, output: [name], attribute });
  switch (op.type) {
    case 'input':
    case 'dropout':
      return undefined;
    case 'conv2d':
      return make('Conv', [...windowAttributes(windowOf(op)), int('group', op.groups)]);
    case 'relu':
      return make('Relu');
    case 'lrn':
      if (op.groups !== 1) refuse(node, 'ONNX LRN normalises across all channels; this one has groups');
      // ONNX divides alpha by size; the paper form does not, so scale it up to compensate.
      return make('LRN', [int('size', op.size), float('alpha', op.alphaOverSize ? op.alpha : op.alpha * op.size), float('beta', op.beta), float('bias', op.k)]);
    case 'maxpool2d': {
      const win = windowOf(op);
      return make('MaxPool', [...windowAttributes(win), int('ceil_mode', win.ceil ? 1 : 0)]);
    }
    case 'avgpool2d': {
      const win = windowOf(op);
      return make('AveragePool', [...windowAttributes(win), int('ceil_mode', win.ceil ? 1 : 0), int('count_include_pad', op.countIncludePad ? 1 : 0)]);
    }
    case 'adaptiveavgpool2d': {
      const [, h, w] = node.inputShapes[0];
      if (h % op.out !== 0 || w % op.out !== 0) refuse(node, `${h}x${w} -> ${op.out}x${op.out} is not a fixed pool`);
      return make('AveragePool', [ints('kernel_shape', [h / op.out, w / op.out]), ints('strides', [h / op.out, w / op.out])]);
    }
    case 'flatten':
      return make('Flatten', [int('axis', 1)]);
    case 'linear':
      return make('Gemm', [int('transB', 1)]);
    case 'softmax':
      return make('Softmax', [int('axis', 1)]);
    case 'concat':
    case 'slice':
    case 'transfer':
      return refuse(node, 'a partitioned graph is not exported; export the model before partitioning');
    default:
      return op satisfies never;
  }
}

export function writeOnnx(graph: Graph, weights: ReadonlyMap<string, Tensor>): Uint8Array {
  const nodes: Onnx.INodeProto[] = [];
  const produced = new Map<string, string>(); // our node -> the ONNX value holding its output
  for (const node of graph.nodes) {
    const input = node.inputs.length ? produced.get(node.inputs[0])! : node.name;
    const made = toOnnxNode(node, input);
    if (made) nodes.push(made);
    produced.set(node.name, made ? node.name : input);
  }
  const valueInfo = (name: string, shape: readonly number[]): Onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, ...shape.map((d) => ({ dimValue: d }))] } } },
  });
  const initializer: Onnx.ITensorProto[] = graph.params().map((p) => {
    const t = weights.get(p.name)!;
    return { name: p.name, dims: [...t.shape], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) };
  });
  const model: Onnx.IModelProto = {
    irVersion: 7,
    producerName: 'alexnet-ts',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'alexnet',
      node: nodes,
      initializer,
      input: [valueInfo(graph.input.name, graph.input.shape)],
      output: [valueInfo(produced.get(graph.output.name)!, graph.output.shape)],
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
