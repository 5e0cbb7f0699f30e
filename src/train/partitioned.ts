// Training over the N-device partition (src/partition/), as the 2012 network trained over two GPUs.
// The partitioned graph's nodes run in order, each on its device's kernels with only that device's
// parameter shards. Every output is kept in the memory of its node's device (one Map per device),
// every gradient in the memory of the device holding its tensor. Only transfer nodes move data between
// devices, activations forward and their gradients back, and the bytes are counted; a node that
// reads a tensor living on another device is refused.
//
// Backward follows each op's rule as TrainingNetwork does; the partition's own ops differentiate
// generically: a concat into slices of its gradient, a slice into its gradient set among zeros, a
// transfer into a transfer back, and a tensor read by several nodes gets the float32 sum of theirs.
//
// On 1 and 2 devices the loss, probabilities and gradients are bit-identical to TrainingNetwork's.
// A layer whose outputs read the whole input (linear, conv with groups 1) has one half of its
// outputs on each device: each device's kernel call is one of the two half calls `layerBackward`
// makes, and the input's owner adds the half the other device sends back, a two-term float32 sum that
// is the same either way round. Layers split by groups are local. Dropout draws each layer's whole
// mask as TrainingNetwork does and gives each shard its channels. Not bit-identical, the same
// gradient to rounding: LRN across groups (bvlc), whose halos add their gradients in another order,
// and 4 or more devices, where a layer's input gradient sums more than two parts.
import { GraphError, PartitionError } from '../errors.js';
import type { Graph, GraphNode, OpOf } from '../graph/index.js';
import * as ref from '../backends/reference/kernels.js';
import type { Partitioned } from '../partition/index.js';
import { partition } from '../partition/index.js';
import type { Rng } from '../random.js';
import { uniform } from '../random.js';
import type { Shape, Tensor } from '../tensor.js';
import { concatAxis1, sizeOf, tensor } from '../tensor.js';
import { dropoutBackward, reluBackward, softmaxCrossEntropy } from './backward.js';
import type { Grads, TrainKernels } from './kernels.js';
import type { Params, StepResult, Trainer } from './network.js';
import { addHalves, channels, layerBackward, layerForward, shapeBackward } from './network.js';

export interface Traffic {
  /** transfers run */
  count: number;
  bytes: number;
}

export interface PartitionedStepResult extends StepResult {
  /** What crossed devices in this step (the whole batch): activations forward, their gradients backward. */
  readonly transferred: { readonly forward: Readonly<Traffic>; readonly backward: Readonly<Traffic> };
}

/** One device's memory: tensors by the name of the node that made them. */
type Memory = Map<string, Tensor>;

/** A dropout layer of the original graph and the channels [from, to) of it each of its shards holds. */
interface DropoutLayer {
  readonly op: OpOf<'dropout'>;
  readonly shape: Shape;
  readonly shards: readonly { readonly node: string; readonly from: number; readonly to: number }[];
}

export class PartitionedTrainingNetwork implements Trainer {
  readonly devices: number;
  /** Nodes with a parameter at or before them: the only tensors whose gradients backward computes. */
  private readonly needsGrad = new Set<string>();
  private readonly dropouts: DropoutLayer[];

  /**
   * `kernels[d]` runs device d's nodes. `split` defaults to partition(graph) over that many devices;
   * one made elsewhere must be of `graph` over as many.
   */
  constructor(
    readonly graph: Graph,
    readonly kernels: readonly TrainKernels[],
    readonly split: Partitioned = partition(graph, { devices: kernels.length }),
  ) {
    this.devices = kernels.length;
    if (split.devices !== this.devices) throw new PartitionError('DEVICES', `the partition is over ${split.devices} devices; ${this.devices} kernel sets were given, one per device`);
    if (graph.output.op.type !== 'softmax') throw new GraphError('NO_SOFTMAX', 'training needs a graph that ends in softmax (its loss is cross-entropy on the logits before it)');
    for (const node of split.graph.nodes) {
      if (node.params.length > 0 || node.inputs.some((i) => this.needsGrad.has(i))) this.needsGrad.add(node.name);
    }
    this.dropouts = graph.nodes.flatMap((node) => {
      if (node.op.type !== 'dropout') return [];
      const placement = split.layers.get(node.name)!;
      let from = 0;
      const shards = (placement.kind === 'whole' ? [placement.node] : placement.nodes).map((name) => {
        const to = from + split.graph.node(name).shape[0];
        const shard = { node: name, from, to };
        from = to;
        return shard;
      });
      return [{ op: node.op, shape: node.shape, shards }];
    });
  }

