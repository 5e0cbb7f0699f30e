// Runs a graph on a backend. A graph whose nodes sit on several devices (a partition's, see
// src/partition/) gets one executor per device, each loaded with only its own nodes and
// parameters: one memory space per device. A transfer node is the only way between them: the
// source device reads the tensor out, the destination places it in its own memory, and the bytes
// are counted. A node that reads a tensor living on another device is refused before anything runs.
//
// Each device works through its own nodes in graph order; devices wait for each other only at
// transfers, so executors that run elsewhere (worker threads) compute in parallel. The runtime also
// times every step, reads back the outputs asked for, and fuses a ReLU into the conv or FC before
// it when the backend can and nobody needs the unfused output.
import type { Backend, Executor, Handle, MemoryReport } from '../backends/backend.js';
import { PartitionError, ShapeError, WeightsError } from '../errors.js';
import { Graph } from '../graph/index.js';
import type { GraphNode, NodeSpec, OpType } from '../graph/index.js';
import type { Tensor } from '../tensor.js';
import { sameShape, shapeToString } from '../tensor.js';

/** Parameters by full name (`conv1.weight`), in PyTorch layouts. */
export type Weights = ReadonlyMap<string, Tensor>;

export interface RunOptions {
  /** Node outputs to return besides the final one: every node, or these names. Default: none. */
  readonly keep?: 'all' | readonly string[];
}

export interface NodeTiming {
  /** The node whose output the step produced. */
  readonly name: string;
  readonly op: OpType;
  readonly device: number;
  readonly ms: number;
  /** The conv or FC node computed in the same step, when its ReLU was fused into it. */
  readonly fused?: string;
}

export interface RunResult {
  readonly output: Tensor;
  /** The kept outputs by node name, the input node included when kept. */
  readonly activations: ReadonlyMap<string, Tensor>;
  /** One entry per step, in the order the steps finished. */
  readonly timings: readonly NodeTiming[];
  /** What crossed devices in this run: transfer nodes run and their bytes (the whole batch). */
  readonly transferred: { readonly count: number; readonly bytes: number };
}

/** One device's part of the graph, with what the runtime needs to walk it. */
interface DevicePart {
  readonly graph: Graph;
  readonly executor: Executor;
  /** Node name -> index in graph.nodes of the last node that reads it here. */
  readonly lastReader: ReadonlyMap<string, number>;
}

export class Session {
  /** Node name -> the transfer nodes that send its output to other devices. */
  private readonly sendsOf = new Map<string, string[]>();

  private constructor(
    readonly graph: Graph,
    private readonly parts: readonly DevicePart[],
  ) {
    for (const node of graph.nodes) {
      if (node.op.type === 'transfer') this.sendsOf.set(node.inputs[0], [...(this.sendsOf.get(node.inputs[0]) ?? []), node.name]);
    }
  }

  static async load(graph: Graph, backend: Backend, weights: Weights): Promise<Session> {
    const params = bindParams(graph, weights);
    const graphs = splitByDevice(graph);
    const parts: DevicePart[] = [];
    try {
      for (const g of graphs) {
        const executor = await backend.load(g, new Map(g.nodes.map((n) => [n.name, params.get(n.name)!])));
        const lastReader = new Map<string, number>();
        g.nodes.forEach((n, i) => n.inputs.forEach((name) => lastReader.set(name, i)));
        parts.push({ graph: g, executor, lastReader });
      }
    } catch (e) {
      await Promise.all(parts.map((p) => p.executor.dispose()));
      throw e;
    }
    return new Session(graph, parts);
  }

  /** How the backend runs this graph, for people (e.g. "relaxed SIMD, 2 threads"). */
  get details(): string | undefined {
    const details = this.parts[0].executor.details;
    return details && this.parts.length > 1 ? `${details} per device, ${this.parts.length} devices` : details;
  }

  /** What the executors hold, summed over devices. */
  memory(): MemoryReport | undefined {
    const reports = this.parts.map((p) => p.executor.memory?.());
    if (reports.some((r) => !r)) return undefined;
    const sum = (key: keyof MemoryReport): number => reports.reduce((s, r) => s + r![key], 0);
    return { weights: sum('weights'), activations: sum('activations'), scratch: sum('scratch'), total: sum('total') };
  }

