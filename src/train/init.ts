// The paper's initialisation (section 5): "We initialized the weights in each layer from a
// zero-mean Gaussian distribution with standard deviation 0.01. We initialized the neuron biases in
// the second, fourth, and fifth convolutional layers, as well as in the fully-connected hidden
// layers, with the constant 1 [...] the remaining layers with the constant 0."
import type { Graph } from '../graph/index.js';
import { createRng, fillNormal } from '../random.js';
import type { Weights } from '../runtime/index.js';
import type { Tensor } from '../tensor.js';
import { sizeOf, tensor } from '../tensor.js';

/** Layers whose biases start at 1: positive inputs to their ReLUs speed up early learning. */
export const PAPER_UNIT_BIASES: ReadonlySet<string> = new Set(['conv2', 'conv4', 'conv5', 'fc6', 'fc7']);

export interface InitOptions {
  readonly seed: number;
  /** the weights' standard deviation: a number (the paper: 0.01), or 'fan-in' for √(2 / fan-in) per layer (He et al. 2015) */
  readonly std?: number | 'fan-in';
  readonly unitBiases?: ReadonlySet<string>;
}

/** Every parameter of `graph`, drawn in graph order from one generator seeded with `seed`. */
export function paperInit(graph: Graph, { seed, std = 0.01, unitBiases = PAPER_UNIT_BIASES }: InitOptions): Weights {
  const rng = createRng(seed);
  const weights = new Map<string, Tensor>();
  for (const p of graph.params()) {
    const data = new Float32Array(sizeOf(p.shape));
    if (p.kind === 'weight') fillNormal(rng, data, 0, std === 'fan-in' ? Math.sqrt(2 / (sizeOf(p.shape) / p.shape[0])) : std);
    else data.fill(unitBiases.has(p.node) ? 1 : 0);
    weights.set(p.name, tensor(p.shape, data));
  }
  return weights;
}
