// The reference backend: each node runs its plain-loop kernel (kernels.ts) on host tensors.
import type { Graph, GraphNode } from '../../graph/index.js';
import type { Tensor } from '../../tensor.js';
import { concatAxis1 } from '../../tensor.js';
import type { Backend, Executor } from '../backend.js';
import * as k from './kernels.js';

function run(node: GraphNode, inputs: readonly Tensor[], [w, b]: readonly Tensor[]): Tensor {
  const [x] = inputs;
  const out = [x.shape[0], ...node.shape];
  const { op } = node;
  switch (op.type) {
    case 'input':
    case 'transfer':
      throw new Error(`a${op.type === 'input' ? 'n input' : ' transfer'} node is placed by place(), not run`);
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
    case 'concat':
      return concatAxis1(inputs);
    case 'slice':
      return k.slice(op, x, out);
    default:
      return op satisfies never;
  }
}

/** Host tensors are the handles: nothing to place, read or free. */
class ReferenceExecutor implements Executor<Tensor> {
  constructor(private readonly params: ReadonlyMap<string, readonly Tensor[]>) {}
  place = (_node: GraphNode, x: Tensor): Tensor => x;
  run = (node: GraphNode, inputs: readonly Tensor[]): Tensor => run(node, inputs, this.params.get(node.name) ?? []);
  read = (t: Tensor): Tensor => t;
  dispose(): void {}
}

export const referenceBackend: Backend = {
  name: 'reference',
  load: async (_graph: Graph, params) => new ReferenceExecutor(params),
};
