// Image decoding without Node: the header reading and size limit, the JPEG path (jpeg-js is plain
// JavaScript) and the conversion to planar images, shared by decode.ts (Node: PNG through zlib and
// pngjs) and by a browser, which decodes PNGs itself and passes them to decodeImageWith.
import jpeg from 'jpeg-js';
import { ImageError } from '../errors.js';
import type { Image } from './image.js';
import { image } from './image.js';

export interface DecodeOptions {
  /** name used in error messages (a file path); default 'image' */
  source?: string;
  /** colour that transparent pixels are composited onto, 0..255 RGB; default white [255,255,255] */
  background?: readonly [number, number, number];
  /** refuse images with more pixels than this, before decoding them (decompression bombs); default 64 * 2**20 */
  maxPixels?: number;
  /** 3 (default): RGB, grey sources replicated; 1: grey, colour sources converted with ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B */
  channels?: 1 | 3;
}

/** The options with their defaults filled in (destructuring, so that an explicit undefined takes the default too). */
export function decodeSettings({ source = 'image', background = [255, 255, 255], maxPixels = 64 * 2 ** 20, channels = 3 }: DecodeOptions = {}): Required<DecodeOptions> {
  return { source, background, maxPixels, channels };
}

interface Frame {
  width: number;
  height: number;
  /** bits per sample: the PNG bit depth, the JPEG sample precision */
  depth: number;
  /** samples per pixel: by PNG colour type (a palette index is one), the JPEG frame's components */
  samples: number;
}
export type PngHeader = Frame & { format: 'png'; colorType: number; interlaced: boolean };
/** `sofAt`: where the frame header's marker is */
export type JpegHeader = Frame & { format: 'jpeg'; sof: number; sofAt: number };
export type Header = PngHeader | JpegHeader;

/** Interleaved RGB or RGBA samples on a 0..max scale. */
export interface Pixels {
  data: ArrayLike<number>;
  stride: 3 | 4;
  max: number;
}

/** A PNG chunk: its type, where its length field starts, and its data length. */
export interface PngChunk {
  type: string;
  at: number;
  length: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_SOI = [0xff, 0xd8, 0xff]; // the SOI marker and the first byte of the next
const PNG_SAMPLES: Partial<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }; // by colour type
const PNG_DEPTHS: Partial<Record<number, number[]>> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
// CRC-32 as PNG defines it, to name a chunk that fails its check (zlib.crc32 needs Node 20.15, and browsers have none)
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  for (let k = 0; k < 8; k++) n = n & 1 ? 0xedb88320 ^ (n >>> 1) : n >>> 1;
  return n;
});
const crc32 = (bytes: Uint8Array): number => ~bytes.reduce((crc, b) => CRC_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8), ~0) >>> 0;
const latin1 = (bytes: Uint8Array, from: number, to: number): string => String.fromCharCode(...bytes.subarray(from, to));
const viewOf = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export function imageSize(bytes: Uint8Array, source = 'image'): { format: 'png' | 'jpeg'; width: number; height: number } {
  const { format, width, height } = readHeader(bytes, source);
  return { format, width, height };
}

