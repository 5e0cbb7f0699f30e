// The walkthrough's pictures (pictures.ts) as PNG files, for the terminal twin. pngjs is Node-only,
// so the pixels are computed apart from it, where a browser bundle can import them.
import { PNG } from 'pngjs';
import type { Image } from '../data/image.js';
import type { Tensor } from '../tensor.js';
import type { Picture } from './pictures.js';
import { filtersPicture, imagePicture, mapsGridPicture, vectorGridPicture } from './pictures.js';

export { colour, gridLayout } from './pictures.js';

function encodePng({ width, height, rgba }: Picture): Uint8Array {
  const png = new PNG({ width, height });
  png.data.set(rgba);
  return PNG.sync.write(png);
}

/** An image: RGB as it is (on `range`), a single channel through `colour`. */
export function imagePng(img: Image, range: readonly [number, number], scale = 1): Uint8Array {
  return encodePng(imagePicture(img, range, scale));
}

/** Every map of a layer's output in a grid, on one shared `range` (mapsGridPicture). */
export function mapsGridPng(output: Tensor, range: readonly [number, number], scale = 1): Uint8Array {
  return encodePng(mapsGridPicture(output, range, scale));
}

/** conv1's filters [O, C, k, k] as tiles, each on its own symmetric range (filtersPicture). */
export function filtersPng(weight: Tensor, scale = 4): Uint8Array {
  return encodePng(filtersPicture(weight, scale));
}

/** A vector as a near-square grid of cells (vectorGridPicture). */
export function vectorGridPng(values: ArrayLike<number>, range: readonly [number, number], cell: number): Uint8Array {
  return encodePng(vectorGridPicture(values, range, cell));
}
