// The benchmark's input and weights seed, without Node imports: the CLI benchmark and the page share them.
import { createRng, uniform } from '../src/random.js';
import type { Tensor } from '../src/tensor.js';
import { tensor } from '../src/tensor.js';

export const SEED = 1;

/** `batch` images, uniform in [-128, 128) like mean-subtracted pixels; image 0 is the same for every batch size. */
export function benchInput(batch: number): Tensor {
  const x = tensor([batch, 3, 227, 227]);
  const rng = createRng(SEED);
  for (let i = 0; i < x.data.length; i++) x.data[i] = 256 * uniform(rng) - 128;
  return x;
}