export function readHeader(bytes: Uint8Array, source: string): Header {
  const fail = (code: string, why: string): never => {
    throw new ImageError(code, `${source}: ${why}`);
  };
  const sized = (header: Header): Header =>
    header.width && header.height ? header : fail('CORRUPT', `the ${header.format.toUpperCase()} header says ${header.width}x${header.height} pixels`);
  const view = viewOf(bytes);
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) {
    // IHDR is the first chunk: length, type, width, height, depth, colour type, 2 methods, interlace
    if (bytes.length < 29) fail('TRUNCATED', `the PNG ends inside its IHDR header (${bytes.length} bytes)`);
    if (latin1(bytes, 12, 16) !== 'IHDR') fail('CORRUPT', `the PNG's first chunk is '${latin1(bytes, 12, 16)}', expected IHDR`);
    const [depth, colorType] = [bytes[24], bytes[25]];
    return sized({ format: 'png', width: view.getUint32(16), height: view.getUint32(20), depth, samples: PNG_SAMPLES[colorType] ?? 0, colorType, interlaced: bytes[28] === 1 });
  }
  if (JPEG_SOI.every((b, i) => bytes[i] === b)) {
    // segments after SOI: FF, marker, a 2-byte length that counts itself; the first SOFn holds the frame
    for (let at = 2; at + 4 <= bytes.length; ) {
      const marker = bytes[at + 1];
      if (bytes[at] !== 0xff) fail('CORRUPT', `expected a JPEG marker at byte ${at}, found ${bytes[at].toString(16)}`);
      if (marker === 0xda || marker === 0xd9) fail('CORRUPT', 'the JPEG has no frame header (SOF) before its image data');
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        if (at + 10 > bytes.length) break;
        return sized({ format: 'jpeg', width: view.getUint16(at + 7), height: view.getUint16(at + 5), depth: bytes[at + 4], samples: bytes[at + 9], sof: marker, sofAt: at });
      }
      at += marker === 0xff ? 1 : 2 + view.getUint16(at + 2); // FF FF is a fill byte
    }
    return fail('TRUNCATED', 'the JPEG ends before its frame header (SOF)');
  }
  const cut = [PNG_SIGNATURE, JPEG_SOI].find((magic) => bytes.length < magic.length && bytes.every((b, i) => b === magic[i]));
  if (cut) fail('TRUNCATED', bytes.length ? `the file ends inside the ${cut === JPEG_SOI ? 'JPEG' : 'PNG'} signature (${bytes.length} bytes)` : 'the file is empty');
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return fail('UNSUPPORTED', `not a PNG or JPEG file (it starts with ${head}); PNG and JPEG are read`);
}

/** Refuses an image with more than maxPixels pixels, before anything is decompressed. */
export function checkSize({ width, height }: Header, options: DecodeOptions = {}): void {
  const { source, maxPixels } = decodeSettings(options);
  if (width * height > maxPixels) {
    throw new ImageError('TOO_LARGE', `${source}: ${width}x${height} is ${width * height} pixels, more than the limit of ${maxPixels}`);
  }
}

/** Refuses a colour type and bit depth that PNG does not define (pngjs would report them obscurely). */
export function checkPngDepth({ depth, colorType }: PngHeader, source: string): void {
  if (!PNG_DEPTHS[colorType]?.includes(depth)) {
    throw new ImageError('CORRUPT', `${source}: the PNG header gives colour type ${colorType} with ${depth}-bit samples, which PNG does not define`);
  }
}

const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]]; // x0, y0, dx, dy per pass
/** deflate's best ratio: a 258-byte match in under 2 bits, so no stream inflates more than this (plus a little) */
const DEFLATE_MAX_RATIO = 1032;

/** Bytes of the inflated image data: rows of a filter byte and packed samples, per Adam7 pass when interlaced. */
export function pngDataSize({ width, height, depth, samples, interlaced }: PngHeader): number {
  const passes = (interlaced ? ADAM7 : [[0, 0, 1, 1]]).map(([x0, y0, dx, dy]) => [Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy)]);
  return passes.reduce((sum, [columns, rows]) => sum + (columns > 0 ? rows * (1 + Math.ceil((columns * depth * samples) / 8)) : 0), 0);
}

/**
 * The chunk layout the PNG specification requires (section 5.6), checked before anything is
 * inflated: decoders differ on files that break it (pngjs takes the last IHDR, so a second one would
 * slip past the size check on the first), and the image data must be able to hold the image at
 * deflate's best ratio, so a few bytes cannot claim gigabytes.
 */
