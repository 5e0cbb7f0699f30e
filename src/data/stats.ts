// A training set's statistics in one streaming pass: the mean image (what the paper subtracts) and
// the RGB pixel covariance with its eigen-decomposition (what PCA colour noise follows). Stored as
// safetensors, so the file is read with the same checks as weights.
import { DatasetError } from '../errors.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { Tensor } from '../tensor.js';
import { tensor } from '../tensor.js';
import { eigenSymmetric, pixelMoments } from './augment.js';
import type { Dataset } from './datasets.js';
import { image } from './image.js';
import type { DataStats } from './pipeline.js';
import { centerCrop, resizeShorter } from './preprocess.js';

/** Every image of `dataset` rescaled and centre-squared to `resize`, as the pipeline does before the mean. */
export async function computeStats(dataset: Dataset, resize: number, channels: 1 | 3, progress?: (done: number) => void): Promise<DataStats> {
  if (!dataset.length) throw new DatasetError('EMPTY', 'the dataset holds no images');
  const sum = new Float64Array(channels * resize * resize);
  const moments = pixelMoments();
  for (let i = 0; i < dataset.length; i++) {
    const img = centerCrop(resizeShorter(await dataset.load(i, channels), resize), resize, resize);
    for (let j = 0; j < sum.length; j++) sum[j] += img.data[j];
    moments.add(img);
    progress?.(i + 1);
  }
  const { mean, covariance } = moments.finish();
  const { values: raw, vectors } = eigenSymmetric(covariance, channels);
  // a covariance has no negative eigenvalues: below zero is rounding (grey images in 3 channels give [λ, 0, 0])
  const values = raw.map((v) => Math.max(0, v));
  const meanImage = image(channels, resize, resize, Float32Array.from(sum, (s) => s / dataset.length));
  return { images: dataset.length, meanImage, pixelMean: mean, covariance, eigenvalues: values, eigenvectors: vectors };
}

/** Self-describing weights carry their training set's statistics as tensors named with this prefix. */
export const EMBEDDED_STATS = 'stats.';

/** A weights file's tensors split into the parameters and the embedded statistics' tensors (prefix removed). */
export function splitEmbeddedStats(tensors: ReadonlyMap<string, Tensor>): { params: Map<string, Tensor>; stats: Map<string, Tensor> } {
  const params = new Map<string, Tensor>();
  const stats = new Map<string, Tensor>();
  for (const [name, t] of tensors) (name.startsWith(EMBEDDED_STATS) ? stats.set(name.slice(EMBEDDED_STATS.length), t) : params.set(name, t));
  return { params, stats };
}

/** The statistics as tensors: what a stats file holds, and what self-describing weights embed (model-file.ts). */
export function statsTensors(stats: DataStats): Map<string, Tensor> {
  const { channels: c, height, width } = stats.meanImage;
  const f32 = (shape: number[], values: ArrayLike<number>): Tensor => tensor(shape, Float32Array.from(values));
  return new Map([
    ['mean_image', tensor([c, height, width], stats.meanImage.data)],
    ['pixel_mean', f32([c], stats.pixelMean)],
    ['pixel_covariance', f32([c, c], stats.covariance)],
    ['pca_eigenvalues', f32([c], stats.eigenvalues)],
    ['pca_eigenvectors', f32([c, c], stats.eigenvectors)],
  ]);
}

export function writeStats(stats: DataStats, source: string): Uint8Array {
  return writeSafetensors(statsTensors(stats), { images: String(stats.images), source });
}

export function readStats(bytes: Uint8Array, source: string): DataStats {
  const { tensors, metadata } = readSafetensors(bytes, source);
  return statsFromTensors(tensors, Number(metadata.images ?? 0), source);
}

