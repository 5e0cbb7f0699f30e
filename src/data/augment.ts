// The paper's training-time augmentation: random crops with mirrors, and PCA colour noise along the
// principal components of the training set's RGB pixels.
import { ShapeError } from '../errors.js';
import type { Rng } from '../random.js';
import { fillNormal, uniform } from '../random.js';
import type { Image } from './image.js';
import { image } from './image.js';
import { crop, flipHorizontal } from './preprocess.js';

/** A crop at a uniform position, mirrored with probability 1/2; draws top, left, then the mirror. */
export function randomCrop(img: Image, size: number, rng: Rng): { image: Image; top: number; left: number; flipped: boolean } {
  const top = Math.floor(uniform(rng) * (img.height - size + 1));
  const left = Math.floor(uniform(rng) * (img.width - size + 1));
  const flipped = uniform(rng) < 0.5;
  const cut = crop(img, top, left, size, size);
  return { image: flipped ? flipHorizontal(cut) : cut, top, left, flipped };
}

export interface PixelMoments {
  /** pixels added so far, over all images */
  readonly count: number;
  add(img: Image): void;
  /** per-channel means and the population covariance (divided by the pixel count), C x C row-major */
  finish(): { mean: Float64Array; covariance: Float64Array };
}

/** Per-channel means and the channel covariance over every pixel added, streaming, in float64. */
export function pixelMoments(): PixelMoments {
  let channels = 0;
  let count = 0;
  let shift = new Float64Array(0); // the first image's means: sums around it keep their precision
  let sums = new Float64Array(0);
  let products = new Float64Array(0);
  return {
    get count(): number {
      return count;
    },
    add(img: Image): void {
      const plane = img.height * img.width;
      if (!count) {
        channels = img.channels;
        shift = Float64Array.from({ length: channels }, (_, c) => img.data.subarray(c * plane, (c + 1) * plane).reduce((a, b) => a + b, 0) / plane);
        sums = new Float64Array(channels);
        products = new Float64Array(channels * channels);
      } else if (img.channels !== channels) {
        throw new ShapeError('CHANNELS', `pixel statistics: a ${img.channels}-channel image after ${channels}-channel ones`);
      }
      const v = new Float64Array(channels);
      for (let p = 0; p < plane; p++) {
        for (let c = 0; c < channels; c++) v[c] = img.data[c * plane + p] - shift[c];
        for (let a = 0; a < channels; a++) {
          sums[a] += v[a];
          for (let b = a; b < channels; b++) products[a * channels + b] += v[a] * v[b];
        }
      }
      count += plane;
    },
    finish() {
      if (!count) throw new ShapeError('NO_PIXELS', 'pixel statistics need at least one image, none was added');
      const m = Float64Array.from(sums, (s) => s / count);
      const covariance = new Float64Array(channels * channels);
      for (let a = 0; a < channels; a++) {
        for (let b = a; b < channels; b++) covariance[a * channels + b] = covariance[b * channels + a] = products[a * channels + b] / count - m[a] * m[b];
      }
      return { mean: m.map((x, c) => x + shift[c]), covariance };
    },
  };
}

/**
 * Eigen-decomposition of a symmetric n x n matrix by cyclic Jacobi rotations: values largest first,
 * vectors as rows, each signed so its largest component is positive (a decomposition is otherwise
 * only defined up to sign).
 */
export function eigenSymmetric(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  const norm = Math.sqrt(a.reduce((s, x) => s + x * x, 0));
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (Math.sqrt(off) <= 1e-15 * norm) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        // the rotation that zeroes a[p][q] (Golub & Van Loan, the smaller angle)
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const [akp, akq] = [a[k * n + p], a[k * n + q]];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const [apk, aqk] = [a[p * n + k], a[q * n + k]];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const [vkp, vkq] = [v[k * n + p], v[k * n + q]];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j] - a[i * n + i]);
  const values = Float64Array.from(order, (i) => a[i * n + i]);
  const vectors = new Float64Array(n * n);
  order.forEach((col, row) => {
    let big = 0;
    for (let k = 0; k < n; k++) if (Math.abs(v[k * n + col]) > Math.abs(big)) big = v[k * n + col];
    for (let k = 0; k < n; k++) vectors[row * n + k] = Math.sign(big || 1) * v[k * n + col];
  });
  return { values, vectors };
}

/** a_i ~ N(0, std²), one per principal component. */
export function drawPcaCoefficients(rng: Rng, std = 0.1, n = 3): number[] {
  return Array.from(fillNormal(rng, new Float32Array(n), 0, std));
}

/**
 * The colour shift `Σ a_i √λ_i p_i`. The paper writes `a_i λ_i`, but λ_i is a variance, so that
 * shift would change meaning with the pixel scale (~400 levels at a = 0.1 on 0..255 pixels);
 * Krizhevsky's released data provider (cuda-convnet2's convdata.py, its `color_stdevs`) scales by
 * the standard deviations √λ_i, as do the common reimplementations: a fraction of the pixels' own
 * spread along each component, in any units.
 */
export function pcaColourOffset(values: Float64Array, vectors: Float64Array, a: readonly number[]): Float64Array {
  const n = values.length;
  if (vectors.length !== n * n || a.length !== n) {
    throw new ShapeError('PCA_SHAPE', `${n} eigenvalues need ${n * n} eigenvector components and ${n} coefficients, got ${vectors.length} and ${a.length}`);
  }
  const offset = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const scale = a[i] * Math.sqrt(Math.max(values[i], 0)); // round-off can leave a tiny negative λ
    for (let c = 0; c < n; c++) offset[c] += scale * vectors[i * n + c];
  }
  return offset;
}

/** `offset[c]` added to every pixel of channel c. */
export function addColour(img: Image, offset: ArrayLike<number>): Image {
  if (offset.length !== img.channels) throw new ShapeError('OFFSET_SHAPE', `${offset.length} colour offsets for a ${img.channels}-channel image`);
  const plane = img.height * img.width;
  const out = image(img.channels, img.height, img.width);
  for (let c = 0; c < img.channels; c++) for (let i = c * plane; i < (c + 1) * plane; i++) out.data[i] = img.data[i] + offset[c];
  return out;
}