export function checkPngChunks(bytes: Uint8Array, header: PngHeader, chunks: readonly PngChunk[], source: string): void {
  const corrupt = (why: string): never => {
    throw new ImageError('CORRUPT', `${source}: not a valid PNG (${why})`);
  };
  const { colorType, depth } = header;
  const seen = new Map<string, number>(); // type -> index of its first chunk
  let idatEnd = -1;
  let idatBytes = 0;
  chunks.forEach(({ type, at, length }, i) => {
    if (!/^[A-Za-z]{4}$/.test(type)) corrupt(`the chunk at byte ${at} has type bytes ${JSON.stringify(type)}, not four letters`);
    if (length > 2 ** 31 - 1) corrupt(`the ${type} chunk at byte ${at} declares ${length} bytes, more than PNG's 2^31 - 1`);
    const repeat = seen.has(type);
    if (!repeat) seen.set(type, i);
    const after = (other: string): boolean => seen.has(other) && seen.get(other)! < i;
    if (i === 0 ? type !== 'IHDR' || length !== 13 : type === 'IHDR') corrupt(i === 0 ? `its IHDR chunk is ${length} bytes, not 13` : `a second IHDR chunk at byte ${at}`);
    if (type === 'PLTE') {
      if (repeat) corrupt(`a second PLTE chunk at byte ${at}`);
      if (after('IDAT')) corrupt('its PLTE chunk comes after the image data');
      if (colorType === 0 || colorType === 4) corrupt(`a PLTE chunk in a ${colorType === 0 ? 'grey' : 'grey and alpha'} image`);
      const entries = length / 3;
      if (!Number.isInteger(entries) || entries < 1 || entries > 256 || (colorType === 3 && entries > 2 ** depth)) corrupt(`its PLTE chunk of ${length} bytes is not 1 to ${colorType === 3 ? Math.min(256, 2 ** depth) : 256} RGB entries`);
    } else if (type === 'tRNS') {
      if (repeat || after('IDAT') || colorType === 4 || colorType === 6) corrupt(`a tRNS chunk at byte ${at} where PNG allows none`);
    } else if (type === 'IDAT') {
      if (repeat && idatEnd !== i - 1) corrupt(`its IDAT chunks are not consecutive (another at byte ${at})`);
      idatEnd = i;
      idatBytes += length;
    } else if (type === 'IEND') {
      if (length !== 0) corrupt(`its IEND chunk has ${length} bytes of data, not 0`);
    } else if (/^[A-Z]/.test(type) && type !== 'IHDR') {
      // an unknown critical chunk: the specification says a decoder must not show the image
      corrupt(`a critical chunk '${type}' at byte ${at} that PNG does not define`);
    }
  });
  if (chunks.at(-1)?.type !== 'IEND') return; // cut short: the decode names it
  // every chunk's CRC, ancillary ones too: a file damaged anywhere is damaged (pngjs skips most)
  if (chunks.some((c) => failsCrc(bytes, c))) throw pngError(bytes, source, chunks, 'a chunk fails its CRC check');
  if (colorType === 3 && !seen.has('PLTE')) corrupt('a palette image without a PLTE chunk');
  if (!seen.has('IDAT')) corrupt('no IDAT chunk: the file holds no image data');
  const needed = pngDataSize(header);
  if (idatBytes * DEFLATE_MAX_RATIO + 64 < needed) corrupt(`its ${idatBytes} bytes of image data cannot hold the ${needed} bytes a ${header.width}x${header.height} image inflates to`);
}

/** The chunks from the signature up to IEND, or to where the file stops. */
export function pngChunks(bytes: Uint8Array): PngChunk[] {
  const view = viewOf(bytes);
  const chunks: PngChunk[] = [];
  for (let at = 8; at + 12 <= bytes.length && chunks.at(-1)?.type !== 'IEND'; ) {
    const length = view.getUint32(at); // then type, data, CRC
    chunks.push({ type: latin1(bytes, at + 4, at + 8), at, length });
    at += 12 + length;
  }
  return chunks;
}

const failsCrc = (bytes: Uint8Array, { at, length }: PngChunk): boolean =>
  at + 12 + length <= bytes.length && crc32(bytes.subarray(at + 4, at + 8 + length)) !== viewOf(bytes).getUint32(at + 8 + length);