  /** Loss, probabilities and the gradient of every parameter of the original graph, by its name (training mode when `rng` is given). */
  step(x: Tensor, labels: Int32Array, params: Params, rng?: Rng): PartitionedStepResult {
    const { memory, shardParams, masks, forward } = this.forward(x, params, rng);
    const nodes = this.split.graph.nodes;
    const sink = this.split.graph.output;
    const { loss, prob, dlogits } = softmaxCrossEntropy(memory[sink.device].get(sink.inputs[0])!, labels);
    const shardGrads = new Map<string, Tensor>();
    const backward: Traffic = { count: 0, bytes: 0 };
    const gradients: Memory[] = this.kernels.map(() => new Map());
    /** Adds `g` to the gradient of tensor `name`, which must live on `device`. */
    const give = (device: number, name: string, g: Tensor): void => {
      if (!this.needsGrad.has(name)) return;
      if (!memory[device].has(name)) throw new PartitionError('NOT_RESIDENT', `the gradient of "${name}" arrived on device ${device}; "${name}" ${whereIs(memory, name)}: a transfer must take it back`);
      const had = gradients[device].get(name);
      gradients[device].set(name, had ? addHalves(had, g) : g);
    };
    give(sink.device, sink.inputs[0], dlogits);

    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i];
      const op = node.op;
      const d = op.type === 'transfer' ? op.to : node.device;
      const dy = gradients[d].get(node.name);
      if (!dy) continue;
      const mem = memory[d];
      const input = node.inputs[0];
      const a = mem.get(input)!;
      const k = this.kernels[d];
      switch (op.type) {
        case 'conv2d':
        case 'linear': {
          const w = shardParams[d].get(`${node.name}.weight`)!;
          const needDx = this.needsGrad.has(input);
          // one device holds whole layers and sums their input gradients by halves, as
          // TrainingNetwork does; on two, each device's shard is one of those halves
          const g: Grads = this.devices === 1 ? layerBackward(k, op, a, w, dy, needDx) : op.type === 'conv2d' ? k.conv2dBackward(op, a, w, dy, needDx) : k.linearBackward(a, w, dy);
          shardGrads.set(`${node.name}.weight`, g.dw);
          shardGrads.set(`${node.name}.bias`, g.db);
          if (needDx) give(d, input, g.dx!);
          break;
        }
        case 'relu':
          give(d, input, reluBackward(mem.get(node.name)!, dy));
          break;
        case 'dropout': {
          const mask = masks.get(node.name);
          give(d, input, mask ? dropoutBackward(mask, dy) : dy);
          break;
        }
        case 'concat': {
          let from = 0;
          for (const name of node.inputs) {
            const to = from + mem.get(name)!.shape[1];
            give(d, name, channels(dy, from, to));
            from = to;
          }
          break;
        }
        case 'slice':
          give(d, input, intoChannels(a.shape, op.from, dy));
          break;
        case 'transfer':
          give(op.from, input, move(dy, backward));
          break;
        default:
          give(d, input, shapeBackward(k, op, a, dy));
      }
    }
    return { loss, prob, grads: this.assemble(shardGrads), transferred: { forward, backward } };
  }

  /** Softmax outputs in inference mode (dropout off), [N, classes]. */
  predict(x: Tensor, params: Params): Tensor {
    const { memory } = this.forward(x, params);
    const sink = this.split.graph.output;
    return ref.softmax(memory[sink.device].get(sink.inputs[0])!);
  }

  /**
   * Every node's output in its device's memory, up to the logits gathered on device 0. With `rng`,
   * dropout is on, with the masks TrainingNetwork draws; without, dropout is the identity.
   */
  private forward(x: Tensor, params: Params, rng?: Rng): { memory: Memory[]; shardParams: Map<string, Tensor>[]; masks: Map<string, Float32Array>; forward: Traffic } {
    const shardParams = this.shard(params);
    const memory: Memory[] = this.kernels.map(() => new Map());
    const masks = rng ? this.drawMasks(x.shape[0], rng) : new Map<string, Float32Array>();
    const forward: Traffic = { count: 0, bytes: 0 };
    for (const node of this.split.graph.nodes) {
      const op = node.op;
      if (op.type === 'transfer') {
        memory[op.to].set(node.name, move(read(memory, op.from, node, node.inputs[0]), forward));
        continue;
      }
      const d = node.device;
      const k = this.kernels[d];
      const inputs = node.inputs.map((name) => read(memory, d, node, name));
      const [a] = inputs;
      const p = (kind: string): Tensor => shardParams[d].get(`${node.name}.${kind}`)!;
      const outShape = [x.shape[0], ...node.shape];
      let y: Tensor;
      switch (op.type) {
        case 'input':
          y = x;
          break;
        case 'relu':
          y = ref.relu(a);
          break;
        case 'dropout': {
          const mask = masks.get(node.name);
          y = mask ? tensor(a.shape, a.data.map((v, i) => v * mask[i])) : a;
          break;
        }
        case 'concat':
          y = concatAxis1(inputs);
          break;
        case 'slice':
          y = ref.slice(op, a, outShape);
          break;
        case 'softmax':
          continue; // the loss and `predict` take the logits it reads
        default:
          y = layerForward(k, node, a, p, outShape);
      }
      memory[d].set(node.name, y);
    }
    return { memory, shardParams, masks, forward };
  }

  /**
   * Each dropout shard's mask. TrainingNetwork draws one uniform per element of each dropout layer's
   * whole output, layer after layer in graph order, and nothing else draws from the step's PRNG: each
   * layer's whole mask is drawn here in that order, and each shard takes its channels of it.
   */
  private drawMasks(batch: number, rng: Rng): Map<string, Float32Array> {
    const masks = new Map<string, Float32Array>();
    for (const { op, shape, shards } of this.dropouts) {
      const keep = 1 / (1 - op.p);
      const whole = tensor([batch, ...shape]);
      for (let i = 0; i < whole.data.length; i++) whole.data[i] = uniform(rng) < op.p ? 0 : keep;
      for (const s of shards) masks.set(s.node, channels(whole, s.from, s.to).data);
    }
    return masks;
  }

  /** The parameters each device holds: its shards only. */
  private shard(params: Params): Map<string, Tensor>[] {
    const held: Map<string, Tensor>[] = this.kernels.map(() => new Map());
    for (const [name, t] of this.split.shardWeights(params)) held[this.split.graph.node(name.slice(0, name.lastIndexOf('.'))).device].set(name, t);
    return held;
  }

  /** The shards' gradients put back together as the original parameters: rows concatenated in device order. */
  private assemble(shardGrads: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
    const grads = new Map<string, Tensor>();
    for (const p of this.graph.params()) {
      const placement = this.split.layers.get(p.node)!;
      const whole = tensor(p.shape);
      let at = 0;
      for (const shard of placement.kind === 'whole' ? [placement.node] : placement.nodes) {
        const part = shardGrads.get(`${shard}.${p.kind}`)!.data;
        whole.data.set(part, at);
        at += part.length;
      }
      grads.set(p.name, whole);
    }
    return grads;
  }
}

