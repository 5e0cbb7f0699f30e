// What a backend is: something that loads a graph with its parameters once (packing, uploading)
// and then runs it node by node on tensors in its own memory. It knows ops, never models: the
// runtime walks the graph, decides what to keep and what to fuse, and reads results back.
import type { GraphNode } from '../graph/index.js';
import type { Graph } from '../graph/index.js';
import type { Shape, Tensor } from '../tensor.js';

/** A backend's reference to a tensor in its memory: at least its batched shape. */
export interface Handle {
  readonly shape: Shape;
}

export interface Backend {
  readonly name: string;
  /** Prepares `graph` to run; `params` holds each node's parameters in its order (weight, bias), already checked against the graph. */
  load(graph: Graph, params: ReadonlyMap<string, readonly Tensor[]>): Promise<Executor>;
}

/** What a backend holds, in bytes, for reports. */
export interface MemoryReport {
  readonly weights: number;
  readonly activations: number;
  readonly scratch: number;
  /** Everything the backend has reserved (a WASM memory never shrinks). */
  readonly total: number;
}

export interface Executor<H extends Handle = Handle> {
  /** How it runs, for people: "relaxed SIMD, 2 threads". */
  readonly details?: string;
  /** Places a host batch [N, ...node.shape] as the output of an input node of the loaded graph. */
  place(node: GraphNode, x: Tensor): H | Promise<H>;
  /**
   * Runs `node` on batched inputs, returning [N, ...node.shape]; inference only (dropout is the
   * identity). With `reluAfter` (only when canFuseRelu(node)), the ReLU that follows is applied in
   * the same pass and the result is that ReLU's output.
   */
  run(node: GraphNode, inputs: readonly H[], reluAfter: boolean): H | Promise<H>;
  /** A host copy of a tensor, unaffected by later runs. */
  read(h: H): Tensor | Promise<Tensor>;
  canFuseRelu?(node: GraphNode): boolean;
  memory?(): MemoryReport | undefined;
  /** Frees what the executor holds (workers, devices); it is not used again. */
  dispose(): void | Promise<void>;
}