/** The error for a PNG that did not decode: a chunk failing its CRC is named over `why`; no IEND means cut short. */
export function pngError(bytes: Uint8Array, source: string, chunks: readonly PngChunk[], why: string): ImageError {
  const ended = chunks.at(-1)?.type === 'IEND';
  const bad = chunks.find((c) => failsCrc(bytes, c));
  const reason = bad ? `its ${bad.type} chunk at byte ${bad.at} fails its CRC check` : why;
  return new ImageError(ended ? 'CORRUPT' : 'TRUNCATED', `${source}: not a valid PNG (${reason})${ended ? '' : '; the file ends before its IEND chunk'}`);
}

/**
 * Refuses a JPEG that jpeg-js would decode to something other than what its bytes say, or would
 * allocate for without the data to fill it, checking what libjpeg checks: one frame; Huffman tables
 * that are prefix codes without the all-ones code word (T.81 annex C) whose values fit 8-bit
 * samples; in a sequential file each component in one scan only (a second would overwrite the first);
 * every component in some scan (else part of the image is never coded); and at least one bit of
 * coded data per 8x8 block of every component, since each block's DC coefficient takes a Huffman
 * code of at least one bit (progressive files too, in their DC scan).
 */
export function checkJpegStructure(bytes: Uint8Array, { width, height, sof, sofAt, samples }: JpegHeader, source: string): void {
  const corrupt = (code: string, why: string): never => {
    throw new ImageError(code, `${source}: not a valid JPEG (${why})`);
  };
  const view = viewOf(bytes);
  if (sofAt + 10 + 3 * samples > bytes.length) corrupt('TRUNCATED', 'the file ends inside its frame header');
  const components = Array.from({ length: samples }, (_, i) => ({ id: bytes[sofAt + 10 + 3 * i], h: bytes[sofAt + 11 + 3 * i] >> 4, v: bytes[sofAt + 11 + 3 * i] & 15 }));
  if (components.some((c) => c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4)) corrupt('CORRUPT', 'a component has a sampling factor outside 1..4');
  const [hMax, vMax] = [Math.max(...components.map((c) => c.h)), Math.max(...components.map((c) => c.v))];
  const blocks = components.reduce((sum, c) => sum + Math.ceil(Math.ceil((width * c.h) / hMax) / 8) * Math.ceil(Math.ceil((height * c.v) / vMax) / 8), 0);
  const scans = new Map<number, number>(); // component id -> scans it is in
  let coded = 0; // bytes of entropy-coded data
  let at = 2;
  while (at + 4 <= bytes.length && bytes[at + 1] !== 0xd9) {
    if (bytes[at] !== 0xff) corrupt('CORRUPT', `expected a JPEG marker at byte ${at}, found ${bytes[at].toString(16)}`);
    if (bytes[at + 1] === 0xff) {
      at++; // a fill byte
      continue;
    }
    const marker = bytes[at + 1];
    const length = view.getUint16(at + 2);
    const end = at + 2 + length;
    if (end > bytes.length) corrupt('TRUNCATED', `the file ends inside the segment at byte ${at}`);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc && at !== sofAt) corrupt('CORRUPT', `a second frame header (SOF) at byte ${at}; a JPEG image has one`);
    if (marker === 0xc4) checkHuffmanTables(bytes.subarray(at + 4, end), at, corrupt);
    if (marker === 0xda) {
      for (let i = 0; i < bytes[at + 4] && at + 5 + 2 * i < bytes.length; i++) {
        const id = bytes[at + 5 + 2 * i];
        scans.set(id, (scans.get(id) ?? 0) + 1);
        if (sof !== 0xc2 && scans.get(id)! > 1) corrupt('CORRUPT', `component ${id} is coded again by the scan at byte ${at}; a sequential JPEG codes each component once`);
      }
      // the coded data runs to the next marker that is not a stuffed FF 00 or a restart marker
      let next = at + 2 + length;
      while (next + 1 < bytes.length && !(bytes[next] === 0xff && bytes[next + 1] !== 0 && (bytes[next + 1] < 0xd0 || bytes[next + 1] > 0xd7))) next++;
      coded += Math.max(0, next - (at + 2 + length));
      at = next;
    } else at += 2 + length;
  }
  // without its EOI marker the file was cut short, which explains whatever is missing
  const cut = bytes[at] !== 0xff || bytes[at + 1] !== 0xd9 ? 'TRUNCATED' : 'CORRUPT';
  const missing = components.find((c) => !scans.has(c.id));
  if (missing) corrupt(cut, `component ${missing.id} is in no scan, so part of the image is never coded`);
  if (coded * 8 < blocks) corrupt(cut, `its ${coded} bytes of coded data cannot hold the ${blocks} blocks of a ${width}x${height} image (each takes at least one bit)`);
}

