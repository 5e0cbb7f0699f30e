// Images in the browser: the CLI's decoder (src/data/decode-core.ts: the same header checks, size
// limit, JPEG decoder and conversion to planar channels), with PNG pixels from the browser's own
// decoder in place of Node's zlib. Colour management is off, so an 8-bit PNG gives the file's samples.
import { decodeImageWith } from '../src/data/decode-core.js';
import type { DecodeOptions } from '../src/data/decode-core.js';
import type { Image } from '../src/data/image.js';

export function decodeInBrowser(bytes: Uint8Array, options: DecodeOptions): Promise<Image> {
  // a failure here becomes decodeImageWith's named ImageError
  return decodeImageWith(bytes, options, async (png) => {
    const bitmap = await createImageBitmap(new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' }), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const context = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d')!;
    context.drawImage(bitmap, 0, 0);
    return { data: context.getImageData(0, 0, bitmap.width, bitmap.height).data, width: bitmap.width, height: bitmap.height };
  });
}