  async run(input: Tensor, options: RunOptions = {}): Promise<RunResult> {
    const { graph, parts } = this;
    const expected = graph.input.shape;
    if (input.shape.length !== expected.length + 1 || input.shape[0] < 1 || !sameShape(input.shape.slice(1), expected)) {
      throw new ShapeError('INPUT', `input has shape ${shapeToString(input.shape)}; the model needs [N, ${expected.join(', ')}] with N >= 1`);
    }
    const keep = options.keep === 'all' ? new Set(graph.nodes.map((n) => n.name)) : new Set(options.keep ?? []);
    const live = parts.map(() => new Map<string, Handle>());
    const activations = new Map<string, Tensor>();
    const timings: NodeTiming[] = [];
    const transferred = { count: 0, bytes: 0 };
    // each device's steps form a chain; a failed step fails every later step of its device
    const tails: Promise<unknown>[] = parts.map(() => Promise.resolve());
    const steps: Promise<unknown>[] = [];
    const step = <T>(device: number, work: () => T | Promise<T>): Promise<T> => {
      const done = tails[device].then(work);
      tails[device] = done;
      steps.push(done);
      return done;
    };
    const local = (device: number, name: string): GraphNode => parts[device].graph.node(name);
    const keepIfAsked = async (device: number, name: string, h: Handle): Promise<void> => {
      if (keep.has(name)) activations.set(name, await parts[device].executor.read(h));
    };
    const forget = (device: number, node: GraphNode): void => {
      const index = parts[device].graph.nodes.indexOf(local(device, node.name));
      for (const name of node.inputs) if (parts[device].lastReader.get(name)! <= index) live[device].delete(name);
    };

    // a transfer's payload is read out on its source as soon as the tensor exists (the step right
    // after the one that makes it), so the destination never waits for the source to get round to
    // it; the graph's input is on the host already
    const payloads = new Map<string, Promise<Tensor>>();
    const send = (device: number, name: string, made: Promise<Handle> | undefined): void => {
      for (const t of this.sendsOf.get(name) ?? []) {
        payloads.set(t, made ? step(device, async () => parts[device].executor.read(await made)) : Promise.resolve(input));
      }
    };

    const fusedInto = new Set<string>();
    for (const node of graph.nodes) {
      if (fusedInto.has(node.name)) continue;
      const { op, name } = node;
      if (op.type === 'input') {
        const d = node.device;
        send(d, name, undefined);
        step(d, async () => {
          live[d].set(name, await parts[d].executor.place(local(d, name), input));
          if (keep.has(name)) activations.set(name, input);
        });
      } else if (op.type === 'transfer') {
        const to = op.to;
        const payload = payloads.get(name)!;
        const placed = step(to, async () => {
          const x = await payload;
          const start = performance.now();
          const h = await parts[to].executor.place(local(to, name), x);
          timings.push({ name, op: op.type, device: to, ms: performance.now() - start });
          transferred.count++;
          transferred.bytes += x.data.byteLength;
          live[to].set(name, h);
          if (keep.has(name)) activations.set(name, x);
          return h;
        });
        send(to, name, placed);
      } else {
        const d = node.device;
        const part = parts[d];
        const here = local(d, name);
        const next = part.graph.nodes[part.graph.nodes.indexOf(here) + 1];
        const relu = this.fusableRelu(part, here, next, keep) ? next : undefined;
        if (relu) fusedInto.add(relu.name);
        const produced = relu ?? here;
        const done = step(d, async () => {
          const start = performance.now();
          const output = await part.executor.run(here, here.inputs.map((i) => live[d].get(i)!), relu !== undefined);
          const ms = performance.now() - start;
          const expectedShape = [input.shape[0], ...produced.shape];
          if (!sameShape(output.shape, expectedShape)) {
            throw new ShapeError('BACKEND_OUTPUT', `backend returned ${shapeToString(output.shape)} for node "${produced.name}" (${produced.op.type}); the graph says ${shapeToString(expectedShape)}`);
          }
          timings.push(relu ? { name: relu.name, op: relu.op.type, device: d, ms, fused: name } : { name, op: op.type, device: d, ms });
          live[d].set(produced.name, output);
          await keepIfAsked(d, produced.name, output);
          forget(d, node);
          return output;
        });
        send(d, produced.name, done);
      }
    }
    const last = graph.output;
    const output = step(last.device, () => parts[last.device].executor.read(live[last.device].get(last.name)!));
    await Promise.all(steps);
    return { output: await output, activations, timings, transferred };
  }

