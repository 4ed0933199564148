// BMP files, which sharp (libvips) does not read: decoded with bmp-ts (the BMP codec Jimp uses).
// Before decoding, the canvas the header declares is checked against the limits (bmp-ts allocates
// width x height x 4 bytes first, so an RLE-compressed file declaring a huge canvas would be a
// decompression bomb); those two fields sit at fixed offsets of the BITMAPINFOHEADER family.
import { decode } from 'bmp-ts';
import { checkDimensions, ImageRejected, type ImageInfo, type ImageLimits } from './image-limits.js';

/** Header sizes of BITMAPINFOHEADER and its V2..V5 extensions (the ones bmp-ts reads). */
const INFO_HEADER_SIZES = new Set([40, 52, 56, 108, 124]);
/** BI_RGB, BI_RLE8, BI_RLE4, BI_BITFIELDS, BI_ALPHABITFIELDS (not the embedded JPEG/PNG variants). */
const COMPRESSIONS = new Set([0, 1, 2, 3, 6]);
const BIT_DEPTHS = new Set([1, 4, 8, 16, 24, 32]);

export function inspectBmp(bytes: Uint8Array, limits: ImageLimits): ImageInfo {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const corrupt = () => new ImageRejected('the BMP file is truncated or corrupt');
  if (buf.length < 34) throw corrupt();
  const headerSize = buf.readUInt32LE(14);
  if (!INFO_HEADER_SIZES.has(headerSize)) throw new ImageRejected(`the BMP file has an unsupported header (${headerSize} bytes)`);
  const width = buf.readInt32LE(18);
  const height = Math.abs(buf.readInt32LE(22));
  const bitsPerPixel = buf.readUInt16LE(28);
  const compression = buf.readUInt32LE(30);
  if (width <= 0 || height === 0 || !BIT_DEPTHS.has(bitsPerPixel)) throw corrupt();
  if (!COMPRESSIONS.has(compression)) throw new ImageRejected(`the BMP file uses an unsupported compression (${compression})`);
  checkDimensions(width, height, 1, limits);
  let data: Buffer;
  try {
    // Reading past the end throws (Buffer bounds checks): a truncated file cannot decode.
    data = decode(buf, { toRGBA: true }).data;
  } catch {
    throw corrupt();
  }
  // bmp-ts fills alpha only from an alpha mask (16 and 32 bits; 255 without one); other depths are opaque.
  let hasTransparency = false;
  if (bitsPerPixel === 16 || bitsPerPixel === 32) {
    for (let i = 3; i < data.length; i += 4) {
      if (data[i]! < 255) {
        hasTransparency = true;
        break;
      }
    }
  }
  return { format: 'bmp', width, height, frameCount: 1, hasTransparency };
}