/** The tables of one DHT segment (its data, which starts at byte `at` + 4), checked as libjpeg's jpeg_make_d_derived_tbl does. */
function checkHuffmanTables(data: Uint8Array, at: number, corrupt: (code: string, why: string) => never): void {
  for (let p = 0; p < data.length; ) {
    const [tableClass, id] = [data[p] >> 4, data[p] & 15];
    if (tableClass > 1 || id > 3) corrupt('CORRUPT', `the Huffman table segment at byte ${at} defines table class ${tableClass}, id ${id}`);
    if (p + 17 > data.length) corrupt('CORRUPT', `the Huffman table segment at byte ${at} ends inside a table`);
    const counts = data.subarray(p + 1, p + 17);
    const symbols = counts.reduce((sum, n) => sum + n, 0);
    if (symbols > 256 || p + 17 + symbols > data.length) corrupt('CORRUPT', `a Huffman table at byte ${at} has ${symbols} symbols, more than ${symbols > 256 ? 256 : 'its segment holds'}`);
    // canonical codes, length by length: the next free code must stay below 2^length (the all-ones word is not a code)
    let code = 0;
    counts.forEach((n, i) => {
      code += n;
      if (n && code >= 2 ** (i + 1)) corrupt('CORRUPT', `a Huffman table at byte ${at} has more codes of ${i + 1} bits than fit`);
      code *= 2;
    });
    // 8-bit samples: DC differences take at most 11 bits, AC coefficients at most 10 (T.81 F.1.2)
    const values = data.subarray(p + 17, p + 17 + symbols);
    if (values.some((s) => (tableClass === 0 ? s > 11 : (s & 15) > 10))) corrupt('CORRUPT', `a ${tableClass === 0 ? 'DC' : 'AC'} Huffman table at byte ${at} codes values of more bits than 8-bit samples have`);
    p += 17 + symbols;
  }
}

/** The JPEG's interleaved RGB samples (jpeg-js), within maxPixels. */
export function decodeJpegPixels(bytes: Uint8Array, source: string, header: JpegHeader, maxPixels: number): Pixels {
  const { sof, depth, samples } = header;
  const unsupported = (why: string): never => {
    throw new ImageError('UNSUPPORTED', `${source}: ${why}; 8-bit baseline, extended and progressive JPEGs with 1, 3 or 4 components are read`);
  };
  // jpeg-js decodes SOF0-2 (Huffman coded) but would misread the others, and 12-bit samples, without complaint
  if (sof > 0xc2) unsupported(`the JPEG is coded as SOF${sof - 0xc0} (lossless, hierarchical or arithmetic coded)`);
  if (depth !== 8) unsupported(`the JPEG has ${depth}-bit samples`);
  if (![1, 3, 4].includes(samples)) unsupported(`the JPEG has ${samples} colour components`);
  checkJpegStructure(bytes, header, source);
  try {
    // jpeg-js's own limits, to match maxPixels. +0.5: it multiplies back by 1e6, and rounding must not
    // refuse exactly maxPixels. Memory: per pixel and component, 4 bytes of coefficients, a line byte and
    // a sample byte; 3 output bytes; 1 MiB for tables and the block padding of small images. A file that
    // needs more (several frames, absurd sampling factors) is refused.
    const limits = { maxResolutionInMP: (maxPixels + 0.5) / 1e6, maxMemoryUsageInMB: (maxPixels * (4 * 6 + 3) + 2 ** 20) / 2 ** 20 };
    // tolerantDecoding off: a damaged stream is an error, not an image with grey blocks
    const out = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, ...limits });
    return { data: out.data, stride: 3, max: 255 };
  } catch (e) {
    const why = (e as Error).message;
    // a JPEG ends with the EOI marker (FF D9): without it the file was cut short
    const ended = bytes[bytes.length - 2] === 0xff && bytes[bytes.length - 1] === 0xd9;
    const code = /^max(ResolutionInMP|MemoryUsageInMB) limit/.test(why) ? 'TOO_LARGE' : /unsupported/i.test(why) ? 'UNSUPPORTED' : ended ? 'CORRUPT' : 'TRUNCATED';
    throw new ImageError(code, `${source}: not a valid JPEG (${why})${ended ? '' : '; the file does not end with an EOI marker'}`);
  }
}

