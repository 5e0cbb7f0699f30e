// Runs a graph on a backend: checks and binds the parameters, loads the graph once, then for each
// batch walks the nodes in order, times each step, reads back the outputs asked for, and fuses a
// ReLU into the conv or FC before it when the backend can and nobody needs the unfused output.
import type { Backend, Executor, Handle, MemoryReport } from '../backends/backend.js';
import { ShapeError, WeightsError } from '../errors.js';
import type { Graph, GraphNode, OpType } from '../graph/index.js';
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
  readonly ms: number;
  /** The conv or FC node computed in the same step, when its ReLU was fused into it. */
  readonly fused?: string;
}

export interface RunResult {
  readonly output: Tensor;
  /** The kept outputs by node name, the input node included when kept. */
  readonly activations: ReadonlyMap<string, Tensor>;
  readonly timings: readonly NodeTiming[];
}

/** A graph loaded on a backend, ready to run batches. */
export class Session {
  /** Node name -> indices of the nodes that read it. */
  private readonly readers = new Map<string, number[]>();

  constructor(
    readonly graph: Graph,
    private readonly executor: Executor,
  ) {
    graph.nodes.forEach((node, i) => node.inputs.forEach((name) => this.readers.set(name, [...(this.readers.get(name) ?? []), i])));
  }

  /** How the backend runs this graph, for people (e.g. "relaxed SIMD, 2 threads"). */
  get details(): string | undefined {
    return this.executor.details;
  }

  memory(): MemoryReport | undefined {
    return this.executor.memory?.();
  }

  async run(input: Tensor, options: RunOptions = {}): Promise<RunResult> {
    const { graph, executor } = this;
    const expected = graph.input.shape;
    if (input.shape.length !== expected.length + 1 || input.shape[0] < 1 || !sameShape(input.shape.slice(1), expected)) {
      throw new ShapeError('INPUT', `input has shape ${shapeToString(input.shape)}; the model needs [N, ${expected.join(', ')}] with N >= 1`);
    }
    const keep = options.keep === 'all' ? new Set(graph.nodes.map((n) => n.name)) : new Set(options.keep ?? []);
    const live = new Map<string, Handle>([[graph.input.name, executor.input(input)]]);
    const activations = new Map<string, Tensor>();
    if (keep.has(graph.input.name)) activations.set(graph.input.name, input);
    const timings: NodeTiming[] = [];
    const nodes = graph.nodes;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i];
      if (node === graph.input) continue;
      const relu = this.fusableRelu(node, nodes[i + 1], keep) ? nodes[++i] : undefined;
      const produced = relu ?? node;
      const start = performance.now();
      const output = await executor.run(node, node.inputs.map((name) => live.get(name)!), relu !== undefined);
      const ms = performance.now() - start;
      const expectedShape = [input.shape[0], ...produced.shape];
      if (!sameShape(output.shape, expectedShape)) {
        throw new ShapeError('BACKEND_OUTPUT', `backend returned ${shapeToString(output.shape)} for node "${produced.name}" (${produced.op.type}); the graph says ${shapeToString(expectedShape)}`);
      }
      timings.push(relu ? { name: relu.name, op: relu.op.type, ms, fused: node.name } : { name: node.name, op: node.op.type, ms });
      live.set(produced.name, output);
      if (keep.has(produced.name)) activations.set(produced.name, await executor.read(output));
      for (const name of node.inputs) if (this.readers.get(name)!.at(-1)! <= i) live.delete(name);
    }
    const output = await executor.read(live.get(graph.output.name)!);
    return { output, activations, timings };
  }

  dispose(): void | Promise<void> {
    return this.executor.dispose();
  }

  /** A conv/FC node's ReLU can join it when the ReLU is its only reader and its own output is not wanted. */
  private fusableRelu(node: GraphNode, next: GraphNode | undefined, keep: ReadonlySet<string>): boolean {
    return (
      next?.op.type === 'relu' &&
      next.inputs[0] === node.name &&
      this.readers.get(node.name)?.length === 1 &&
      !keep.has(node.name) &&
      (this.executor.canFuseRelu?.(node) ?? false)
    );
  }
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
  return new Session(graph, await backend.load(graph, bindParams(graph, weights)));
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
