// The reference backend: dispatches each node to its plain-loop kernel (kernels.ts).
import type { GraphNode } from '../../graph/index.js';
import type { Tensor } from '../../tensor.js';
import type { Backend } from '../backend.js';
import * as k from './kernels.js';

function run(node: GraphNode, [x]: readonly Tensor[], [w, b]: readonly Tensor[]): Tensor {
  const out = [x?.shape[0] ?? 0, ...node.shape];
  const { op } = node;
  switch (op.type) {
    case 'input':
      throw new Error('the input node is bound by the runtime, not run by a backend');
    case 'conv2d':
      return k.conv2d(op, x, w, b, out);
    case 'relu':
      return k.relu(x);
    case 'lrn':
      return k.lrn(op, x);
    case 'maxpool2d':
      return k.maxpool2d(op, x, out);
    case 'avgpool2d':
      return k.avgpool2d(op, x, out);
    case 'adaptiveavgpool2d':
      return k.adaptiveavgpool2d(x, out);
    case 'flatten':
      return k.flatten(x);
    case 'linear':
      return k.linear(x, w, b);
    case 'dropout':
      return x; // inference: the identity (dropout is inverted, so no rescaling at test time)
    case 'softmax':
      return k.softmax(x);
    default:
      return op satisfies never;
  }
}

export const referenceBackend: Backend = { name: 'reference', run };
