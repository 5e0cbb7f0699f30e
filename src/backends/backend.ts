// What a backend is: something that runs one graph node over a whole batch. It knows ops, never
// models: the runtime walks the graph and hands each node its inputs and parameters.
import type { GraphNode } from '../graph/index.js';
import type { Tensor } from '../tensor.js';

export interface Backend {
  readonly name: string;
  /**
   * Runs `node` on batched inputs ([N, ...inputShape] each) with its parameters in the node's
   * order (weight, bias), returning [N, ...node.shape]. Inference only: dropout is the identity.
   */
  run(node: GraphNode, inputs: readonly Tensor[], params: readonly Tensor[]): Tensor | Promise<Tensor>;
  /** Frees what the backend holds (workers, devices); a disposed backend is not used again. */
  dispose?(): void | Promise<void>;
}
