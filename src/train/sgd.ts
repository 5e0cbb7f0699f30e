// The paper's update (section 5): v ← 0.9·v − 0.0005·ε·w − ε·∂L/∂w, then w ← w + v, with ε the
// learning rate. Weight decay applies to weights only, not biases (as Caffe's bvlc_alexnet, whose
// biases have decay_mult 0): decaying the unit biases would pull them back to 0.
import type { Tensor } from '../tensor.js';
import { tensor } from '../tensor.js';
import type { Params } from './network.js';

export interface SgdOptions {
  readonly momentum: number;
  readonly weightDecay: number;
}

export const PAPER_SGD: SgdOptions = { momentum: 0.9, weightDecay: 0.0005 };

/** Zero velocities shaped like the parameters. */
export function zeroVelocity(params: Params): Map<string, Tensor> {
  return new Map([...params].map(([name, t]): [string, Tensor] => [name, tensor(t.shape)]));
}

/** One update of every parameter and its velocity, in place. */
export function sgdStep(params: Params, grads: Params, velocity: Params, lr: number, o: SgdOptions = PAPER_SGD): void {
  for (const [name, w] of params) {
    const g = grads.get(name)!.data;
    const v = velocity.get(name)!.data;
    const decay = name.endsWith('.weight') ? o.weightDecay : 0;
    for (let i = 0; i < w.data.length; i++) {
      v[i] = o.momentum * v[i] - decay * lr * w.data[i] - lr * g[i];
      w.data[i] += v[i];
    }
  }
}
