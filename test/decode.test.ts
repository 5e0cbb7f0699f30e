// Decoders against images the tests build themselves from known samples: every colour type pngjs
// writes at 8 and 16 bits; palette, low bit depth, tRNS and interlaced PNGs and a greyscale JPEG laid
// out by hand; a JPEG round trip within codec error; broken and hostile files refused by name; the
// browser's decodeImageWith against decodeImage, with pngjs standing in for the browser's PNG decoder.
import fc from 'fast-check';
import jpeg from 'jpeg-js';
import { crc32, deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeImage, imageSize } from '../src/data/decode.js';
import { decodeImageWith } from '../src/data/decode-core.js';
import type { Image } from '../src/data/image.js';
import { ImageError } from '../src/errors.js';

afterEach(() => {
  vi.restoreAllMocks();
});

const at = (img: Image, c: number, y: number, x: number): number => img.data[(c * img.height + y) * img.width + x];
const luma = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;

/** The ImageError `f` throws, or a failed expectation. */
function errorOf(f: () => unknown): ImageError {
  try {
    f();
  } catch (e) {
    if (e instanceof ImageError) return e;
    throw e;
  }
  throw new Error('expected an ImageError, nothing was thrown');
}
const codeOf = (f: () => unknown): string => errorOf(f).code;

const SAMPLES = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const; // per pixel, by colour type

/** A PNG written by pngjs from samples in the file's own layout (grey, grey+alpha, RGB or RGBA). */
function pngjsFile(width: number, height: number, samples: number[], colorType: 0 | 2 | 4 | 6, bitDepth: 8 | 16): Buffer {
  const options = { width, height, colorType, bitDepth, inputColorType: colorType, inputHasAlpha: colorType >= 4 };
  const png = new PNG(options);
  // 16-bit input is read as a Uint16Array over the buffer's whole ArrayBuffer: it must own one
  png.data = bitDepth === 16 ? Buffer.from(Uint16Array.from(samples).buffer) : Buffer.from(samples);
  return PNG.sync.write(png, options);
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]]; // x0, y0, dx, dy

/** A PNG laid out by hand: `rows` of samples packed at `depth` bits, filter 0, optionally Adam7 interlaced. */
function handPng(width: number, height: number, depth: number, colorType: keyof typeof SAMPLES, rows: number[][], { extra = [] as Buffer[], interlaced = false } = {}): Buffer {
  const ihdr = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, depth, colorType, 0, 0, interlaced ? 1 : 0]);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  const n = SAMPLES[colorType];
  const pixel = (x: number, y: number): number[] => rows[y].slice(n * x, n * x + n);
  const lines: number[][] = [];
  for (const [x0, y0, dx, dy] of interlaced ? ADAM7 : [[0, 0, 1, 1]]) {
    for (let y = y0; y < height && x0 < width; y += dy) {
      const line: number[] = [];
      for (let x = x0; x < width; x += dx) line.push(...pixel(x, y));
      lines.push(line);
    }
  }
  const packed = lines.map((samples) => {
    const line = Buffer.alloc(1 + Math.ceil((samples.length * depth) / 8)); // filter byte 0, then the samples
    samples.forEach((v, i) => (depth === 16 ? line.writeUInt16BE(v, 1 + 2 * i) : (line[1 + ((i * depth) >> 3)] |= v << (8 - depth - ((i * depth) & 7)))));
    return line;
  });
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), ...extra, chunk('IDAT', deflateSync(Buffer.concat(packed))), chunk('IEND', new Uint8Array())]);
}

/** `file` with its one IDAT chunk's data replaced. */
function withIdat(file: Buffer, data: Uint8Array): Buffer {
  return Buffer.concat([file.subarray(0, file.indexOf('IDAT') - 4), chunk('IDAT', data), file.subarray(file.indexOf('IEND') - 4)]);
}

const size = fc.record({ width: fc.integer({ min: 1, max: 13 }), height: fc.integer({ min: 1, max: 13 }) });
/** A size and `perPixel` samples per pixel in 0..max, row by row. */
const picture = (perPixel: number, max: number) =>
  size.chain(({ width, height }) =>
    fc.array(fc.array(fc.integer({ min: 0, max }), { minLength: width * perPixel, maxLength: width * perPixel }), { minLength: height, maxLength: height }).map((rows) => ({ width, height, rows })),
  );
const background = fc.option(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })), { nil: undefined });

