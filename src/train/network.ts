// A graph run for training: forward keeping what each op's backward needs, softmax cross-entropy
// on the logits, then the chain rule back to every parameter. The graph is a chain (every AlexNet
// preset is); dropout masks come from the step's PRNG.
import { GraphError } from '../errors.js';
import type { Graph, GraphNode, Op, OpOf } from '../graph/index.js';
import * as ref from '../backends/reference/kernels.js';
import type { Rng } from '../random.js';
import { createRng, uniform } from '../random.js';
import { sampleSeed } from '../data/pipeline.js';
import type { Tensor } from '../tensor.js';
import { tensor } from '../tensor.js';
import { softmaxCrossEntropy } from './backward.js';
import type { Grads, TrainKernels } from './kernels.js';

export type Params = ReadonlyMap<string, Tensor>;

/** The PRNG of a training step's dropout masks: its own seed per step, apart from the samples' (sampleSeed). */
export const stepRng = (seed: number, epoch: number, step: number): Rng => createRng(sampleSeed(seed ^ 0x5bd1e995, epoch, step));

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

// In place: a fresh multi-megabyte buffer per ReLU, forward and backward, cost more to allocate and
// first touch than the loop itself.
function reluInPlace(x: Tensor): Tensor {
  const d = x.data;
  for (let i = 0; i < d.length; i++) if (!(d[i] > 0)) d[i] = 0;
  return x;
}

/** The gradient passes where the ReLU's output is positive (as reluBackward in backward.ts). */
function reluBackwardInPlace(y: Tensor, dy: Tensor): Tensor {
  const [yd, d] = [y.data, dy.data];
  for (let i = 0; i < d.length; i++) if (!(yd[i] > 0)) d[i] = 0;
  return dy;
}

/** Channels (axis 1) [from, to) of every sample. */
export function channels(t: Tensor, from: number, to: number): Tensor {
  return ref.slice({ type: 'slice', from, to }, t, [t.shape[0], to - from, ...t.shape.slice(2)]);
}

function rows(t: Tensor, from: number, to: number): Tensor {
  const row = t.data.length / t.shape[0];
  return tensor([to - from, ...t.shape.slice(1)], t.data.subarray(from * row, to * row));
}

/** The two halves of the output channels, [0, o/2) and [o/2, o): the 2012 network's two devices. */
const halves = (o: number): [number, number][] => [[0, o >> 1], [o >> 1, o]];

/** The float32 sum of two parts of one gradient: an input gradient's halves (lower + upper), or two readers' gradients. */
export function addHalves(lower: Tensor, upper: Tensor): Tensor {
  const dx = tensor(lower.shape);
  for (let i = 0; i < dx.data.length; i++) dx.data[i] = lower.data[i] + upper.data[i];
  return dx;
}

/**
 * Backward of a conv or linear layer. Where every output reads the whole input (linear, conv with
 * groups 1), the input gradient is summed from two parts, one per half of the output channels
 * (`halves`), each from its own kernel call, and added in float32. That is how the layer's backward
 * runs split over two devices (each holds one half and the input's owner adds the other's part),
 * and summing the same way here is what makes one device and two give the same bits.
 */
export function layerBackward(k: TrainKernels, op: OpOf<'conv2d'> | OpOf<'linear'>, x: Tensor, w: Tensor, dy: Tensor, needDx: boolean): Grads {
  const backward = (wPart: Tensor, dyPart: Tensor, dx: boolean): Grads => (op.type === 'conv2d' ? k.conv2dBackward(op, x, wPart, dyPart, dx) : k.linearBackward(x, wPart, dyPart));
  const whole = op.type === 'linear' || op.groups === 1;
  if (!whole || !needDx || w.shape[0] < 2) return backward(w, dy, needDx);
  const parts = halves(w.shape[0]).map(([from, to]) => backward(rows(w, from, to), channels(dy, from, to), true));
  return {
    dx: addHalves(parts[0].dx!, parts[1].dx!),
    dw: tensor(w.shape, concatRows(parts.map((g) => g.dw.data))),
    db: tensor([w.shape[0]], concatRows(parts.map((g) => g.db.data))),
  };
}

function concatRows(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** What the training loop drives: one device (TrainingNetwork) or the partition over two. */
export interface Trainer {
  /** Loss, probabilities and the gradient of every parameter for one batch (training mode when `rng` is given). */
  step(x: Tensor, labels: Int32Array, params: Params, rng?: Rng): StepResult;
  /** Softmax outputs in inference mode (dropout off), [N, classes]. */
  predict(x: Tensor, params: Params): Tensor;
}

/**
 * The forward of a layer that runs the same on one device or many: conv, linear, LRN, max-pool
 * (the kernels) and flatten. `p` gives the node's parameters (a device's shards when split).
 */
export function layerForward(k: TrainKernels, node: GraphNode, a: Tensor, p: (kind: 'weight' | 'bias') => Tensor, outShape: readonly number[]): Tensor {
  const op = node.op;
  switch (op.type) {
    case 'conv2d':
      return k.conv2d(op, a, p('weight'), p('bias'), outShape);
    case 'linear':
      return k.linear(a, p('weight'), p('bias'));
    case 'lrn':
      return k.lrn(op, a);
    case 'maxpool2d':
      return k.maxpool2d(op, a, outShape);
    case 'flatten':
      return ref.flatten(a);
    default:
      throw new GraphError('NOT_TRAINABLE', `training does not support op ${op.type} (node "${node.name}")`);
  }
}

/** The input gradient of LRN, max-pool and flatten (x their input, dy their output's gradient). */
export function shapeBackward(k: TrainKernels, op: Op, x: Tensor, dy: Tensor): Tensor {
  switch (op.type) {
    case 'lrn':
      return k.lrnBackward(op, x, dy);
    case 'maxpool2d':
      return k.maxpool2dBackward(op, x, dy);
    case 'flatten':
      return tensor(x.shape, dy.data);
    default:
      throw new GraphError('NOT_TRAINABLE', `no backward for op ${op.type}`);
  }
}

export class TrainingNetwork implements Trainer {
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
    for (const [i, node] of this.nodes.entries()) {
      if (i === 0 || i === this.nodes.length - 1) continue;
      const a = outputs.at(-1)!;
      const p = (kind: string): Tensor => params.get(`${node.name}.${kind}`)!;
      const outShape = [a.shape[0], ...node.shape];
      const op = node.op;
      let y: Tensor;
      switch (op.type) {
        case 'relu':
          // after a conv or linear layer, whose output no backward reads, in place
          y = ['conv2d', 'linear'].includes(this.nodes[i - 1].op.type) ? reluInPlace(a) : reluInPlace(tensor(a.shape, a.data.slice()));
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
          y = layerForward(k, node, a, p, outShape);
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
          const g = layerBackward(k, op, a, p('weight'), dy, i > 1);
          grads.set(`${node.name}.weight`, g.dw);
          grads.set(`${node.name}.bias`, g.db);
          dy = g.dx!;
          break;
        }
        case 'relu':
          dy = reluBackwardInPlace(outputs[i], dy);
          break;
        case 'dropout': {
          const mask = masks.get(node.name);
          if (mask) for (let j = 0; j < mask.length; j++) dy.data[j] *= mask[j];
          break;
        }
        default:
          dy = shapeBackward(k, op, a, dy);
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
