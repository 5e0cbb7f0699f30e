// From a decoded image to what the network sees, as the paper did it: rescale the shorter side,
// keep the centre square, add PCA colour noise (training), subtract the mean, then a random crop
// with a random mirror (training) or the centre crop / ten crops (testing). Each sample draws from
// its own PRNG, seeded from (seed, epoch, index), so a batch does not depend on who computed it.
import { DatasetError } from '../errors.js';
import type { Preprocessing } from '../models/preprocessing.js';
import type { Rng } from '../random.js';
import { createRng } from '../random.js';
import { addColour, drawPcaCoefficients, pcaColourOffset, randomCrop } from './augment.js';
import type { Image } from './image.js';
import { centerCrop, normalize, prepare, resizeShorter, tenCrops } from './preprocess.js';

/** A training set's statistics, as `alexnet stats` computes them (0..255 pixel scale). */
export interface DataStats {
  readonly images: number;
  /** mean of the training images after resize and centre square, [C, resize, resize] */
  readonly meanImage: Image;
  readonly pixelMean: Float64Array;
  readonly covariance: Float64Array;
  /** eigenvalues of the pixel covariance, largest first, and the matching unit eigenvectors (rows) */
  readonly eigenvalues: Float64Array;
  readonly eigenvectors: Float64Array;
}

/** Everything that decides how a sample is made; plain data, so prefetch workers get a copy. */
export interface PipelineSpec {
  readonly preprocessing: Preprocessing;
  readonly channels: 1 | 3;
  /** training: random crops, mirrors and colour noise; testing: the centre crop */
  readonly train: boolean;
  /** standard deviation of the PCA coefficients (the paper: 0.1); 0 turns colour noise off */
  readonly pcaStd: number;
  readonly stats?: DataStats;
  /** testing only: the crops each image gives (default: the centre) */
  readonly testCrops?: TestCrops;
}

export type TestCrops = 'center' | 'ten-crop';

/** Samples one image gives: 10 for ten-crop testing, else 1. */
export const cropsPerImage = (spec: PipelineSpec): number => (!spec.train && spec.testCrops === 'ten-crop' ? 10 : 1);

/** A 32-bit seed for one sample of one epoch: a murmur3-style mix, so neighbours get unrelated streams. */
export function sampleSeed(seed: number, epoch: number, index: number): number {
  let h = seed >>> 0;
  for (const v of [epoch, index]) {
    h = Math.imul(h ^ (v >>> 0), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Rescaled, centre square, colour noise (when drawn), mean subtracted: the image crops come from. */
function square(img: Image, spec: PipelineSpec, rng: Rng | undefined): Image {
  const p = spec.preprocessing;
  const mean = p.mean === 'image' ? scaledMean(spec) : undefined;
  if (!rng || spec.pcaStd === 0) return prepare(img, p, mean);
  if (!spec.stats) throw new DatasetError('NO_STATS', 'PCA colour noise needs the training set\'s statistics (`alexnet stats`)');
  const { eigenvalues, eigenvectors } = spec.stats;
  const rescaled = centerCrop(resizeShorter(img, p.resize), p.resize, p.resize);
  return normalize(addColour(rescaled, pcaColourOffset(eigenvalues, eigenvectors, drawPcaCoefficients(rng, spec.pcaStd, rescaled.channels))), p, mean);
}

/** The mean image on the scale pixels have after `scale` (what `normalize` subtracts). */
export function scaledMean(spec: PipelineSpec): Image | undefined {
  const mean = spec.stats?.meanImage;
  if (!mean || spec.preprocessing.scale === 1) return mean;
  return { ...mean, data: mean.data.map((v) => v * spec.preprocessing.scale) };
}

/** One training or testing sample, [C, crop, crop]. */
export function sample(img: Image, spec: PipelineSpec, seed: number): Image {
  const crop = spec.preprocessing.crop;
  if (!spec.train) return centerCrop(square(img, spec, undefined), crop, crop);
  const rng = createRng(seed);
  return randomCrop(square(img, spec, rng), crop, rng).image;
}

/** The crops a test image is classified from: the centre, or the four corners, centre and their mirrors. */
export function testCrops(img: Image, spec: PipelineSpec, crops: TestCrops): Image[] {
  const s = square(img, spec, undefined);
  const size = spec.preprocessing.crop;
  return crops === 'center' ? [centerCrop(s, size, size)] : tenCrops(s, size);
}