/** Checks every value of `img` against `expected(c, y, x)`: exactly, or within `tolerance`. */
function expectPixels(img: Image, channels: number, height: number, width: number, expected: (c: number, y: number, x: number) => number, tolerance = 0): void {
  expect([img.channels, img.height, img.width]).toEqual([channels, height, width]);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const want = expected(c, y, x);
        const got = at(img, c, y, x);
        if (tolerance === 0 ? got !== Math.fround(want) : !(Math.abs(got - want) <= tolerance)) expect(got, `channel ${c}, row ${y}, column ${x}`).toBe(want);
      }
    }
  }
}

describe('PNG written by pngjs', () => {
  for (const bitDepth of [8, 16] as const) {
    const max = 2 ** bitDepth - 1;
    for (const colorType of [0, 2] as const) {
      it(`colour type ${colorType}, ${bitDepth}-bit: each sample is ${bitDepth === 8 ? 'v' : 'v / 257'}, to float32`, () => {
        fc.assert(
          fc.property(picture(SAMPLES[colorType], max), ({ width, height, rows }) => {
            const img = decodeImage(pngjsFile(width, height, rows.flat(), colorType, bitDepth));
            // grey is replicated into all three channels; 16-bit keeps its precision (v / 257, not rounded)
            if (bitDepth === 8) expectPixels(img, 3, height, width, (c, y, x) => rows[y][colorType === 0 ? x : 3 * x + c]);
            else expectPixels(img, 3, height, width, (c, y, x) => rows[y][colorType === 0 ? x : 3 * x + c] / 257);
          }),
          { numRuns: 20 },
        );
      });
    }
    for (const colorType of [4, 6] as const) {
      it(`colour type ${colorType}, ${bitDepth}-bit: alpha composited as v * a + background * (1 - a)`, () => {
        const n = SAMPLES[colorType];
        fc.assert(
          fc.property(picture(n, max), background, ({ width, height, rows }, bg) => {
            const img = decodeImage(pngjsFile(width, height, rows.flat(), colorType, bitDepth), { background: bg });
            const [r0, g0, b0] = bg ?? [255, 255, 255];
            expectPixels(
              img,
              3,
              height,
              width,
              (c, y, x) => {
                const a = rows[y][n * x + n - 1] / max;
                return (rows[y][n * x + (n === 2 ? 0 : c)] / max) * 255 * a + [r0, g0, b0][c] * (1 - a);
              },
              1e-3,
            );
          }),
          { numRuns: 20 },
        );
      });
    }
  }

  it('16-bit samples land between 8-bit levels, and transparent pixels take the background (white by default)', () => {
    const file = pngjsFile(3, 1, [0, 0, 0, 0, 100 * 257 + 128, 0, 65535, 65535, 1, 2, 3, 65535], 6, 16);
    const img = decodeImage(file, { background: [9, 99, 199] });
    expect([at(img, 0, 0, 0), at(img, 1, 0, 0), at(img, 2, 0, 0)]).toEqual([9, 99, 199]);
    const onWhite = decodeImage(file);
    expect([at(onWhite, 0, 0, 0), at(onWhite, 1, 0, 0), at(onWhite, 2, 0, 0)]).toEqual([255, 255, 255]);
    expect(at(img, 0, 0, 1)).toBe(Math.fround(100 + 128 / 257));
    expect([at(img, 0, 0, 2), at(img, 1, 0, 2), at(img, 2, 0, 2)]).toEqual([1 / 257, 2 / 257, 3 / 257].map(Math.fround));
  });
});

