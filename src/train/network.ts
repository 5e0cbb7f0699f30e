// A graph run for training: forward keeping what each op's backward needs, softmax cross-entropy
// on the logits, then the chain rule back to every parameter. The graph is a chain (every AlexNet
// preset is); dropout masks come from the step's PRNG.
import { GraphError } from '../errors.js';
import type { Graph, GraphNode } from '../graph/index.js';
import * as ref from '../backends/reference/kernels.js';
import type { Rng } from '../random.js';
import { uniform } from '../random.js';
import type { Tensor } from '../tensor.js';
import { tensor } from '../tensor.js';
import { dropoutBackward, reluBackward, softmaxCrossEntropy } from './backward.js';
import type { TrainKernels } from './kernels.js';

export type Params = ReadonlyMap<string, Tensor>;

export interface StepResult {
  readonly loss: number;
  /** softmax of the logits, [N, classes] */
  readonly prob: Tensor;
  readonly grads: Params;
}

/** The nodes to run in order, checked to form a chain that ends in softmax. */
function chain(graph: Graph): GraphNode[] {
  const nodes = [...graph.nodes];
  nodes.forEach((node, i) => {
    if (i > 0 && (node.inputs.length !== 1 || node.inputs[0] !== nodes[i - 1].name)) {
      throw new GraphError('NOT_A_CHAIN', `training runs chains of ops; node "${node.name}" does not read only "${nodes[i - 1].name}" (train before partitioning)`);
    }
  });
  if (nodes.at(-1)?.op.type !== 'softmax') throw new GraphError('NO_SOFTMAX', 'training needs a graph that ends in softmax (its loss is cross-entropy on the logits before it)');
  return nodes;
}

export class TrainingNetwork {
  private readonly nodes: GraphNode[];

  constructor(
    readonly graph: Graph,
    readonly kernels: TrainKernels,
  ) {
    this.nodes = chain(graph);
  }

  /**
   * Every node's output for a batch (index 0: the input), up to the logits. With `rng`, dropout
   * draws its masks (inverted: kept values scaled by 1/(1-p)); without, dropout is the identity.
   */
  forward(x: Tensor, params: Params, rng?: Rng): { outputs: Tensor[]; masks: Map<string, Float32Array> } {
    const outputs = [x];
    const masks = new Map<string, Float32Array>();
    const k = this.kernels;
    for (const node of this.nodes.slice(1, -1)) {
      const a = outputs.at(-1)!;
      const p = (kind: string): Tensor => params.get(`${node.name}.${kind}`)!;
      const outShape = [a.shape[0], ...node.shape];
      const op = node.op;
      let y: Tensor;
      switch (op.type) {
        case 'conv2d':
          y = k.conv2d(op, a, p('weight'), p('bias'), outShape);
          break;
        case 'linear':
          y = k.linear(a, p('weight'), p('bias'));
          break;
        case 'relu':
          y = ref.relu(a);
          break;
        case 'lrn':
          y = k.lrn(op, a);
          break;
        case 'maxpool2d':
          y = k.maxpool2d(op, a, outShape);
          break;
        case 'flatten':
          y = ref.flatten(a);
          break;
        case 'dropout': {
          if (!rng) {
            y = a;
            break;
          }
          const keep = 1 / (1 - op.p);
          const mask = new Float32Array(a.data.length);
          y = tensor(a.shape);
          for (let i = 0; i < mask.length; i++) {
            mask[i] = uniform(rng) < op.p ? 0 : keep;
            y.data[i] = a.data[i] * mask[i];
          }
          masks.set(node.name, mask);
          break;
        }
        default:
          throw new GraphError('NOT_TRAINABLE', `training does not support op ${op.type} (node "${node.name}")`);
      }
      outputs.push(y);
    }
    return { outputs, masks };
  }

  /** Loss, probabilities and the gradient of every parameter for one batch (training mode when `rng` is given). */
  step(x: Tensor, labels: Int32Array, params: Params, rng?: Rng): StepResult {
    const { outputs, masks } = this.forward(x, params, rng);
    const { loss, prob, dlogits } = softmaxCrossEntropy(outputs.at(-1)!, labels);
    const grads = new Map<string, Tensor>();
    const k = this.kernels;
    let dy = dlogits;
    for (let i = this.nodes.length - 2; i >= 1; i--) {
      const node = this.nodes[i];
      const a = outputs[i - 1];
      const op = node.op;
      const p = (kind: string): Tensor => params.get(`${node.name}.${kind}`)!;
      switch (op.type) {
        case 'conv2d':
        case 'linear': {
          const g = op.type === 'conv2d' ? k.conv2dBackward(op, a, p('weight'), dy, i > 1) : k.linearBackward(a, p('weight'), dy);
          grads.set(`${node.name}.weight`, g.dw);
          grads.set(`${node.name}.bias`, g.db);
          dy = g.dx!;
          break;
        }
        case 'relu':
          dy = reluBackward(outputs[i], dy);
          break;
        case 'lrn':
          dy = k.lrnBackward(op, a, dy);
          break;
        case 'maxpool2d':
          dy = k.maxpool2dBackward(op, a, dy);
          break;
        case 'flatten':
          dy = tensor(a.shape, dy.data);
          break;
        case 'dropout': {
          const mask = masks.get(node.name);
          if (mask) dy = dropoutBackward(mask, dy);
          break;
        }
      }
      if (i === 1) break;
    }
    return { loss, prob, grads };
  }

  /** Softmax outputs in inference mode (dropout off), [N, classes]. */
  predict(x: Tensor, params: Params): Tensor {
    return ref.softmax(this.forward(x, params).outputs.at(-1)!);
  }
}
