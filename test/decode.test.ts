// Decoders against images the tests build themselves: every PNG colour type and bit depth (pngjs
// writes 8- and 16-bit gray/RGB with and without alpha; palette and 1-, 2-, 4-bit files are laid
// out by hand here), a JPEG round trip within codec error, and broken files refused by name.
import fc from 'fast-check';
import jpeg from 'jpeg-js';
import { crc32, deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodeImage, imageSize } from '../src/data/decode.js';
import type { Image } from '../src/data/image.js';
import { ImageError } from '../src/errors.js';

const at = (img: Image, c: number, y: number, x: number): number => img.data[(c * img.height + y) * img.width + x];

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (!(e instanceof ImageError)) throw e;
    return e.code;
  }
  return 'no error';
}

/** A PNG written by pngjs from RGBA samples (0..2^depth-1) with the given colour type and depth. */
function pngjsFile(width: number, height: number, rgba: number[], colorType: 0 | 2 | 4 | 6, bitDepth: 8 | 16): Buffer {
  const png = new PNG({ width, height, bitDepth, colorType, inputColorType: 6, inputHasAlpha: true });
  png.data = bitDepth === 16 ? (Buffer.from(Uint16Array.from(rgba).buffer) as Buffer) : Buffer.from(rgba);
  return PNG.sync.write(png, { colorType, bitDepth, inputColorType: 6, inputHasAlpha: true });
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A PNG laid out by hand: rows of samples packed at `depth` bits, filter 0, one IDAT. */
function handPng(width: number, height: number, depth: number, colorType: number, rows: number[][], extra: Buffer[] = []): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  const packed = rows.map((samples) => {
    const row = Buffer.alloc(1 + Math.ceil((samples.length * depth) / 8));
    samples.forEach((v, i) => (row[1 + ((i * depth) >> 3)] |= v << (8 - depth - ((i * depth) & 7))));
    return row;
  });
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), ...extra, chunk('IDAT', deflateSync(Buffer.concat(packed))), chunk('IEND', new Uint8Array())]);
}

const size = fc.record({ width: fc.integer({ min: 1, max: 13 }), height: fc.integer({ min: 1, max: 13 }) });

describe('PNG written by pngjs', () => {
  for (const bitDepth of [8, 16] as const) {
    for (const colorType of [0, 2, 4, 6] as const) {
      it(`colour type ${colorType}, ${bitDepth}-bit: every sample on the 0..255 scale`, () => {
        const max = 2 ** bitDepth - 1;
        fc.assert(
          fc.property(size, fc.integer(), ({ width, height }, seed) => {
            let s = seed >>> 0;
            const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % (max + 1);
            const grey = colorType === 0 || colorType === 4;
            const hasAlpha = colorType >= 4;
            const rgba: number[] = [];
            for (let p = 0; p < width * height; p++) {
              const v = [next(), next(), next()];
              rgba.push(...(grey ? [v[0], v[0], v[0]] : v), hasAlpha ? next() : max);
            }
            const img = decodeImage(pngjsFile(width, height, rgba, colorType, bitDepth), { background: [10, 200, 30] });
            expect([img.channels, img.height, img.width]).toEqual([3, height, width]);
            for (let p = 0; p < width * height; p++) {
              const alpha = rgba[4 * p + 3] / max;
              for (let c = 0; c < 3; c++) {
                const expected = ((rgba[4 * p + c] * 255) / max) * alpha + [10, 200, 30][c] * (1 - alpha);
                expect(Math.abs(at(img, c, Math.floor(p / width), p % width) - expected)).toBeLessThanOrEqual(1e-4 * Math.max(1, expected));
              }
            }
          }),
          { numRuns: 15 },
        );
      });
    }
  }

  it('composites on white by default, and keeps 16-bit precision', () => {
    const img = decodeImage(pngjsFile(2, 1, [0, 0, 0, 0, 257 * 100 + 128, 0, 65535, 65535], 6, 16));
    expect([at(img, 0, 0, 0), at(img, 1, 0, 0), at(img, 2, 0, 0)]).toEqual([255, 255, 255]);
    expect(at(img, 0, 0, 1)).toBeCloseTo(100 + 128 / 257, 4); // between two 8-bit levels
  });
});

describe('PNG laid out by hand', () => {
  it('palette with transparency', () => {
    const palette = chunk('PLTE', Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255]));
    const trns = chunk('tRNS', Uint8Array.from([255, 0])); // entry 1 transparent, entry 2 opaque by omission
    const img = decodeImage(handPng(3, 1, 8, 3, [[0, 1, 2]], [palette, trns]), { background: [7, 8, 9] });
    expect(Array.from(img.data)).toEqual([255, 7, 0, 0, 8, 0, 0, 9, 255]);
  });

  it.each([1, 2, 4, 8])('%i-bit palette indices', (depth) => {
    const entries = 2 ** depth;
    const palette = chunk('PLTE', Uint8Array.from({ length: 3 * entries }, (_, i) => (i * 37) % 256));
    const indices = Array.from({ length: 11 }, (_, i) => (i * 5) % entries);
    const img = decodeImage(handPng(11, 1, depth, 3, [indices], [palette]));
    indices.forEach((k, x) => [0, 1, 2].forEach((c) => expect(at(img, c, 0, x)).toBe(((3 * k + c) * 37) % 256)));
  });

  it.each([1, 2, 4])('%i-bit grey scaled so that the largest sample is 255', (depth) => {
    const max = 2 ** depth - 1;
    const rows = [Array.from({ length: 9 }, (_, i) => i % (max + 1)), Array.from({ length: 9 }, (_, i) => max - (i % (max + 1)))];
    const img = decodeImage(handPng(9, 2, depth, 0, rows), { channels: 1 });
    rows.forEach((row, y) => row.forEach((v, x) => expect(at(img, 0, y, x)).toBeCloseTo((v * 255) / max, 4)));
  });
});