describe('PNG laid out by hand', () => {
  it.each([1, 2, 4, 8])('%i-bit palette with tRNS: colours from the palette, alpha from tRNS', (depth) => {
    const entries = 2 ** depth;
    fc.assert(
      fc.property(picture(1, entries - 1), fc.uint8Array({ minLength: 3 * entries, maxLength: 3 * entries }), fc.uint8Array({ maxLength: entries }), background, ({ width, height, rows }, palette, alphas, bg) => {
        const extra = [chunk('PLTE', palette), ...(alphas.length ? [chunk('tRNS', alphas)] : [])];
        const img = decodeImage(handPng(width, height, depth, 3, rows, { extra }), { background: bg });
        const [r0, g0, b0] = bg ?? [255, 255, 255];
        expectPixels(
          img,
          3,
          height,
          width,
          (c, y, x) => {
            const k = rows[y][x];
            const a = (alphas[k] ?? 255) / 255; // entries past the end of tRNS are opaque
            return palette[3 * k + c] * a + [r0, g0, b0][c] * (1 - a);
          },
          1e-3,
        );
      }),
      { numRuns: 15 },
    );
  });

  it.each([1, 2, 4, 16])('%i-bit grey: scaled so that the largest sample is 255', (depth) => {
    const max = 2 ** depth - 1;
    fc.assert(
      fc.property(picture(1, max), ({ width, height, rows }) => {
        const img = decodeImage(handPng(width, height, depth, 0, rows), { channels: 1 });
        expectPixels(img, 1, height, width, (_, y, x) => (rows[y][x] * 255) / max);
      }),
      { numRuns: 15 },
    );
    // the extremes exactly: 0 and 255
    const img = decodeImage(handPng(2, 1, depth, 0, [[0, max]]));
    expect(Array.from(img.data)).toEqual([0, 255, 0, 255, 0, 255]);
  });

  it('grey and RGB with a tRNS colour key: exactly that value is transparent', () => {
    const grey = decodeImage(handPng(3, 1, 4, 0, [[5, 6, 15]], { extra: [chunk('tRNS', Uint8Array.from([0, 6]))] }), { background: [1, 2, 3] });
    expect(Array.from(grey.data)).toEqual([85, 1, 255, 85, 2, 255, 85, 3, 255]);
    const rgb = decodeImage(handPng(2, 1, 8, 2, [[10, 20, 30, 10, 20, 31]], { extra: [chunk('tRNS', Uint8Array.from([0, 10, 0, 20, 0, 30]))] }), { background: [1, 2, 3] });
    expect(Array.from(rgb.data)).toEqual([1, 10, 2, 20, 3, 31]);
  });

  for (const [colorType, depth] of [[2, 8], [0, 1], [6, 16]] as const) {
    it(`Adam7 interlaced, colour type ${colorType}, ${depth}-bit: the same pixels as the plain file`, () => {
      const max = 2 ** depth - 1;
      fc.assert(
        fc.property(picture(SAMPLES[colorType], max), ({ width, height, rows }) => {
          const plain = decodeImage(handPng(width, height, depth, colorType, rows));
          const interlaced = decodeImage(handPng(width, height, depth, colorType, rows, { interlaced: true }));
          expect(Array.from(interlaced.data)).toEqual(Array.from(plain.data));
          const n = SAMPLES[colorType];
          if (colorType !== 6) expectPixels(interlaced, 3, height, width, (c, y, x) => (rows[y][n * x + (n === 1 ? 0 : c)] * 255) / max);
        }),
        { numRuns: 15 },
      );
    });
  }
});

describe('channels', () => {
  it('1 channel from RGB is the BT.601 luma; 1 channel from grey is the grey itself', () => {
    fc.assert(
      fc.property(picture(3, 255), ({ width, height, rows }) => {
        const img = decodeImage(pngjsFile(width, height, rows.flat(), 2, 8), { channels: 1 });
        expectPixels(img, 1, height, width, (_, y, x) => luma(rows[y][3 * x], rows[y][3 * x + 1], rows[y][3 * x + 2]), 1e-3);
      }),
      { numRuns: 20 },
    );
    fc.assert(
      fc.property(picture(1, 65535), ({ width, height, rows }) => {
        const img = decodeImage(pngjsFile(width, height, rows.flat(), 0, 16), { channels: 1 });
        expectPixels(img, 1, height, width, (_, y, x) => rows[y][x] / 257);
      }),
      { numRuns: 20 },
    );
  });

  it('1 channel with alpha is the luma of the composite on the background', () => {
    const img = decodeImage(pngjsFile(2, 1, [200, 100, 50, 51, 7, 7, 7, 0], 6, 8), { channels: 1, background: [0, 255, 30] });
    const a = 51 / 255;
    expect(at(img, 0, 0, 0)).toBeCloseTo(luma(200 * a, 100 * a + 255 * (1 - a), 50 * a + 30 * (1 - a)), 4);
    expect(at(img, 0, 0, 1)).toBeCloseTo(luma(0, 255, 30), 4);
  });
});

