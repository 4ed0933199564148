// Test images, made here: PNG, animated GIF and WebP through sharp, BMP through a tiny header writer
// (sharp cannot write BMP; this is test data, not a decoder), and the bad files the vault must refuse.
import { crc32 } from 'node:zlib';
import sharp from 'sharp';

export interface Pixels {
  width: number;
  height: number;
  /** RGBA, row-major, frames stacked vertically. */
  rgba: Buffer;
  frames: number;
}

/** A deterministic pixel-art pattern; `transparent`: some pixels fully transparent (else all opaque). */
export function pattern(width: number, height: number, opts: { frames?: number; transparent?: boolean; seed?: number } = {}): Pixels {
  const frames = opts.frames ?? 1;
  const seed = opts.seed ?? 1;
  const rgba = Buffer.alloc(width * height * frames * 4);
  for (let f = 0; f < frames; f++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const o = ((f * height + y) * width + x) * 4;
        rgba[o] = ((x >> 2) * 37 + f * 50 + seed * 13) & 0xff;
        rgba[o + 1] = ((y >> 2) * 53 + seed * 7) & 0xff;
        rgba[o + 2] = ((x ^ y) * 11 + f * 30) & 0xff;
        rgba[o + 3] = opts.transparent && (x + y + f) % 5 === 0 ? 0 : 255;
      }
    }
  }
  return { width, height, rgba, frames };
}

function fromPixels(p: Pixels) {
  return sharp(p.rgba, { raw: { width: p.width, height: p.height * p.frames, channels: 4, ...(p.frames > 1 ? { pageHeight: p.height } : {}) } });
}

export const makePng = (p: Pixels) => fromPixels(p).png().toBuffer();
export const makeGif = (p: Pixels) => fromPixels(p).gif({ loop: 0, delay: 100 }).toBuffer();
export const makeWebp = (p: Pixels) => fromPixels(p).webp({ loop: 0, delay: 100, lossless: true }).toBuffer();
export const makeJpeg = (p: Pixels) => fromPixels(p).jpeg().toBuffer();

/** BMP, bottom-up: 24 bits (BITMAPINFOHEADER) or 32 bits with an alpha mask (BITMAPV4HEADER, BI_BITFIELDS). */
export function makeBmp(p: Pixels, bits: 24 | 32): Buffer {
  const { width, height, rgba } = p;
  const headerSize = bits === 24 ? 40 : 108;
  const rowBytes = bits === 24 ? Math.ceil((width * 3) / 4) * 4 : width * 4;
  const offset = 14 + headerSize;
  const out = Buffer.alloc(offset + rowBytes * height);
  out.write('BM', 0, 'ascii');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(offset, 10);
  out.writeUInt32LE(headerSize, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(bits, 28);
  out.writeUInt32LE(bits === 24 ? 0 : 3, 30); // BI_RGB or BI_BITFIELDS
  out.writeUInt32LE(rowBytes * height, 34);
  out.writeInt32LE(2835, 38);
  out.writeInt32LE(2835, 42);
  if (bits === 32) {
    out.writeUInt32LE(0x00ff0000, 54); // red mask
    out.writeUInt32LE(0x0000ff00, 58); // green
    out.writeUInt32LE(0x000000ff, 62); // blue
    out.writeUInt32LE(0xff000000, 66); // alpha
    out.write('BGRs', 70, 'ascii'); // LCS_WINDOWS_COLOR_SPACE ('sRGB' little-endian)
  }
  for (let y = 0; y < height; y++) {
    const row = offset + (height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const o = row + x * (bits / 8);
      out[o] = rgba[i + 2]!;
      out[o + 1] = rgba[i + 1]!;
      out[o + 2] = rgba[i]!;
      if (bits === 32) out[o + 3] = rgba[i + 3]!;
    }
  }
  return out;
}

/** A valid PNG whose header (IHDR, CRC fixed) declares another canvas: a decompression bomb as far as the header goes. */
export function withPngCanvas(png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  if (out.toString('ascii', 12, 16) !== 'IHDR') throw new Error('not a PNG with IHDR first');
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

/** A GIF whose screen descriptor declares another canvas. */
export function withGifCanvas(gif: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(gif);
  out.writeUInt16LE(width, 6);
  out.writeUInt16LE(height, 8);
  return out;
}

/** A BMP whose header declares another canvas (the pixel data is not enlarged). */
export function withBmpCanvas(bmp: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(bmp);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  return out;
}

/** The first `fraction` of the file. */
export const truncated = (bytes: Buffer, fraction = 0.6) => bytes.subarray(0, Math.floor(bytes.length * fraction));
