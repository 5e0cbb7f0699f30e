// What a model was trained on, as far as an image can be checked against it: a model that knows
// 28x28 grey clothes on black answers for a cat photo too, with confidence. The checks are coarse
// on purpose (colour, size, background); they warn, they never refuse.
import type { Image } from './image.js';

export interface ImageDomain {
  /** for people: what the training images show, e.g. "Fashion-MNIST: 10 kinds of clothing" */
  readonly description: string;
  readonly width: number;
  readonly height: number;
  /** grey images (a colour one is out of domain) */
  readonly grey: boolean;
  /** the objects sit on a dark background (a light border is out of domain) */
  readonly darkBackground: boolean;
}

/** Fashion-MNIST's images, from its documentation: 28x28 grey, the garment light on black. */
export const FASHION_MNIST_DOMAIN: ImageDomain = { description: 'Fashion-MNIST: 10 kinds of clothing', width: 28, height: 28, grey: true, darkBackground: true };

/** Sizes within this factor of the training images' count as theirs. */
const SIZE_FACTOR = 2;
/** Mean |R - G| + |G - B| (0..255) above which an image counts as colour: JPEG noise on grey stays far below. */
const CHROMA = 12;
/** Mean border brightness (0..255) above which a background counts as light. */
const LIGHT_BORDER = 96;

/** Why `rgb` (as decoded, 3 channels, 0..255) is not like the training images; empty when it is. */
export function outOfDomain(rgb: Image, domain: ImageDomain): string[] {
  if (rgb.channels !== 3) throw new Error(`the domain check needs the image decoded in colour (3 channels), got ${rgb.channels}`);
  const reasons: string[] = [];
  const plane = rgb.width * rgb.height;
  const { data } = rgb;
  if (domain.grey) {
    let chroma = 0;
    for (let p = 0; p < plane; p++) chroma += Math.abs(data[p] - data[plane + p]) + Math.abs(data[plane + p] - data[2 * plane + p]);
    if (chroma / plane > CHROMA) reasons.push('in colour');
  }
  const ratio = Math.max(rgb.width / domain.width, domain.width / rgb.width, rgb.height / domain.height, domain.height / rgb.height);
  if (ratio > SIZE_FACTOR) reasons.push(`${rgb.width}x${rgb.height} pixels`);
  if (domain.darkBackground) {
    let sum = 0;
    let count = 0;
    const luma = (p: number): number => 0.299 * data[p] + 0.587 * data[plane + p] + 0.114 * data[2 * plane + p];
    for (let x = 0; x < rgb.width; x++) {
      sum += luma(x) + luma((rgb.height - 1) * rgb.width + x);
      count += 2;
    }
    for (let y = 1; y < rgb.height - 1; y++) {
      sum += luma(y * rgb.width) + luma(y * rgb.width + rgb.width - 1);
      count += 2;
    }
    if (sum / count > LIGHT_BORDER) reasons.push('on a light background');
  }
  return reasons;
}