/** A greyscale baseline JPEG laid out by hand: 8x8 blocks of one level each (DC coefficients only, quantiser 1). */
function greyJpeg(width: number, height: number, level: (blockX: number, blockY: number) => number): Buffer {
  const segment = (marker: number, body: number[]): number[] => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
  const bits: number[] = [];
  const put = (value: number, count: number): void => {
    for (let i = count - 1; i >= 0; i--) bits.push((value >> i) & 1);
  };
  let previous = 0;
  for (let by = 0; by < Math.ceil(height / 8); by++) {
    for (let bx = 0; bx < Math.ceil(width / 8); bx++) {
      const dc = 8 * (level(bx, by) - 128); // a flat block at level L has DC coefficient 8 (L - 128)
      const diff = dc - previous;
      previous = dc;
      const category = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
      put(category, 4); // the DC table gives categories 0..11 the 4-bit codes 0..11
      put(diff < 0 ? diff + 2 ** category - 1 : diff, category); // negative differences in one's complement
      put(0, 1); // the AC table's only code, 0: end of block
    }
  }
  while (bits.length % 8) bits.push(1);
  const scan: number[] = [];
  for (let i = 0; i < bits.length; i += 8) {
    const byte = parseInt(bits.slice(i, i + 8).join(''), 2);
    scan.push(...(byte === 0xff ? [0xff, 0x00] : [byte])); // byte stuffing
  }
  return Buffer.from([
    0xff, 0xd8,
    ...segment(0xdb, [0x00, ...new Array<number>(64).fill(1)]),
    ...segment(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]),
    ...segment(0xc4, [0x00, 0, 0, 0, 12, ...new Array<number>(12).fill(0), ...Array.from({ length: 12 }, (_, i) => i)]),
    ...segment(0xc4, [0x10, 1, ...new Array<number>(15).fill(0), 0x00]),
    ...segment(0xda, [1, 1, 0x00, 0, 63, 0]),
    ...scan,
    0xff, 0xd9,
  ]);
}

describe('JPEG', () => {
  /** A smooth image, on which JPEG's error is small. */
  const smooth = (w: number, h: number): Buffer => {
    const data = Buffer.alloc(w * h * 4);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([(x * 255) / (w - 1), (y * 255) / (h - 1), 128 + 60 * Math.sin(x / 5), 255], 4 * (y * w + x));
    return data;
  };

  it('round trip through jpeg-js at quality 95 within codec error, in colour and as luma', () => {
    const [w, h] = [37, 21];
    const rgba = smooth(w, h);
    const file = jpeg.encode({ width: w, height: h, data: rgba }, 95).data;
    const img = decodeImage(file);
    expect([img.channels, img.height, img.width]).toEqual([3, h, w]);
    const errors = Array.from({ length: 3 * w * h }, (_, i) => Math.abs(img.data[i] - rgba[4 * (i % (w * h)) + Math.floor(i / (w * h))]));
    expect(errors.reduce((s, e) => s + e) / errors.length).toBeLessThan(3);
    expect(Math.max(...errors)).toBeLessThan(40);
    const grey = decodeImage(file, { channels: 1 });
    expectPixels(grey, 1, h, w, (_, y, x) => luma(at(img, 0, y, x), at(img, 1, y, x), at(img, 2, y, x)), 1e-3);
    expect(imageSize(file)).toEqual({ format: 'jpeg', width: w, height: h });
  });

  it('greyscale (one component): the block levels, replicated into RGB', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 29 }), fc.integer({ min: 1, max: 29 }), fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 }), (w, h, levels) => {
        const level = (bx: number, by: number): number => levels[4 * by + bx];
        const file = greyJpeg(w, h, level);
        const img = decodeImage(file);
        expectPixels(img, 3, h, w, (_, y, x) => level(x >> 3, y >> 3), 1); // integer IDCTs may be off by one
        expect(Array.from(decodeImage(file, { channels: 1 }).data)).toEqual(Array.from(img.data.subarray(0, w * h)));
      }),
      { numRuns: 30 },
    );
  });
});

