// Resizing, cropping, mirroring and mean subtraction: the fixed part of the paper's pipeline. Every
// function returns a new image and leaves its input alone.
import { ShapeError } from '../errors.js';
import type { Preprocessing } from '../models/preprocessing.js';
import type { Tensor } from '../tensor.js';
import { tensor } from '../tensor.js';
import type { Image } from './image.js';
import { image } from './image.js';

/**
 * Resampling weights along one axis: output i reads sources `from[i] .. from[i] + count[i] - 1`
 * with `weights`. Shrinking averages the exact area each output pixel covers (a box filter with
 * fractional edges: no aliasing); growing is bilinear with pixel centres at +0.5 (align_corners
 * false, as PyTorch and PIL).
 */
function axisWeights(from: number, to: number): { start: Int32Array; count: Int32Array; weights: Float64Array[] } {
  const start = new Int32Array(to);
  const count = new Int32Array(to);
  const weights: Float64Array[] = [];
  const s = from / to;
  for (let i = 0; i < to; i++) {
    if (from > to) {
      // i * from / to, not i * s: the edges of a whole-factor block land exactly on source pixels
      const lo = (i * from) / to;
      const hi = ((i + 1) * from) / to;
      const first = Math.floor(lo);
      const last = Math.min(Math.ceil(hi), from) - 1;
      const w = new Float64Array(last - first + 1);
      for (let j = first; j <= last; j++) w[j - first] = (Math.min(hi, j + 1) - Math.max(lo, j)) / s;
      [start[i], count[i]] = [first, w.length];
      weights.push(w);
    } else {
      const x = Math.min(Math.max((i + 0.5) * s - 0.5, 0), from - 1);
      const left = Math.min(Math.floor(x), from - 1);
      const t = x - left;
      [start[i], count[i]] = [left, left + 1 < from ? 2 : 1];
      weights.push(left + 1 < from ? Float64Array.of(1 - t, t) : Float64Array.of(1));
    }
  }
  return { start, count, weights };
}

/** The shorter side becomes `side`, the longer keeps the aspect ratio (rounded, at least 1). */
export function resizeShorter(img: Image, side: number): Image {
  const { height: h, width: w } = img;
  const short = Math.min(h, w);
  const [outH, outW] = h <= w ? [side, Math.max(1, Math.round((w * side) / short))] : [Math.max(1, Math.round((h * side) / short)), side];
  return resize(img, outH, outW);
}

/** Separable: rows first, then columns, in float64 throughout and rounded to float32 once. */
export function resize(img: Image, outH: number, outW: number): Image {
  const { channels: c, height: h, width: w } = img;
  if (outH === h && outW === w) return image(c, h, w, img.data.slice());
  const across = axisWeights(w, outW);
  const down = axisWeights(h, outH);
  const mid = new Float64Array(c * h * outW);
  for (let row = 0; row < c * h; row++) {
    for (let x = 0; x < outW; x++) {
      let sum = 0;
      const wx = across.weights[x];
      for (let k = 0; k < across.count[x]; k++) sum += wx[k] * img.data[row * w + across.start[x] + k];
      mid[row * outW + x] = sum;
    }
  }
  const out = image(c, outH, outW);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < outH; y++) {
      const wy = down.weights[y];
      for (let x = 0; x < outW; x++) {
        let sum = 0;
        for (let k = 0; k < down.count[y]; k++) sum += wy[k] * mid[(ch * h + down.start[y] + k) * outW + x];
        out.data[(ch * outH + y) * outW + x] = sum;
      }
    }
  }
  return out;
}

export function crop(img: Image, top: number, left: number, height: number, width: number): Image {
  if (![top, left, height, width].every(Number.isSafeInteger) || !(top >= 0 && left >= 0 && height > 0 && width > 0 && top + height <= img.height && left + width <= img.width)) {
    throw new ShapeError('BAD_CROP', `a ${height}x${width} crop at (${top}, ${left}) does not fit a ${img.height}x${img.width} image (whole pixels, inside it, at least 1x1)`);
  }
  const out = image(img.channels, height, width);
  for (let c = 0; c < img.channels; c++) {
    for (let y = 0; y < height; y++) {
      const at = (c * img.height + top + y) * img.width + left;
      out.data.set(img.data.subarray(at, at + width), (c * height + y) * width);
    }
  }
  return out;
}

