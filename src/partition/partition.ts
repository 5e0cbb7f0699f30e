// The N-device partition: a graph pass that splits every layer over the channel axis (features for
// FC layers), as the 2012 network was split over two GPUs, and makes every byte that crosses
// devices an explicit transfer node. Each op kind has a rule:
//   conv, groups % N == 0     local: each device takes its groups; input sharded the same way
//   conv, N % groups == 0     each device takes 1/N of the output channels, reading its group's
//                             input channels whole (all of them when groups = 1): an all-gather
//   linear                    1/N of the output features, from the whole input (an all-gather)
//   LRN, groups % N == 0      local
//   LRN, N % groups == 0      local plus a halo: floor(n/2) channels from each neighbour in the group
//   ReLU, pools, dropout,     local, on each shard (flatten keeps a shard's features contiguous,
//   flatten                   as they are C-major)
//   softmax, the output       gathered on device 0
// A shard computes each of its outputs exactly as the whole layer does (same inputs, same order of
// summation), which is why a partitioned graph is bit-identical to the unpartitioned one.
import { PartitionError } from '../errors.js';
import { Graph } from '../graph/index.js';
import { defOf } from '../graph/index.js';
import type { GraphNode, NodeSpec, Op } from '../graph/index.js';
import type { Tensor } from '../tensor.js';
import { concatAxis1, sizeOf, tensor } from '../tensor.js';

/** Why data crosses devices. */
export type TransferReason = 'broadcast' | 'scatter' | 'all-gather' | 'halo' | 'gather';

export interface Transfer {
  /** The transfer node in the partitioned graph. */
  readonly node: string;
  readonly from: number;
  readonly to: number;
  readonly bytesPerSample: number;
  /** The layer of the original graph that needed the data. */
  readonly layer: string;
  readonly reason: TransferReason;
}

/** Where a layer's output lives: split over all devices (in device order), or whole on one. */
export type Placement = { readonly kind: 'sharded'; readonly nodes: readonly string[] } | { readonly kind: 'whole'; readonly node: string; readonly device: number };

export interface Partitioned {
  readonly devices: number;
  /** Every node placed on a device; cross-device edges are transfer nodes. */
  readonly graph: Graph;
  /** Each layer of the original graph -> the nodes holding its output. */
  readonly layers: ReadonlyMap<string, Placement>;
  readonly transfers: readonly Transfer[];
  /** The original parameters, sliced for the shards that hold them. */
  shardWeights(weights: ReadonlyMap<string, Tensor>): Map<string, Tensor>;
}

