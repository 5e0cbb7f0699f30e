// The pixels of the walkthrough's pictures, as RGBA that a canvas takes (ImageData) and that
// render-png.ts encodes as PNG files for the terminal twin: an image, a grid of every feature map of
// a layer on one shared colour scale, and conv1's filters as tiles. Grey for values that are never
// negative, a blue-white-red diverging map around 0 otherwise, so that a sign reads as a colour.
import type { ChartSpec } from '../charts.js';
import type { Image } from '../data/image.js';
import type { Tensor } from '../tensor.js';
import { topK } from '../tensor.js';

type Rgb = [number, number, number];

/** Opaque RGBA, 4 bytes a pixel, row by row. */
export interface Picture {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8ClampedArray;
}

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

function paint(width: number, height: number, pixel: (x: number, y: number) => Rgb): Picture {
  const rgba = new Uint8ClampedArray(width * height * 4); // clamped: a value past the range saturates rather than wraps
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      const at = (y * width + x) * 4;
      rgba[at] = r;
      rgba[at + 1] = g;
      rgba[at + 2] = b;
      rgba[at + 3] = 255;
    }
  }
  return { width, height, rgba };
}

/** An image: RGB as it is (on `range`), a single channel through `colour`. */
export function imagePicture(img: Image, range: readonly [number, number], scale = 1): Picture {
  const { channels: c, height: h, width: w } = img;
  const [lo, hi] = range;
  const plane = h * w;
  return paint(w * scale, h * scale, (x, y) => {
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

const FRAME: Rgb = [128, 128, 128];

/** Which tile of the grid pixel (x, y) falls in, and where in it; undefined on a gap or past the last tile. */
function tileAt(x: number, y: number, columns: number, tileH: number, tileW: number, count: number): { tile: number; tx: number; ty: number } | undefined {
  const [tx, ty] = [(x - 1) % (tileW + 1), (y - 1) % (tileH + 1)];
  const tile = Math.floor((y - 1) / (tileH + 1)) * columns + Math.floor((x - 1) / (tileW + 1));
  return x === 0 || y === 0 || tx === tileW || ty === tileH || tile >= count ? undefined : { tile, tx, ty };
}

/**
 * Every map of a layer's output ([C, H, W]; [F] is shown as one row of F cells) in a grid, all on
 * `range` (the layer's or a global one), each map pixel `scale` pixels wide; gaps are mid-grey.
 */
export function mapsGridPicture(output: Tensor, range: readonly [number, number], scale = 1): Picture {
  const [c, h, w] = output.shape.length === 3 ? output.shape : [1, 1, output.shape[0]];
  const [lo, hi] = range;
  const layout = gridLayout(c, h * scale, w * scale);
  return paint(layout.width, layout.height, (x, y) => {
    const at = tileAt(x, y, layout.columns, h * scale, w * scale, c);
    return at ? colour(output.data[(at.tile * h + Math.floor(at.ty / scale)) * w + Math.floor(at.tx / scale)], lo, hi) : FRAME;
  });
}

/**
 * conv1's filters [O, C, k, k] as tiles, each on its own symmetric range (a filter's pattern, not its
 * size, is what shows); RGB filters in colour around mid-grey, others through the diverging map.
 */
export function filtersPicture(weight: Tensor, scale = 4): Picture {
  const [o, c, k] = weight.shape;
  const layout = gridLayout(o, k * scale, k * scale);
  const bound = Array.from({ length: o }, (_, f) => {
    let m = 1e-30;
    for (let i = f * c * k * k; i < (f + 1) * c * k * k; i++) m = Math.max(m, Math.abs(weight.data[i]));
    return m;
  });
  return paint(layout.width, layout.height, (x, y) => {
    const at = tileAt(x, y, layout.columns, k * scale, k * scale, o);
    if (!at) return FRAME;
    const value = (ch: number): number => weight.data[((at.tile * c + ch) * k + Math.floor(at.ty / scale)) * k + Math.floor(at.tx / scale)];
    if (c === 3) return [0, 1, 2].map((ch) => Math.round(127.5 + (127.5 * value(ch)) / bound[at.tile])) as Rgb;
    return colour(value(0), -bound[at.tile], bound[at.tile]);
  });
}

/** A vector ([F], an FC layer's output) as a near-square grid of `cell`-pixel cells, row by row, on `range`. */
export function vectorGridPicture(values: ArrayLike<number>, range: readonly [number, number], cell: number): Picture {
  const columns = Math.ceil(Math.sqrt(values.length));
  const rows = Math.ceil(values.length / columns);
  const [lo, hi] = range;
  return paint(columns * cell + 1, rows * cell + 1, (x, y) => {
    const i = Math.floor((y - 1) / cell) * columns + Math.floor((x - 1) / cell);
    return x === 0 || y === 0 || i >= values.length ? FRAME : colour(values[i], lo, hi);
  });
}

/** How many classes a class chart shows: all of a small model's, else the most probable. */
const CLASS_BARS = 15;

/** The classes' values (probabilities, or the scores before the softmax) as labelled horizontal bars, most first. */
export function classBarsSpec(values: ArrayLike<number>, labels: readonly string[], title: string, probabilities: boolean): ChartSpec {
  const shown = values.length <= CLASS_BARS ? Array.from(values, (v, i) => ({ class: i, value: v })).sort((a, b) => b.value - a.value) : topK(values, CLASS_BARS).map((t) => ({ class: t.class, value: t.prob }));
  const rows = shown.map((r) => {
    const value = probabilities ? 100 * r.value : r.value;
    // a negative bar's number sits right of zero, clear of the bar
    return { label: `${labels[r.class] ?? `class ${r.class}`} (${r.class})`, value, at: Math.max(0, value) };
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, anchor: 'start' },
    width: 360,
    data: { values: rows },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: null, title: null },
      x: { field: 'value', type: 'quantitative', title: probabilities ? 'probability (%)' : 'score', ...(probabilities && { scale: { domain: [0, 100] } }) },
    },
    layer: [
      { mark: { type: 'bar', color: '#4c78a8' } },
      { mark: { type: 'text', align: 'left', dx: 3 }, encoding: { x: { field: 'at', type: 'quantitative' }, text: { field: 'value', format: probabilities ? '.2f' : '.3~g' } } },
    ],
  } as ChartSpec;
}
