// Pictures for the terminal twin, as PNG files (pngjs): an image, a grid of every feature map of a
// layer on one shared colour scale, and conv1's filters as tiles. Grey for values that are never
// negative, a blue-white-red diverging map around 0 otherwise, so that a sign reads as a colour.
import { PNG } from 'pngjs';
import type { Image } from '../data/image.js';
import type { Tensor } from '../tensor.js';

type Rgb = [number, number, number];

/** Grey from lo (black) to hi (white), or diverging (blue, white at 0, red) when lo < 0. */
export function colour(v: number, lo: number, hi: number): Rgb {
  if (lo < 0) {
    const m = Math.max(-lo, hi, 1e-30);
    const t = Math.max(-1, Math.min(1, v / m));
    const fade = Math.round(255 * (1 - Math.abs(t)));
    return t < 0 ? [fade, fade, 255] : [255, fade, fade];
  }
  const g = Math.round(255 * Math.max(0, Math.min(1, (v - lo) / Math.max(hi - lo, 1e-30))));
  return [g, g, g];
}

function encode(width: number, height: number, pixel: (x: number, y: number) => Rgb): Uint8Array {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      const at = (y * width + x) * 4;
      png.data[at] = r;
      png.data[at + 1] = g;
      png.data[at + 2] = b;
      png.data[at + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

/** An image: RGB as it is (on `range`), a single channel through `colour`. */
export function imagePng(img: Image, range: readonly [number, number], scale = 1): Uint8Array {
  const { channels: c, height: h, width: w } = img;
  const [lo, hi] = range;
  const plane = h * w;
  return encode(w * scale, h * scale, (x, y) => {
    const i = Math.floor(y / scale) * w + Math.floor(x / scale);
    if (c === 3 && lo >= 0) return [0, 1, 2].map((ch) => Math.round((255 * (img.data[ch * plane + i] - lo)) / (hi - lo))) as Rgb;
    if (c === 3) return colour((img.data[i] + img.data[plane + i] + img.data[2 * plane + i]) / 3, lo, hi);
    return colour(img.data[i], lo, hi);
  });
}

/** Where the grid puts `count` tiles of `tile` pixels: columns, rows and the picture's size (1-pixel gaps). */
export function gridLayout(count: number, tileH: number, tileW: number): { columns: number; rows: number; width: number; height: number } {
  const columns = Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / columns);
  return { columns, rows, width: columns * (tileW + 1) + 1, height: rows * (tileH + 1) + 1 };
}

/**
 * Every map of a layer's output ([C, H, W]; [F] is shown as one row of F cells) in a grid, all on
 * `range` (the layer's or a global one), each map pixel `scale` pixels wide; gaps are mid-grey.
 */
export function mapsGridPng(output: Tensor, range: readonly [number, number], scale = 1): Uint8Array {
  const [c, h, w] = output.shape.length === 3 ? output.shape : [1, 1, output.shape[0]];
  const [lo, hi] = range;
  const layout = gridLayout(c, h * scale, w * scale);
  return encode(layout.width, layout.height, (x, y) => {
    const col = Math.floor((x - 1) / (w * scale + 1));
    const row = Math.floor((y - 1) / (h * scale + 1));
    const tx = (x - 1) % (w * scale + 1);
    const ty = (y - 1) % (h * scale + 1);
    const map = row * layout.columns + col;
    if (x === 0 || y === 0 || tx === w * scale || ty === h * scale || map >= c) return [128, 128, 128];
    return colour(output.data[(map * h + Math.floor(ty / scale)) * w + Math.floor(tx / scale)], lo, hi);
  });
}

/**
 * conv1's filters [O, C, k, k] as tiles, each on its own symmetric range (a filter's pattern, not its
 * size, is what shows); RGB filters in colour around mid-grey, others through the diverging map.
 */
export function filtersPng(weight: Tensor, scale = 4): Uint8Array {
  const [o, c, k] = weight.shape;
  const layout = gridLayout(o, k * scale, k * scale);
  const bound = Array.from({ length: o }, (_, f) => {
    let m = 1e-30;
    for (let i = f * c * k * k; i < (f + 1) * c * k * k; i++) m = Math.max(m, Math.abs(weight.data[i]));
    return m;
  });
  return encode(layout.width, layout.height, (x, y) => {
    const col = Math.floor((x - 1) / (k * scale + 1));
    const row = Math.floor((y - 1) / (k * scale + 1));
    const tx = (x - 1) % (k * scale + 1);
    const ty = (y - 1) % (k * scale + 1);
    const f = row * layout.columns + col;
    if (x === 0 || y === 0 || tx === k * scale || ty === k * scale || f >= o) return [128, 128, 128];
    const at = (ch: number): number => weight.data[((f * c + ch) * k + Math.floor(ty / scale)) * k + Math.floor(tx / scale)];
    if (c === 3) return [0, 1, 2].map((ch) => Math.round(127.5 + (127.5 * at(ch)) / bound[f])) as Rgb;
    return colour(at(0), -bound[f], bound[f]);
  });
}
