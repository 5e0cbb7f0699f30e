// Runs a graph on a backend: binds the input and the parameters, walks the nodes in order, times
// each one, keeps the outputs asked for and lets the rest go as soon as their last reader has run.
import type { Backend } from '../backends/backend.js';
import { ShapeError, WeightsError } from '../errors.js';
import type { Graph, GraphNode, OpType } from '../graph/index.js';
import type { Tensor } from '../tensor.js';
import { sameShape, shapeToString } from '../tensor.js';

/** Parameters by full name (`conv1.weight`), in PyTorch layouts. */
export type Weights = ReadonlyMap<string, Tensor>;

export interface RunOptions {
  /** Node outputs to return besides the final one: every node, or these names. Default: none. */
  readonly keep?: 'all' | readonly string[];
  /** Called after each node with its output and wall time. */
  readonly onNode?: (node: GraphNode, output: Tensor, ms: number) => void;
}

export interface NodeTiming {
  readonly name: string;
  readonly op: OpType;
  readonly ms: number;
}

export interface RunResult {
  readonly output: Tensor;
  /** The kept outputs by node name, the input node included when kept. */
  readonly activations: ReadonlyMap<string, Tensor>;
  readonly timings: readonly NodeTiming[];
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

export async function runGraph(graph: Graph, backend: Backend, weights: Weights, input: Tensor, options: RunOptions = {}): Promise<RunResult> {
  const expected = graph.input.shape;
  if (input.shape.length !== expected.length + 1 || input.shape[0] < 1 || !sameShape(input.shape.slice(1), expected)) {
    throw new ShapeError('INPUT', `input has shape ${shapeToString(input.shape)}; the model needs [N, ${expected.join(', ')}] with N >= 1`);
  }
  const params = bindParams(graph, weights);
  const keep = options.keep === 'all' ? new Set(graph.nodes.map((n) => n.name)) : new Set(options.keep ?? []);
  const lastReader = new Map<string, number>();
  graph.nodes.forEach((node, i) => node.inputs.forEach((name) => lastReader.set(name, i)));

  const live = new Map<string, Tensor>([[graph.input.name, input]]);
  const activations = new Map<string, Tensor>();
  const timings: NodeTiming[] = [];
  for (const [i, node] of graph.nodes.entries()) {
    if (node !== graph.input) {
      const inputs = node.inputs.map((name) => live.get(name)!);
      const start = performance.now();
      const output = await backend.run(node, inputs, params.get(node.name)!);
      const ms = performance.now() - start;
      const expectedShape = [input.shape[0], ...node.shape];
      if (!sameShape(output.shape, expectedShape)) {
        throw new ShapeError('BACKEND_OUTPUT', `backend "${backend.name}" returned ${shapeToString(output.shape)} for node "${node.name}" (${node.op.type}); the graph says ${shapeToString(expectedShape)}`);
      }
      timings.push({ name: node.name, op: node.op.type, ms });
      live.set(node.name, output);
      options.onNode?.(node, output, ms);
      for (const name of node.inputs) if (lastReader.get(name) === i) live.delete(name);
    }
    if (keep.has(node.name)) activations.set(node.name, live.get(node.name)!);
  }
  return { output: live.get(graph.output.name)!, activations, timings };
}
