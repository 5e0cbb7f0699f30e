// Runs one op on a backend through the real runtime, as a two-node graph (input -> op).
import type { Backend } from '../src/backends/backend.js';
import { Graph } from '../src/graph/index.js';
import type { Op } from '../src/graph/index.js';
import { runGraph } from '../src/runtime/index.js';
import type { Tensor } from '../src/tensor.js';

export async function runOp(backend: Backend, op: Op, x: Tensor, params: { weight?: Tensor; bias?: Tensor } = {}): Promise<Tensor> {
  const graph = new Graph([
    { name: 'x', op: { type: 'input', shape: x.shape.slice(1) } },
    { name: 'y', op },
  ]);
  const weights = new Map<string, Tensor>();
  if (params.weight) weights.set('y.weight', params.weight);
  if (params.bias) weights.set('y.bias', params.bias);
  return (await runGraph(graph, backend, weights, x)).output;
}