describe('broken and hostile files', () => {
  const png = pngjsFile(8, 8, Array.from({ length: 256 }, (_, i) => (i * 13) % 256), 6, 8);
  const jpg = jpeg.encode({ width: 16, height: 16, data: Buffer.alloc(16 * 16 * 4, 200) }, 90).data;
  const idat = png.indexOf('IDAT') - 4;

  it('names files cut short, with the source', () => {
    for (const cut of [0, 1, 4, 7, 8, 20, 28, 31, idat + 6, idat + 12, png.length - 16, png.length - 12, png.length - 1]) {
      const error = errorOf(() => decodeImage(png.subarray(0, cut), { source: 'photos/cut.png' }));
      expect(error.code, `PNG cut at ${cut}`).toBe('TRUNCATED');
      expect(error.message).toMatch(/^photos\/cut\.png: /);
    }
    const sos = jpg.indexOf(Buffer.from([0xff, 0xda]));
    for (const cut of [1, 2, 3, 10, sos - 1, sos + 8, sos + 20, jpg.length - 2, jpg.length - 1]) {
      expect(codeOf(() => decodeImage(jpg.subarray(0, cut))), `JPEG cut at ${cut}`).toBe('TRUNCATED');
    }
    expect(() => decodeImage(new Uint8Array(), { source: 'empty.png' })).toThrow(/^empty\.png: the file is empty/);
    expect(codeOf(() => decodeImage(new Uint8Array()))).toBe('TRUNCATED');
  });

  it('names corrupt PNGs, with the reason', () => {
    const badCrc = Buffer.from(png);
    badCrc[29] ^= 0x01; // IHDR's CRC
    expect(() => decodeImage(badCrc, { source: 'a.png' })).toThrow('a.png: not a valid PNG (its IHDR chunk at byte 8 fails its CRC check)');
    expect(codeOf(() => decodeImage(badCrc))).toBe('CORRUPT');
    const badIdatCrc = Buffer.from(png);
    badIdatCrc[png.indexOf('IEND') - 5] ^= 0x80; // the last byte of IDAT's CRC
    expect(() => decodeImage(badIdatCrc)).toThrow(`its IDAT chunk at byte ${idat} fails its CRC check`);
    expect(codeOf(() => decodeImage(badIdatCrc))).toBe('CORRUPT');
    const badZlib = withIdat(png, Buffer.from('not a zlib stream')); // with a valid CRC: only zlib can object
    expect(() => decodeImage(badZlib)).toThrow('not a valid PNG (incorrect header check)');
    expect(codeOf(() => decodeImage(badZlib))).toBe('CORRUPT');
    const shortData = withIdat(png, deflateSync(Buffer.alloc(8 * 33 - 1))); // one byte short of 8 rows of 1 + 8 * 4
    expect(() => decodeImage(shortData)).toThrow('not a valid PNG (its image data is 263 bytes, a 8x8 image needs 264)');
    expect(codeOf(() => decodeImage(shortData))).toBe('CORRUPT');
    const trailing = Buffer.concat([png, Buffer.from('trailing')]);
    expect(() => decodeImage(trailing)).toThrow('not a valid PNG (unrecognised content at end of stream)');
    expect(codeOf(() => decodeImage(trailing))).toBe('CORRUPT');
    const badDepth = handPng(1, 1, 8, 2, [[1, 2, 3]]);
    badDepth[24] = 4; // RGB at 4 bits: PNG has no such thing
    badDepth.writeUInt32BE(crc32(badDepth.subarray(12, 29)), 29);
    expect(() => decodeImage(badDepth, { source: 'd.png' })).toThrow('d.png: the PNG header gives colour type 2 with 4-bit samples, which PNG does not define');
    const notIhdr = Buffer.from(png);
    notIhdr.write('IDAT', 12, 'latin1');
    expect(codeOf(() => decodeImage(notIhdr))).toBe('CORRUPT');
    const zero = handPng(1, 1, 8, 0, [[0]]);
    zero.writeUInt32BE(0, 16);
    expect(() => decodeImage(zero)).toThrow(/0x1 pixels/);
    expect(codeOf(() => decodeImage(zero))).toBe('CORRUPT');
  });

  it('names corrupt and unsupported JPEGs', () => {
    const sof = jpg.indexOf(Buffer.from([0xff, 0xc0]));
    const patched = (offset: number, byte: number): Buffer => Buffer.from(jpg).fill(byte, offset, offset + 1);
    expect(codeOf(() => decodeImage(patched(jpg.indexOf(Buffer.from([0xff, 0xda])) + 5, 99)))).toBe('CORRUPT'); // scan names a component the frame lacks
    expect(codeOf(() => decodeImage(patched(jpg.indexOf(Buffer.from([0xff, 0xdb])) + 4, 0x20)))).toBe('CORRUPT'); // a quantisation table of precision 2
    for (const [offset, byte, why] of [[sof + 1, 0xc9, /SOF9/], [sof + 1, 0xc3, /SOF3/], [sof + 4, 12, /12-bit/], [sof + 9, 2, /2 colour components/]] as const) {
      expect(() => decodeImage(patched(offset, byte), { source: 'x.jpg' })).toThrow(why);
      expect(codeOf(() => decodeImage(patched(offset, byte)))).toBe('UNSUPPORTED');
    }
    const noFrame = Buffer.concat([jpg.subarray(0, sof), jpg.subarray(jpg.indexOf(Buffer.from([0xff, 0xda])))]);
    expect(codeOf(() => decodeImage(noFrame))).toBe('CORRUPT');
  });

  it('never decodes a damaged zlib stream to made-up pixels', () => {
    // pngjs alone returns garbage for most of these on Node 20: its sync inflate misses zlib's errors
    const rows = Array.from({ length: 9 }, (_, y) => Array.from({ length: 11 }, (_, x) => (x * 23 + y * 7) % 256));
    const good = handPng(11, 9, 8, 0, rows);
    const stream = deflateSync(Buffer.concat(rows.map((row) => Buffer.from([0, ...row]))));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: stream.length - 1 }), fc.integer({ min: 0, max: 7 }), (i, bit) => {
        const damaged = Buffer.from(stream);
        damaged[i] ^= 1 << bit;
        let decoded: Image | undefined;
        try {
          decoded = decodeImage(withIdat(good, damaged));
        } catch (e) {
          expect(e instanceof ImageError && e.code).toBe('CORRUPT');
        }
        if (decoded) expect(Array.from(decoded.data)).toEqual(Array.from(decodeImage(good).data));
      }),
      { numRuns: 200 },
    );
  });

  it('names what is not an image, with the source and the first bytes', () => {
    expect(() => decodeImage(Buffer.from('GIF89a...'), { source: 'a.gif' })).toThrow(/^a\.gif: not a PNG or JPEG file \(it starts with 47 49 46 38 39 61 2e 2e\); PNG and JPEG are read/);
    expect(codeOf(() => decodeImage(Buffer.from('hello world\n')))).toBe('UNSUPPORTED');
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 64 }), (bytes) => {
        fc.pre(bytes[0] !== 0x89 && bytes[0] !== 0xff);
        const hex = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
        const error = errorOf(() => decodeImage(bytes, { source: 'junk' }));
        expect([error.code, error.message.includes(`junk: not a PNG or JPEG file (it starts with ${hex})`)]).toEqual(['UNSUPPORTED', true]);
      }),
    );
  });

  it('refuses images whose header claims too many pixels, without decoding them', () => {
    const pngRead = vi.spyOn(PNG.sync, 'read');
    const jpegDecode = vi.spyOn(jpeg, 'decode');
    const huge = handPng(1, 1, 8, 2, [[1, 2, 3]]);
    huge.writeUInt32BE(100_000, 16);
    huge.writeUInt32BE(100_000, 20);
    huge.writeUInt32BE(crc32(huge.subarray(12, 29)), 29); // a valid IHDR
    expect(() => decodeImage(huge, { source: 'bomb.png' })).toThrow(`bomb.png: 100000x100000 is 10000000000 pixels, more than the limit of ${64 * 2 ** 20}`);
    expect(codeOf(() => decodeImage(huge))).toBe('TOO_LARGE');
    expect(imageSize(huge)).toEqual({ format: 'png', width: 100_000, height: 100_000 });
    const big = Buffer.from(jpg);
    const sof = big.indexOf(Buffer.from([0xff, 0xc0]));
    big.writeUInt16BE(60_000, sof + 5);
    big.writeUInt16BE(60_000, sof + 7);
    expect(codeOf(() => decodeImage(big))).toBe('TOO_LARGE');
    expect(imageSize(big)).toEqual({ format: 'jpeg', width: 60_000, height: 60_000 });
    expect(codeOf(() => decodeImage(png, { maxPixels: 63 }))).toBe('TOO_LARGE');
    expect(codeOf(() => decodeImage(jpg, { maxPixels: 255 }))).toBe('TOO_LARGE');
    expect([pngRead, jpegDecode].map((spy) => spy.mock.calls.length)).toEqual([0, 0]);
    // exactly at the limit is allowed, by us and by jpeg-js's own megapixel limit
    expect(decodeImage(png, { maxPixels: 64 }).width).toBe(8);
    for (const [w, h] of [[16, 16], [13, 39], [29, 17]]) { // (13 * 39) / 1e6 * 1e6 < 13 * 39 in floating point
      const file = jpeg.encode({ width: w, height: h, data: Buffer.alloc(w * h * 4, 90) }, 80).data;
      expect(decodeImage(file, { maxPixels: w * h }).width).toBe(w);
    }
    // a larger one, where jpeg-js's memory limit is set by its per-pixel needs, not the fixed allowance
    const side = 1536;
    const file = jpeg.encode({ width: side, height: side, data: Buffer.alloc(side * side * 4, 90) }, 50).data;
    expect(decodeImage(file, { maxPixels: side * side }).width).toBe(side);
    expect([pngRead, jpegDecode].map((spy) => spy.mock.calls.length)).toEqual([1, 4]);
  });

  it('refuses a JPEG whose frame its coded data cannot hold, or with a second frame, before jpeg-js allocates', () => {
    const jpegDecode = vi.spyOn(jpeg, 'decode');
    const sof = jpg.indexOf(Buffer.from([0xff, 0xc0]));
    const frame = Buffer.from(jpg.subarray(sof, sof + 2 + jpg.readUInt16BE(sof + 2)));
    const withFrames = (first: Buffer, more: Buffer, count: number): Buffer => Buffer.concat([jpg.subarray(0, sof), first, ...new Array<Buffer>(count).fill(more), jpg.subarray(sof + frame.length)]);
    const big = Buffer.from(frame);
    big.writeUInt16BE(1000, 5);
    big.writeUInt16BE(1000, 7);
    // a 16x16 image's few coded bytes claimed for 1000x1000: 3 x 125^2 blocks need at least that many bits
    const error = errorOf(() => decodeImage(withFrames(big, big, 0), { source: 'huge.jpg' }));
    expect(error.code).toBe('CORRUPT');
    expect(error.message).toMatch(/^huge\.jpg: not a valid JPEG \(its \d+ bytes of coded data cannot hold the 46875 blocks of a 1000x1000 image/);
    // a second frame, small or large: jpeg-js would allocate for each
    for (const more of [frame, big]) expect(() => decodeImage(withFrames(frame, more, 1))).toThrow(/a second frame header \(SOF\) at byte \d+; a JPEG image has one/);
    expect(jpegDecode).not.toHaveBeenCalled();
  });

  it('refuses a PNG whose chunks break the specification\'s layout, before anything is inflated', () => {
    const pngRead = vi.spyOn(PNG.sync, 'read');
    const base = handPng(2, 2, 8, 0, [[1, 2], [3, 4]]);
    const at = (type: string): number => base.indexOf(type) - 4;
    const chunkOf = (type: string): Buffer => base.subarray(at(type), at(type) + 12 + base.readUInt32BE(at(type)));
    const [ihdr, idat, iend] = [chunkOf('IHDR'), chunkOf('IDAT'), chunkOf('IEND')];
    const sig = base.subarray(0, 8);
    // pngjs takes the last IHDR: a second one claiming 30000x30000 would skip the size check on the first
    const huge = Buffer.from(ihdr.subarray(8, 8 + 13));
    huge.writeUInt32BE(30000, 0);
    huge.writeUInt32BE(30000, 4);
    const palette = chunk('PLTE', Uint8Array.of(0, 0, 0));
    const cases: [string, Buffer, RegExp][] = [
      ['a second IHDR', Buffer.concat([sig, ihdr, chunk('IHDR', huge), idat, iend]), /a second IHDR chunk at byte 33/],
      ['IDATs apart', Buffer.concat([sig, ihdr, idat, chunk('tEXt', Buffer.from('a\0b')), chunk('IDAT', new Uint8Array()), iend]), /IDAT chunks are not consecutive/],
      ['no IDAT', Buffer.concat([sig, ihdr, iend]), /no IDAT chunk/],
      ['a palette in a grey image', Buffer.concat([sig, ihdr, palette, idat, iend]), /a PLTE chunk in a grey image/],
      ['an unknown critical chunk', Buffer.concat([sig, ihdr, chunk('ABCD', new Uint8Array(4)), idat, iend]), /a critical chunk 'ABCD' at byte 33 that PNG does not define/],
      ['IEND with data', Buffer.concat([sig, ihdr, idat, chunk('IEND', new Uint8Array(1))]), /IEND chunk has 1 bytes of data/],
    ];
    for (const [what, file, message] of cases) {
      const error = errorOf(() => decodeImage(file, { source: 'x.png' }));
      expect([what, error.code], error.message).toEqual([what, 'CORRUPT']);
      expect(error.message, what).toMatch(message);
    }
    // a palette image needs its PLTE before the data, with no more entries than its depth indexes
    const indexed = handPng(2, 1, 1, 3, [[0, 1]], { extra: [chunk('PLTE', Uint8Array.of(0, 0, 0, 255, 255, 255))] });
    expect(decodeImage(indexed).data[1]).toBe(255);
    expect(() => decodeImage(handPng(2, 1, 1, 3, [[0, 1]]))).toThrow(/a palette image without a PLTE chunk/);
    expect(() => decodeImage(handPng(2, 1, 1, 3, [[0, 1]], { extra: [chunk('PLTE', new Uint8Array(9))] }))).toThrow(/PLTE chunk of 9 bytes is not 1 to 2 RGB entries/);
    // 8000x8000 RGBA is 256 MB inflated, more than 100 bytes of deflate can make (at most 1032:1)
    const claim = handPng(8000, 1, 8, 6, [Array.from({ length: 32000 }, () => 0)]);
    claim.writeUInt32BE(8000, 20);
    claim.writeUInt32BE(crc32(claim.subarray(12, 29)), 29);
    expect(() => decodeImage(claim, { maxPixels: 2 ** 26 })).toThrow(/its \d+ bytes of image data cannot hold the 256008000 bytes a 8000x8000 image inflates to/);
    expect(pngRead).toHaveBeenCalledTimes(1); // only the good palette image
  });

  it('refuses an interlaced PNG whose data inflates far past what its header allows', () => {
    // pngjs inflates interlaced images without a limit: 16 MiB of zeros compress to 16 KiB
    const pngRead = vi.spyOn(PNG.sync, 'read');
    const file = withIdat(handPng(1, 1, 8, 6, [[0, 0, 0, 0]], { interlaced: true }), deflateSync(Buffer.alloc(16 * 2 ** 20)));
    const error = errorOf(() => decodeImage(file, { source: 'bomb.png' }));
    expect([error.code, error.message]).toEqual(['CORRUPT', 'bomb.png: not a valid PNG (its image data inflates to more than the 5 bytes a 1x1 image needs)']);
    expect(pngRead).not.toHaveBeenCalled();
  });
});

