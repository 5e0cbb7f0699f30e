// PNG (pngjs) and JPEG (jpeg-js) files to planar images on the 0..255 scale. The size is read from
// the header and checked before anything is decompressed, so a small file that claims a huge image
// (a decompression bomb) is refused without allocating for it. This is the Node decoder: the PNG path
// needs zlib; the rest lives in decode-core.ts, which a browser bundle imports instead.
import { inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import type { Image } from './image.js';
import type { DecodeOptions, PngHeader, Pixels } from './decode-core.js';
import { checkPngChunks, checkPngDepth, checkSize, decodeJpegPixels, decodeSettings, planar, pngChunks, pngDataSize, pngError, readHeader } from './decode-core.js';

export { imageSize } from './decode-core.js';
export type { DecodeOptions } from './decode-core.js';

export function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Image {
  const settings = decodeSettings(options);
  const { source, background, maxPixels, channels } = settings;
  const header = readHeader(bytes, source);
  checkSize(header, settings);
  const pixels = header.format === 'png' ? decodePng(bytes, source, header) : decodeJpegPixels(bytes, source, header, maxPixels);
  return planar(pixels, header, channels, background);
}

function decodePng(bytes: Uint8Array, source: string, header: PngHeader): Pixels {
  // pngjs's sync reader reports a bad header or CRC as 'unrecognised content at end of stream', so
  // those are named here
  checkPngDepth(header, source);
  const { width, height, depth, colorType } = header;
  const chunks = pngChunks(bytes);
  checkPngChunks(bytes, header, chunks, source);
  const size = pngDataSize(header);
  try {
    // Inflate it here first: pngjs's sync inflate misses zlib's errors on current Node (a damaged stream
    // decodes to whatever its buffer held), accepts short data, and does not cap interlaced images (a
    // small file could inflate to gigabytes).
    const idat = chunks.filter((c) => c.type === 'IDAT').map(({ at, length }) => bytes.subarray(at + 8, at + 8 + length));
    const inflated = inflateSync(Buffer.concat(idat), { maxOutputLength: size }).length;
    if (inflated < size) throw new Error(`its image data is ${inflated} bytes, a ${width}x${height} image needs ${size}`);
    // skipRescale keeps 16-bit samples (pngjs would round them to 8 bits) and leaves 1-, 2- and 4-bit
    // samples as 0..2^depth-1; data is then a Uint16Array for 16-bit files, whatever the typings say.
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
    return { data: png.data as ArrayLike<number>, stride: 4, max: colorType === 3 ? 255 : 2 ** depth - 1 }; // palette entries are 8-bit
  } catch (e) {
    const why =
      (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? `its image data inflates to more than the ${size} bytes a ${width}x${height} image needs` : (e as Error).message;
    throw pngError(bytes, source, chunks, why);
  }
}