/** Statistics from the tensors statsTensors makes, every shape checked. */
export function statsFromTensors(tensors: ReadonlyMap<string, Tensor>, images: number, source: string): DataStats {
  const get = (name: string, rank: number): Tensor => {
    const t = tensors.get(name);
    if (!t || t.shape.length !== rank) throw new DatasetError('BAD_STATS', `${source}: needs a ${rank}-d tensor "${name}" (write the file with \`alexnet stats\`)`);
    return t;
  };
  const mean = get('mean_image', 3);
  const [c, height, width] = mean.shape;
  const rest = { pixel_mean: [c], pixel_covariance: [c, c], pca_eigenvalues: [c], pca_eigenvectors: [c, c] };
  for (const [name, shape] of Object.entries(rest)) {
    const t = get(name, shape.length);
    if (t.shape.some((d, i) => d !== shape[i])) throw new DatasetError('BAD_STATS', `${source}: "${name}" is [${t.shape.join(', ')}], expected [${shape.join(', ')}] for a ${c}-channel mean image`);
  }
  const stats = {
    images: Number.isSafeInteger(images) && images >= 0 ? images : 0,
    meanImage: image(c, height, width, mean.data),
    pixelMean: Float64Array.from(get('pixel_mean', 1).data),
    covariance: Float64Array.from(get('pixel_covariance', 2).data),
    eigenvalues: Float64Array.from(get('pca_eigenvalues', 1).data),
    eigenvectors: Float64Array.from(get('pca_eigenvectors', 2).data),
  };
  checkStats(stats, source);
  return stats;
}

/** The largest variance of values in 0..255: half of them at each end. */
const MAX_VARIANCE = (255 / 2) ** 2;

/**
 * What statistics of 0..255 pixels must satisfy, checked because every prediction subtracts the
 * mean and every training step adds PCA noise from them: means in 0..255, a covariance that is a
 * covariance (symmetric, variances at most 127.5^2, |c_ij| <= sqrt(c_ii c_jj)), and an
 * eigen-decomposition of it (unit orthogonal rows V, eigenvalues >= 0, V^T diag(λ) V = C), to
 * float32's rounding.
 */
function checkStats(s: DataStats, source: string): void {
  const bad = (why: string): never => {
    throw new DatasetError('BAD_STATS', `${source}: ${why} (write the file with \`alexnet stats\`)`);
  };
  const n = s.pixelMean.length;
  const outside = (values: ArrayLike<number>, lo: number, hi: number): number => Array.prototype.findIndex.call(values, (v: number) => !(v >= lo && v <= hi));
  const at = (name: string, values: ArrayLike<number>, lo: number, hi: number): void => {
    const i = outside(values, lo, hi);
    if (i >= 0) bad(`"${name}" holds ${values[i]} at flat index ${i}, outside ${lo}..${hi}`);
  };
  at('mean_image', s.meanImage.data, 0, 255);
  at('pixel_mean', s.pixelMean, 0, 255);
  at('pca_eigenvalues', s.eigenvalues, 0, n * MAX_VARIANCE);
  at('pca_eigenvectors', s.eigenvectors, -1 - 1e-4, 1 + 1e-4);
  const c = (i: number, j: number): number => s.covariance[i * n + j];
  const scale = Math.max(1, ...Array.from({ length: n }, (_, i) => c(i, i)));
  for (let i = 0; i < n; i++) {
    if (!(c(i, i) >= 0 && c(i, i) <= MAX_VARIANCE * (1 + 1e-6))) bad(`the variance of channel ${i} is ${c(i, i)}, outside 0..${MAX_VARIANCE}`);
    for (let j = 0; j < n; j++) {
      const [cij, cji] = [c(i, j), c(j, i)];
      if (!(Math.abs(cij - cji) <= 1e-6 * scale && Math.abs(cij) <= Math.sqrt(c(i, i) * c(j, j)) + 1e-4 * scale)) bad(`"pixel_covariance" is not a covariance at [${i}, ${j}] (${cij}, and ${cji} at [${j}, ${i}])`);
      let dot = 0;
      let reconstructed = 0;
      for (let k = 0; k < n; k++) {
        dot += s.eigenvectors[i * n + k] * s.eigenvectors[j * n + k];
        reconstructed += s.eigenvectors[k * n + i] * s.eigenvalues[k] * s.eigenvectors[k * n + j];
      }
      if (!(Math.abs(dot - (i === j ? 1 : 0)) <= 1e-4)) bad(`the rows of "pca_eigenvectors" are not orthonormal (rows ${i} and ${j} have dot product ${dot})`);
      if (!(Math.abs(reconstructed - cij) <= 1e-4 * scale)) bad(`"pca_eigenvalues" and "pca_eigenvectors" are not the decomposition of "pixel_covariance" (at [${i}, ${j}]: ${reconstructed}, not ${cij})`);
    }
  }
}