describe('channels', () => {
  it('1 channel from RGB is the BT.601 luma; 3 channels from grey replicate it', () => {
    const img = decodeImage(pngjsFile(2, 1, [200, 100, 50, 255, 0, 255, 0, 255], 2, 8), { channels: 1 });
    expect(img.channels).toBe(1);
    expect(at(img, 0, 0, 0)).toBeCloseTo(0.299 * 200 + 0.587 * 100 + 0.114 * 50, 4);
    expect(at(img, 0, 0, 1)).toBeCloseTo(0.587 * 255, 4);
    const grey = decodeImage(pngjsFile(1, 1, [77, 77, 77, 255], 0, 8));
    expect(Array.from(grey.data)).toEqual([77, 77, 77]);
  });
});

describe('JPEG', () => {
  /** A smooth image: JPEG's error on it is small. */
  const smooth = (w: number, h: number): Buffer => {
    const data = Buffer.alloc(w * h * 4);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([(x * 255) / (w - 1), (y * 255) / (h - 1), 128, 255], 4 * (y * w + x));
    return data;
  };

  it('round trip within codec error', () => {
    const [w, h] = [37, 21];
    const rgba = smooth(w, h);
    const img = decodeImage(jpeg.encode({ width: w, height: h, data: rgba }, 95).data);
    expect([img.channels, img.height, img.width]).toEqual([3, h, w]);
    let sum = 0;
    let worst = 0;
    for (let p = 0; p < w * h; p++) {
      for (let c = 0; c < 3; c++) {
        const err = Math.abs(img.data[c * w * h + p] - rgba[4 * p + c]);
        sum += err;
        worst = Math.max(worst, err);
      }
    }
    expect(sum / (3 * w * h)).toBeLessThan(3);
    expect(worst).toBeLessThan(40);
    expect(imageSize(jpeg.encode({ width: w, height: h, data: rgba }, 50).data)).toEqual({ format: 'jpeg', width: w, height: h });
  });
});

describe('broken and hostile files', () => {
  const png = pngjsFile(8, 8, Array.from({ length: 256 }, (_, i) => i % 256), 6, 8);
  const jpg = jpeg.encode({ width: 16, height: 16, data: Buffer.alloc(16 * 16 * 4, 200) }, 90).data;

  it('names truncated files', () => {
    for (const cut of [4, 20, 40, png.length - 20, png.length - 5]) expect(codeOf(() => decodeImage(png.subarray(0, cut))), `PNG cut at ${cut}`).toBe(cut < 8 ? 'UNSUPPORTED' : 'TRUNCATED');
    for (const cut of [1, 10, jpg.length >> 1, jpg.length - 2]) expect(codeOf(() => decodeImage(jpg.subarray(0, cut))), `JPEG cut at ${cut}`).toMatch(cut < 3 ? /UNSUPPORTED/ : /TRUNCATED/);
  });

  it('names corrupt files', () => {
    const badCrc = Buffer.from(png);
    badCrc[29] ^= 0xff; // IHDR's CRC
    expect(codeOf(() => decodeImage(badCrc))).toBe('CORRUPT');
    const badData = Buffer.from(png);
    const idat = badData.indexOf('IDAT');
    badData.fill(0x55, idat + 4, idat + 20); // the zlib stream
    expect(codeOf(() => decodeImage(badData))).toBe('CORRUPT');
  });

  it('names what is not an image, with the source and the first bytes', () => {
    expect(() => decodeImage(new Uint8Array(), { source: 'empty.png' })).toThrow(/empty\.png: .*the file is empty/);
    expect(() => decodeImage(Buffer.from('GIF89a...'), { source: 'a.gif' })).toThrow(/a\.gif: not a PNG or JPEG file \(it starts with 47 49 46 38/);
    expect(codeOf(() => decodeImage(Buffer.from('hello world')))).toBe('UNSUPPORTED');
  });

  it('refuses an image claiming too many pixels from its header, before decoding', () => {
    const huge = Buffer.from(png);
    huge.writeUInt32BE(100_000, 16);
    huge.writeUInt32BE(100_000, 20);
    expect(codeOf(() => decodeImage(huge))).toBe('TOO_LARGE');
    const sof = Buffer.from(jpg);
    const at0 = sof.indexOf(Buffer.from([0xff, 0xc0]));
    sof.writeUInt16BE(60_000, at0 + 5);
    sof.writeUInt16BE(60_000, at0 + 7);
    expect(codeOf(() => decodeImage(sof))).toBe('TOO_LARGE');
    expect(codeOf(() => decodeImage(png, { maxPixels: 63 }))).toBe('TOO_LARGE');
    expect(decodeImage(png, { maxPixels: 64 }).width).toBe(8);
  });
});