/** `name` as read by `reader` on `device`: refused unless it is in that device's memory. */
function read(memory: readonly Memory[], device: number, reader: GraphNode, name: string): Tensor {
  const t = memory[device].get(name);
  if (!t) throw new PartitionError('NOT_RESIDENT', `node "${reader.name}" on device ${device} reads "${name}", which ${whereIs(memory, name)}: a transfer must bring it over`);
  return t;
}

function whereIs(memory: readonly Memory[], name: string): string {
  const owner = memory.findIndex((m) => m.has(name));
  return owner < 0 ? 'is on no device' : `lives on device ${owner}`;
}

/** A copy of `t` in another device's memory, its bytes counted in `traffic`. */
function move(t: Tensor, traffic: Traffic): Tensor {
  traffic.count++;
  traffic.bytes += t.data.byteLength;
  return tensor(t.shape, t.data.slice());
}

/** Zeros of `shape` ([N, C, ...]) with `g` at channels [from, from + g's channels): a slice's gradient. */
function intoChannels(shape: readonly number[], from: number, g: Tensor): Tensor {
  const out = tensor(shape);
  const n = shape[0];
  const per = sizeOf(shape) / n;
  const block = g.data.length / n;
  const offset = (from * per) / shape[1];
  for (let s = 0; s < n; s++) out.data.set(g.data.subarray(s * block, (s + 1) * block), s * per + offset);
  return out;
}
