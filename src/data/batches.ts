// A batch and an epoch's order, as training makes them: in Node's prefetch workers (prefetch.ts) and
// in a page (src/train/live.ts). Browser-safe: no node: module. Every sample draws from its own
// seed (see sampleSeed), so a batch is the same wherever and by whichever thread it is made.
import { createRng, uniform } from '../random.js';
import type { Dataset } from './datasets.js';
import type { PipelineSpec } from './pipeline.js';
import { cropsPerImage, sample, sampleSeed, testCrops } from './pipeline.js';

/** The batch of `indices`, every sample from its own seed: the one function workers, the main thread and pages share. */
export async function makeBatch(dataset: Dataset, pipeline: PipelineSpec, seed: number, epoch: number, indices: Uint32Array): Promise<{ x: Float32Array<ArrayBuffer>; labels: Int32Array<ArrayBuffer> }> {
  const { crop } = pipeline.preprocessing;
  const per = pipeline.channels * crop * crop;
  const crops = cropsPerImage(pipeline);
  const x = new Float32Array(indices.length * crops * per);
  const labels = new Int32Array(indices.length);
  for (let b = 0; b < indices.length; b++) {
    const i = indices[b];
    const img = await dataset.load(i, pipeline.channels);
    if (crops === 1) x.set(sample(img, pipeline, sampleSeed(seed, epoch, i)).data, b * per);
    else testCrops(img, pipeline, 'ten-crop').forEach((c, j) => x.set(c.data, (b * crops + j) * per));
    labels[b] = dataset.label(i);
  }
  return { x, labels };
}

/** 0..n-1 in dataset order, or shuffled (Fisher-Yates) from the epoch's own seed. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): Uint32Array {
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  if (!shuffle) return order;
  const rng = createRng(sampleSeed(seed, epoch, 0xffffffff));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniform(rng) * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