describe('decodeImageWith (the browser path: PNG pixels from a callback)', () => {
  /** What a browser's canvas gives: 8-bit RGBA (pngjs rescales to 8 bits without skipRescale). */
  const pngjsRgba = vi.fn(async (bytes: Uint8Array) => PNG.sync.read(Buffer.from(bytes)));
  /** The ImageError `p` rejects with, or a failed expectation. */
  async function rejectionOf(p: Promise<unknown>): Promise<ImageError> {
    const e = await p.then(() => undefined, (e: unknown) => e);
    if (e instanceof ImageError) return e;
    throw e ?? new Error('expected an ImageError, the promise resolved');
  }
  const rows = (w: number, h: number, n: number): number[] => Array.from({ length: w * h * n }, (_, i) => (i * 37 + (i >> 3)) % 256);

  it('gives exactly decodeImage\'s pixels for 8-bit grey and RGB PNGs, and for a JPEG', async () => {
    const files = [pngjsFile(13, 7, rows(13, 7, 1), 0, 8), pngjsFile(9, 11, rows(9, 11, 3), 2, 8), jpeg.encode({ width: 23, height: 17, data: Buffer.from(rows(23, 17, 4)) }, 90).data];
    for (const file of files) {
      for (const options of [{}, { channels: 1 as const, background: [10, 20, 30] as const }]) {
        const want = decodeImage(file, options);
        const got = await decodeImageWith(file, options, pngjsRgba);
        expect([got.channels, got.height, got.width]).toEqual([want.channels, want.height, want.width]);
        expect(Array.from(got.data)).toEqual(Array.from(want.data));
      }
    }
    expect(pngjsRgba).toHaveBeenCalledTimes(4); // the PNGs only: the JPEG is jpeg-js's, as in decodeImage
  });

  it('refuses what decodeImage refuses, with the same codes, before calling the decoder', async () => {
    pngjsRgba.mockClear();
    const png = pngjsFile(8, 8, rows(8, 8, 3), 2, 8);
    const huge = Buffer.from(png);
    huge.writeUInt32BE(100_000, 16);
    huge.writeUInt32BE(100_000, 20);
    huge.writeUInt32BE(crc32(huge.subarray(12, 29)), 29); // a valid IHDR
    const badCrc = Buffer.from(png);
    badCrc[png.indexOf('IEND') - 5] ^= 0x80; // the last byte of IDAT's CRC: browsers may draw it anyway
    const cut = png.subarray(0, png.length - 12); // no IEND: browsers may draw what they have
    const bigJpeg = jpeg.encode({ width: 16, height: 16, data: Buffer.alloc(16 * 16 * 4, 200) }, 90).data;
    for (const [file, options] of [[huge, { source: 'bomb.png' }], [png, { maxPixels: 63 }], [badCrc, {}], [cut, { source: 'cut.png' }], [bigJpeg, { maxPixels: 255 }]] as const) {
      const want = errorOf(() => decodeImage(file, options));
      const got = await rejectionOf(decodeImageWith(file, options, pngjsRgba));
      expect(got.code).toBe(want.code);
      if (file !== cut) expect(got.message).toBe(want.message); // cut short: decodeImage gives pngjs's reason
    }
    expect(pngjsRgba).not.toHaveBeenCalled();
    // the decoder's own failure, or pixels of another size, as a corrupt PNG
    const failing = await rejectionOf(decodeImageWith(png, { source: 'x.png' }, async () => Promise.reject(new Error('decode failed'))));
    expect([failing.code, failing.message]).toEqual(['CORRUPT', 'x.png: not a valid PNG (decode failed)']);
    const wrongSize = await rejectionOf(decodeImageWith(png, {}, async () => ({ data: new Uint8ClampedArray(4), width: 1, height: 1 })));
    expect(wrongSize.code).toBe('CORRUPT');
  });
});