/** Offsets rounded down, as Caffe's centre crop (torchvision rounds half to even: the same at 256 → 227 and 224). */
export function centerCrop(img: Image, height: number, width: number): Image {
  return crop(img, Math.floor((img.height - height) / 2), Math.floor((img.width - width) / 2), height, width);
}

export function flipHorizontal(img: Image): Image {
  const out = image(img.channels, img.height, img.width);
  const w = img.width;
  for (let row = 0; row < img.channels * img.height; row++) for (let x = 0; x < w; x++) out.data[row * w + x] = img.data[row * w + w - 1 - x];
  return out;
}

/** Four corners, centre, then the mirror of each in the same order (torchvision's TenCrop order). */
export function tenCrops(img: Image, size: number): Image[] {
  const [bottom, right] = [img.height - size, img.width - size];
  const five = [crop(img, 0, 0, size, size), crop(img, 0, right, size, size), crop(img, bottom, 0, size, size), crop(img, bottom, right, size, size), centerCrop(img, size, size)];
  return [...five, ...five.map(flipHorizontal)];
}

/**
 * `(x * scale - mean) / std`, channels in the network's order (RGB reversed for 'bgr'). The mean
 * image, when the config asks for one, must be on the scale the pixels have after `scale` and the
 * size of `img`; means and deviations are in the network's channel order.
 */
export function normalize(img: Image, p: Preprocessing, meanImage?: Image): Image {
  const { channels: c, height: h, width: w } = img;
  const plane = h * w;
  if (p.mean === 'image') {
    if (!meanImage) throw new ShapeError('NO_MEAN_IMAGE', 'this preprocessing subtracts a mean image, and none was given');
    if (meanImage.channels !== c || meanImage.height !== h || meanImage.width !== w) {
      throw new ShapeError('MEAN_SHAPE', `the mean image is ${meanImage.channels}x${meanImage.height}x${meanImage.width}, the image ${c}x${h}x${w}`);
    }
  } else if (p.mean.length !== c) {
    throw new ShapeError('MEAN_SHAPE', `${p.mean.length} channel means for a ${c}-channel image`);
  }
  if (p.std && p.std.length !== c) throw new ShapeError('STD_SHAPE', `${p.std.length} channel deviations for a ${c}-channel image`);
  const out = image(c, h, w);
  if (p.order === 'bgr' && c !== 3) throw new ShapeError('ORDER', `BGR channel order for a ${c}-channel image`);
  for (let ch = 0; ch < c; ch++) {
    const std = p.std?.[ch] ?? 1;
    const mean = p.mean === 'image' ? undefined : p.mean[ch];
    const from = (p.order === 'bgr' ? c - 1 - ch : ch) * plane;
    for (let i = 0; i < plane; i++) {
      const at = ch * plane + i;
      out.data[at] = (img.data[from + i] * p.scale - (mean ?? meanImage!.data[at])) / std;
    }
  }
  return out;
}

/**
 * The paper's fixed part: the shorter side rescaled to `p.resize`, the centre square kept, the mean
 * subtracted. The crops of `p.crop` are the caller's (random in training, centre or ten in testing).
 */
export function prepare(img: Image, p: Preprocessing, meanImage?: Image): Image {
  return normalize(centerCrop(resizeShorter(img, p.resize), p.resize, p.resize), p, meanImage);
}

/** [N, C, H, W] from images of one size. */
export function stackImages(images: readonly Image[]): Tensor {
  const [first] = images;
  if (!first) throw new ShapeError('EMPTY_BATCH', 'a batch needs at least one image, got none');
  const x = tensor([images.length, first.channels, first.height, first.width]);
  images.forEach((img, n) => {
    if (img.channels !== first.channels || img.height !== first.height || img.width !== first.width) {
      throw new ShapeError('SIZE_MISMATCH', `image ${n} is ${img.channels}x${img.height}x${img.width}, image 0 ${first.channels}x${first.height}x${first.width}`);
    }
    x.data.set(img.data, n * img.data.length);
  });
  return x;
}