/** Interleaved samples to planar RGB or luma on 0..255, alpha composited over the background. */
export function planar({ data, stride, max }: Pixels, { width, height }: Pick<Header, 'width' | 'height'>, channels: 1 | 3, background: readonly number[]): Image {
  const plane = width * height;
  const out = image(channels, height, width);
  const [r0, g0, b0] = background;
  const luma = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;
  const backgroundLuma = luma(r0, g0, b0);
  for (let p = 0, at = 0; p < plane; p++, at += stride) {
    const a = stride === 4 ? data[at + 3] / max : 1;
    const r = (data[at] * 255) / max;
    const g = (data[at + 1] * 255) / max;
    const b = (data[at + 2] * 255) / max;
    if (channels === 3) {
      out.data[p] = r * a + r0 * (1 - a);
      out.data[plane + p] = g * a + g0 * (1 - a);
      out.data[2 * plane + p] = b * a + b0 * (1 - a);
    } else out.data[p] = luma(r, g, b) * a + backgroundLuma * (1 - a); // luma is linear: it commutes with compositing
  }
  return out;
}

/** 8-bit RGBA pixels, 4 bytes each, row by row: what a canvas's getImageData gives. */
export interface RgbaPixels {
  data: Uint8ClampedArray | Uint8Array;
  width: number;
  height: number;
}

/**
 * decodeImage with the PNG pixels from `decodePngRgba` (a browser's: createImageBitmap and a canvas,
 * with colour space conversion and premultiplied alpha off), after the same header and size checks;
 * JPEGs are decoded here, by jpeg-js, as decodeImage does. 8-bit RGBA rounds 16-bit samples to 8 bits,
 * so those differ from decodeImage's slightly.
 */
export async function decodeImageWith(
  bytes: Uint8Array,
  options: DecodeOptions,
  decodePngRgba: (bytes: Uint8Array, source: string) => Promise<RgbaPixels>,
): Promise<Image> {
  const settings = decodeSettings(options);
  const { source, maxPixels, channels, background } = settings;
  const header = readHeader(bytes, source);
  checkSize(header, settings);
  if (header.format === 'jpeg') return planar(decodeJpegPixels(bytes, source, header, maxPixels), header, channels, background);
  checkPngDepth(header, source);
  const { width, height } = header;
  const chunks = pngChunks(bytes);
  checkPngChunks(bytes, header, chunks, source);
  let pixels: Pixels;
  try {
    // Browsers draw what they can of a cut-short PNG; pngjs refuses those, so these do too.
    if (chunks.at(-1)?.type !== 'IEND') throw new Error(`its chunks stop at byte ${bytes.length}`);
    const rgba = await decodePngRgba(bytes, source);
    if (rgba.width !== width || rgba.height !== height || rgba.data.length !== 4 * width * height) {
      throw new Error(`it decoded to ${rgba.data.length} bytes for ${rgba.width}x${rgba.height}, its header says ${width}x${height}`);
    }
    pixels = { data: rgba.data, stride: 4, max: 255 };
  } catch (e) {
    throw pngError(bytes, source, chunks, (e as Error).message);
  }
  return planar(pixels, header, channels, background);
}
