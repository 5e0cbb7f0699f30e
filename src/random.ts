// Seeded randomness for everything that draws (initialisation, dropout, augmentation), so runs repeat
// bit for bit. pure-rand's xoroshiro128+ gives the uniform bits; the normal is Box-Muller on top.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

export type Rng = RandomGenerator;

export function createRng(seed: number): Rng {
  return xoroshiro128plus(seed);
}

/** Uniform in [0, 1), 53 random bits. */
export function uniform(rng: Rng): number {
  return uniformFloat64(rng);
}

/** Fills `out` with N(mean, std²) draws, two per Box-Muller pair (cos, then sin), in index order. */
export function fillNormal(rng: Rng, out: Float32Array, mean: number, std: number): Float32Array {
  for (let i = 0; i < out.length; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - uniform(rng))); // 1 - u is in (0, 1]: log never sees 0
    const angle = 2 * Math.PI * uniform(rng);
    out[i] = mean + std * radius * Math.cos(angle);
    if (i + 1 < out.length) out[i + 1] = mean + std * radius * Math.sin(angle);
  }
  return out;
}
