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
  return {
    images: Number.isSafeInteger(images) && images >= 0 ? images : 0,
    meanImage: image(c, height, width, mean.data),
    pixelMean: Float64Array.from(get('pixel_mean', 1).data),
    covariance: Float64Array.from(get('pixel_covariance', 2).data),
    eigenvalues: Float64Array.from(get('pca_eigenvalues', 1).data),
    eigenvectors: Float64Array.from(get('pca_eigenvectors', 2).data),
  };
}