  async dispose(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.executor.dispose()));
  }

  /** A conv/FC node's ReLU can join it when the ReLU is its only reader and its own output is not wanted. */
  private fusableRelu(part: DevicePart, node: GraphNode, next: GraphNode | undefined, keep: ReadonlySet<string>): boolean {
    return (
      next?.op.type === 'relu' &&
      next.inputs[0] === node.name &&
      part.graph.nodes.filter((n) => n.inputs.includes(node.name)).length === 1 &&
      !keep.has(node.name) &&
      (part.executor.canFuseRelu?.(node) ?? false)
    );
  }
}

/**
 * One graph per device: its own nodes, and the receiving end of each transfer to it as an input
 * node (the sending end is a read the runtime does). Refuses a node that reads a tensor that does not
 * live on its device: the emulation of separate memories is only a proof if nothing slips across.
 */
export function splitByDevice(graph: Graph): Graph[] {
  const devices = 1 + Math.max(...graph.nodes.map((n) => n.device));
  if (devices === 1) return [graph];
  for (const node of graph.nodes) {
    const reader = node.op.type === 'transfer' ? node.op.from : node.device;
    if (node.op.type === 'transfer' && node.device !== node.op.to) {
      throw new PartitionError('NOT_RESIDENT', `transfer "${node.name}" goes to device ${node.op.to} but is placed on device ${node.device}`);
    }
    for (const name of node.inputs) {
      const source = graph.node(name);
      if (source.device !== reader) {
        throw new PartitionError('NOT_RESIDENT', `node "${node.name}" on device ${reader} reads "${name}", which lives on device ${source.device}: a transfer must bring it over`);
      }
    }
  }
  const specs: NodeSpec[][] = Array.from({ length: devices }, () => []);
  for (const node of graph.nodes) {
    const { name, op, inputs } = node;
    if (op.type === 'transfer') {
      specs[op.to].push({ name, op: { type: 'input', shape: node.shape }, device: op.to });
    } else {
      specs[node.device].push({ name, op, inputs, device: node.device });
    }
  }
  return specs.map((s, d) => {
    if (!s.length) throw new PartitionError('EMPTY_DEVICE', `device ${d} has no nodes; devices must be numbered 0..${devices - 1} without gaps`);
    return new Graph(s);
  });
}

/** Each node's parameter tensors in its order; throws naming the first missing or misshapen one. */
function bindParams(graph: Graph, weights: Weights): Map<string, Tensor[]> {
  const bound = new Map<string, Tensor[]>();
  for (const node of graph.nodes) {
    bound.set(
      node.name,
      node.params.map((p) => {
        const name = `${node.name}.${p.name}`;
        const t = weights.get(name);
        if (!t) throw new WeightsError('MISSING', `no tensor "${name}" in the weights; the model needs ${shapeToString(p.shape)}`);
        if (!sameShape(t.shape, p.shape)) {
          throw new WeightsError('SHAPE', `tensor "${name}" has shape ${shapeToString(t.shape)}; the model needs ${shapeToString(p.shape)}`);
        }
        return t;
      }),
    );
  }
  return bound;
}

/** Loads `graph` with `weights` on `backend`; dispose the session when done. */
export async function loadGraph(graph: Graph, backend: Backend, weights: Weights): Promise<Session> {
  return Session.load(graph, backend, weights);
}

/** Loads, runs one batch, and disposes: for one-off runs. */
export async function runGraph(graph: Graph, backend: Backend, weights: Weights, input: Tensor, options: RunOptions = {}): Promise<RunResult> {
  const session = await loadGraph(graph, backend, weights);
  try {
    return await session.run(input, options);
  } finally {
    await session.dispose();
  }
}