export function partition(original: Graph, { devices: n }: { devices: number }): Partitioned {
  if (!(Number.isSafeInteger(n) && n >= 1)) throw new PartitionError('DEVICES', `devices must be a positive integer, got ${n}`);
  const specs: NodeSpec[] = [];
  const shapes = new Map<string, readonly number[]>(); // per-sample shape of every node made so far
  const placements = new Map<string, Placement>();
  const transfers: Transfer[] = [];
  /** Shard node -> the layer and the rows [from, to) of its parameters. */
  const paramRows = new Map<string, { layer: string; from: number; to: number }>();
  /** `node@device` (or `layer#all@device`) -> a node on that device holding the same tensor. */
  const copies = new Map<string, string>();
  const deviceOf = new Map<string, number>();

  /** Appends a node on `device` (named `base`, or `base_2`... if taken) and returns its name. */
  const put = (base: string, op: Op, inputs: string[], device: number): string => {
    let name = base;
    for (let i = 2; deviceOf.has(name); i++) name = `${base}_${i}`;
    specs.push({ name, op, inputs, device });
    const inShapes = inputs.map((i) => shapes.get(i)!);
    // the op's own shape rule; the Graph built at the end checks everything again
    shapes.set(name, defOf(op).outputShape(op, inShapes[0] ?? [], inShapes));
    deviceOf.set(name, device);
    return name;
  };
  /** `node` available on `device`: itself, or a transfer of it (made once). */
  const onDevice = (node: string, device: number, layer: string, reason: TransferReason): string => {
    const from = deviceOf.get(node)!;
    if (from === device) return node;
    const key = `${node}@${device}`;
    let copy = copies.get(key);
    if (!copy) {
      copy = put(`${node}_to_d${device}`, { type: 'transfer', from, to: device }, [node], device);
      copies.set(key, copy);
      transfers.push({ node: copy, from, to: device, bytesPerSample: sizeOf(shapes.get(copy)!) * 4, layer, reason });
    }
    return copy;
  };
  const fail = (node: GraphNode, why: string): never => {
    throw new PartitionError('UNSPLITTABLE', `layer "${node.name}" (${node.op.type}) cannot be split over ${n} devices: ${why}`);
  };
  const divisible = (node: GraphNode, what: string, count: number): void => {
    if (count % n !== 0) fail(node, `its ${count} ${what} are not divisible by ${n}`);
  };

  /**
   * The tensor of layer `layer` whole on `device`: all-gathered from its shards, or moved (a
   * broadcast). `gather` marks the collection of a result on device 0.
   */
  const wholeOn = (layer: string, device: number, consumer: string, gather = false): string => {
    const p = placements.get(layer)!;
    const reason: TransferReason = gather ? 'gather' : p.kind === 'whole' ? 'broadcast' : 'all-gather';
    if (p.kind === 'whole') return onDevice(p.node, device, consumer, reason);
    const key = `${layer}#all@${device}`;
    let gathered = copies.get(key);
    if (!gathered) {
      gathered = put(`${consumer}_in_d${device}`, { type: 'concat' }, p.nodes.map((s) => onDevice(s, device, consumer, reason)), device);
      copies.set(key, gathered);
    }
    return gathered;
  };
  /** Channels [from, to) of layer `layer` on `device`, from the shards (or whole tensor) that hold them. */
  const channelsOn = (layer: string, from: number, to: number, device: number, consumer: string, reason: TransferReason): string => {
    const p = placements.get(layer)!;
    const cut = (node: string, a: number, b: number): string => {
      const size = shapes.get(node)![0];
      return a === 0 && b === size ? node : put(`${node}_ch${a}_${b}`, { type: 'slice', from: a, to: b }, [node], deviceOf.get(node)!);
    };
    if (p.kind === 'whole') return onDevice(cut(p.node, from, to), device, consumer, reason);
    const per = shapes.get(p.nodes[0])![0];
    const parts: string[] = [];
    for (let d = Math.floor(from / per); d * per < to; d++) {
      parts.push(onDevice(cut(p.nodes[d], Math.max(from, d * per) - d * per, Math.min(to, (d + 1) * per) - d * per), device, consumer, reason));
    }
    return parts.length === 1 ? parts[0] : put(`${consumer}_in_d${device}`, { type: 'concat' }, parts, device);
  };
  const shardName = (layer: string, d: number): string => (n === 1 ? layer : `${layer}_d${d}`);
  const sharded = (layer: string, nodes: string[]): void => void placements.set(layer, n === 1 ? { kind: 'whole', node: nodes[0], device: 0 } : { kind: 'sharded', nodes });

  for (const node of original.nodes) {
    const { op, name } = node;
    const source = node.inputs[0];
    const input = source === undefined ? undefined : placements.get(source)!;
    const channels = node.inputShapes[0]?.[0] ?? 0;
    switch (op.type) {
      case 'input': {
        const made = put(name, op, [], 0);
        placements.set(name, { kind: 'whole', node: made, device: 0 });
        break;
      }
      case 'conv2d':
      case 'linear': {
        const groups = op.type === 'conv2d' ? op.groups : 1;
        divisible(node, 'output channels', op.out);
        if (groups % n !== 0 && n % groups !== 0) fail(node, `its ${groups} groups and ${n} devices: one must divide the other`);
        const per = op.out / n;
        // every device's input first (the transfers), then the shards: a device never waits for
        // another to finish computing before it is sent what it needs
        const inputs = Array.from({ length: n }, (_, d) => {
          if (op.type === 'conv2d' && groups % n === 0) {
            divisible(node, 'input channels', channels);
            return channelsOn(source, (d * channels) / n, ((d + 1) * channels) / n, d, name, 'scatter');
          }
          if (op.type === 'conv2d' && groups > 1) {
            const group = Math.floor((d * groups) / n); // N % groups == 0: this device's outputs lie in one group
            return channelsOn(source, (group * channels) / groups, ((group + 1) * channels) / groups, d, name, 'all-gather');
          }
          return wholeOn(source, d, name);
        });
        const shardOp: Op = op.type === 'linear' ? { ...op, out: per } : { ...op, out: per, groups: groups % n === 0 ? groups / n : 1 };
        const nodes = inputs.map((from, d) => {
          const made = put(shardName(name, d), shardOp, [from], d);
          paramRows.set(made, { layer: name, from: d * per, to: (d + 1) * per });
          return made;
        });
        sharded(name, nodes);
        break;
      }
      case 'lrn': {
        if (input!.kind === 'whole') {
          placements.set(name, { kind: 'whole', node: put(name, op, [input!.node], input!.device), device: input!.device });
          break;
        }
        const shards = input!.nodes;
        const per = channels / n;
        if (op.groups % n === 0) {
          sharded(name, shards.map((s, d) => put(shardName(name, d), { ...op, groups: op.groups / n }, [s], d)));
          break;
        }
        if (n % op.groups !== 0) fail(node, `its ${op.groups} groups and ${n} devices: one must divide the other`);
        const halo = Math.floor(op.size / 2);
        if (halo > per) fail(node, `a halo of ${halo} channels is wider than a device's ${per}`);
        const perGroup = n / op.groups; // devices per LRN group
        // the halos first, both ways, then each device's normalisation
        const halos = shards.map((_, d) => ({
          before: d % perGroup === 0 ? [] : [onDevice(put(`${shards[d - 1]}_halo_d${d}`, { type: 'slice', from: per - halo, to: per }, [shards[d - 1]], d - 1), d, name, 'halo')],
          after: d % perGroup === perGroup - 1 ? [] : [onDevice(put(`${shards[d + 1]}_halo_d${d}`, { type: 'slice', from: 0, to: halo }, [shards[d + 1]], d + 1), d, name, 'halo')],
        }));
        sharded(
          name,
          shards.map((own, d) => {
            const { before, after } = halos[d];
            if (!before.length && !after.length) return put(shardName(name, d), { ...op, groups: 1 }, [own], d);
            // the window then stops where the extended input does: at the group's edges, like the whole layer's
            const extended = put(`${name}_ext_d${d}`, { type: 'concat' }, [...before, own, ...after], d);
            const normed = put(`${name}_ext_out_d${d}`, { ...op, groups: 1 }, [extended], d);
            const skip = before.length ? halo : 0;
            return put(shardName(name, d), { type: 'slice', from: skip, to: skip + per }, [normed], d);
          }),
        );
        break;
      }
      case 'relu':
      case 'dropout':
      case 'maxpool2d':
      case 'avgpool2d':
      case 'adaptiveavgpool2d':
      case 'flatten': {
        if (input!.kind === 'whole') {
          placements.set(name, { kind: 'whole', node: put(name, op, [input!.node], input!.device), device: input!.device });
        } else {
          if (op.type === 'flatten') divisible(node, 'channels', channels);
          sharded(name, input!.nodes.map((s, d) => put(shardName(name, d), op, [s], d)));
        }
        break;
      }
      case 'softmax': {
        const made = put(name, op, [wholeOn(source, 0, name, true)], 0);
        placements.set(name, { kind: 'whole', node: made, device: 0 });
        break;
      }
      case 'concat':
      case 'slice':
      case 'transfer':
        throw new PartitionError('ALREADY_PARTITIONED', `node "${name}" (${op.type}) is a partition's own op: partition the model, not a partitioned graph`);
      default:
        op satisfies never;
    }
  }
  // the result ends whole on device 0, as the unpartitioned graph's output is on the host
  const last = original.output.name;
  const end = placements.get(last)!;
  if (!(end.kind === 'whole' && end.device === 0)) {
    const gathered = wholeOn(last, 0, 'output', true);
    placements.set(last, { kind: 'whole', node: gathered, device: 0 });
  }

  const graph = new Graph(specs);
  return {
    devices: n,
    graph,
    layers: placements,
    transfers,
    shardWeights(weights) {
      const out = new Map<string, Tensor>();
      for (const [shard, { layer, from, to }] of paramRows) {
        for (const kind of ['weight', 'bias'] as const) {
          const t = weights.get(`${layer}.${kind}`)!;
          const row = sizeOf(t.shape) / t.shape[0];
          out.set(`${shard}.${kind}`, tensor([to - from, ...t.shape.slice(1)], t.data.slice(from * row, to * row)));
        }
      }
      return out;
    },
  };
}

/** The outputs of the original graph's layers, put back together from the shards that hold them. */
export function assembleLayers(p: Partitioned, activations: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const layers = new Map<string, Tensor>();
  for (const [layer, placement] of p.layers) {
    const parts = (placement.kind === 'whole' ? [placement.node] : placement.nodes).map((name) => activations.get(name));
    if (parts.every((t) => t !== undefined)) layers.set(layer, parts.length === 1 ? parts[0]! : concatAxis1(parts as Tensor[]));
  }
  return layers;
}

/** Every node holding a layer's output: what to keep to assemble all layers. */
export function layerNodes(p: Partitioned): string[] {
  return [...p.layers.values()].flatMap((placement) => (placement.kind === 'whole' ? [placement.node] : placement.nodes));
}
