// PNG (pngjs) and JPEG (jpeg-js) files to planar images on the 0..255 scale. The size is read from
// the header and checked before anything is decompressed, so a small file that claims a huge image
// (a decompression bomb) is refused without allocating for it.
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { ImageError } from '../errors.js';
import type { Image } from './image.js';
import { image } from './image.js';

export interface DecodeOptions {
  /** the name errors use (a file path); default 'image' */
  readonly source?: string;
  /** what transparent pixels are composited onto, 0..255 RGB; default white */
  readonly background?: readonly [number, number, number];
  /** more pixels than this are refused before decoding; default 64 Mi */
  readonly maxPixels?: number;
  /** 3 (default): RGB, grey replicated; 1: grey, colour as ITU-R BT.601 luma */
  readonly channels?: 1 | 3;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const DEFAULT_MAX_PIXELS = 64 * 2 ** 20;

export function imageSize(bytes: Uint8Array, source = 'image'): { format: 'png' | 'jpeg'; width: number; height: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) {
    // IHDR is the first chunk: length (4), type (4), width (4), height (4)
    if (bytes.length < 24) throw new ImageError('TRUNCATED', `${source}: the PNG ends before its header (${bytes.length} bytes)`);
    if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') throw new ImageError('CORRUPT', `${source}: the PNG's first chunk is not IHDR`);
    return checked(source, 'png', view.getUint32(16), view.getUint32(20));
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    // segments after SOI: FF, marker, 2-byte length (which counts itself); a SOFn holds the size
    for (let at = 2; at + 4 <= bytes.length; ) {
      if (bytes[at] !== 0xff) throw new ImageError('CORRUPT', `${source}: expected a JPEG marker at byte ${at}`);
      const marker = bytes[at + 1];
      if (marker === 0xff) {
        at++; // fill byte
        continue;
      }
      const length = view.getUint16(at + 2);
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        if (at + 9 > bytes.length) break;
        return checked(source, 'jpeg', view.getUint16(at + 7), view.getUint16(at + 5));
      }
      at += 2 + length;
    }
    throw new ImageError('TRUNCATED', `${source}: the JPEG ends before its frame header (SOF)`);
  }
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new ImageError('UNSUPPORTED', `${source}: not a PNG or JPEG file (it starts with ${head || 'nothing: the file is empty'}); PNG and JPEG are read`);
}

function checked<F extends 'png' | 'jpeg'>(source: string, format: F, width: number, height: number): { format: F; width: number; height: number } {
  if (!width || !height) throw new ImageError('CORRUPT', `${source}: the ${format.toUpperCase()} header says ${width}x${height} pixels`);
  return { format, width, height };
}

export function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Image {
  const { source = 'image', background = [255, 255, 255], maxPixels = DEFAULT_MAX_PIXELS, channels = 3 } = options;
  const { format, width, height } = imageSize(bytes, source);
  if (width * height > maxPixels) {
    throw new ImageError('TOO_LARGE', `${source}: ${width}x${height} is ${width * height} pixels, more than the limit of ${maxPixels}`);
  }
  const rgba = format === 'png' ? decodePng(bytes, source) : decodeJpeg(bytes, source, maxPixels);
  return planar(rgba, width, height, channels, background);
}

/** RGBA values and the scale that maps them to 0..255. */
interface Rgba {
  readonly data: ArrayLike<number>;
  readonly max: number;
}

function decodePng(bytes: Uint8Array, source: string): Rgba {
  let png: PNG & { colorType: number; depth: number }; // what PNG.sync.read fills in, beyond the typings
  try {
    // skipRescale keeps 16-bit samples as they are (pngjs would round them to 8 bits)
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true }) as typeof png;
  } catch (e) {
    // a PNG ends with an empty IEND chunk: without it the file was cut short
    const ended = String.fromCharCode(...bytes.subarray(bytes.length - 8, bytes.length - 4)) === 'IEND';
    throw new ImageError(ended ? 'CORRUPT' : 'TRUNCATED', `${source}: not a valid PNG (${(e as Error).message})`);
  }
  // samples of 1, 2 and 4 bits arrive as 0..2^depth-1; palette entries are always 8-bit
  const depth = png.colorType === 3 ? 8 : png.depth;
  return { data: png.data as ArrayLike<number>, max: 2 ** depth - 1 };
}

function decodeJpeg(bytes: Uint8Array, source: string, maxPixels: number): Rgba {
  try {
    // tolerantDecoding off: a damaged stream is an error, not an image with grey blocks
    const out = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, tolerantDecoding: false, maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: Math.max(512, (maxPixels * 8) / 2 ** 20) });
    return { data: out.data, max: 255 };
  } catch (e) {
    const why = (e as Error).message;
    // a JPEG ends with the EOI marker (FF D9): without it the file was cut short
    const ended = bytes[bytes.length - 2] === 0xff && bytes[bytes.length - 1] === 0xd9;
    const code = /unsupported|only single frame/i.test(why) ? 'UNSUPPORTED' : ended ? 'CORRUPT' : 'TRUNCATED';
    throw new ImageError(code, `${source}: not a valid JPEG (${why})`);
  }
}

/** Interleaved RGBA to planar RGB or luma, alpha composited over the background. */
function planar(rgba: Rgba, width: number, height: number, channels: 1 | 3, background: readonly number[]): Image {
  const plane = width * height;
  const out = image(channels, height, width);
  const unit = 255 / rgba.max;
  const rgb = [0, 0, 0];
  for (let p = 0; p < plane; p++) {
    const alpha = rgba.data[4 * p + 3] / rgba.max;
    for (let c = 0; c < 3; c++) rgb[c] = rgba.data[4 * p + c] * unit * alpha + background[c] * (1 - alpha);
    if (channels === 3) for (let c = 0; c < 3; c++) out.data[c * plane + p] = rgb[c];
    else out.data[p] = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
  }
  return out;
}
