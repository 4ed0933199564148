// Reads what an uploaded file really is, from its bytes only: PNG, GIF or WebP through sharp
// (libvips), BMP through inspect-bmp.ts. Dimensions and frame count come from the headers and are
// checked against the limits before any pixel is decoded (a tiny file declaring a huge canvas is
// refused without being decompressed); then every frame is decoded once, which both proves the file
// is complete and tells whether any pixel is not fully opaque.
import sharp, { type Metadata } from 'sharp';
import { FORMAT_LABELS, type NativeFormat } from './formats.js';
import { gifStructure } from './gif-structure.js';
import { checkDimensions, ImageRejected, type ImageInfo, type ImageLimits } from './image-limits.js';
import { inspectBmp } from './inspect-bmp.js';


const ACCEPTED = 'only PNG, GIF, WebP and BMP are accepted';

// Every upload is a different file: libvips' operation cache (up to 50 MB by default) would only
// hold decoded images that are never asked for again.
sharp.cache(false);

/** The format its signature claims, or null. */
export function sniffFormat(bytes: Uint8Array): NativeFormat | null {
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length >= 8 && bytes[0] === 0x89 && ascii(1, 8) === 'PNG\r\n\x1a\n') return 'png';
  if (bytes.length >= 6 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a')) return 'gif';
  if (bytes.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (bytes.length >= 2 && ascii(0, 2) === 'BM') return 'bmp';
  return null;
}

/** What the file is, or ImageRejected saying why it is refused. */
export async function inspectImage(bytes: Uint8Array, limits: ImageLimits): Promise<ImageInfo> {
  if (bytes.length === 0) throw new ImageRejected('the file is empty');
  if (bytes.length > limits.maxBytes) throw new ImageRejected(`more than the limit of ${limits.maxBytes} bytes`);
  const format = sniffFormat(bytes);
  if (format === null) throw new ImageRejected(await describeOther(bytes));
  if (format === 'bmp') return inspectBmp(bytes, limits);

  const corrupt = () => new ImageRejected(`the ${FORMAT_LABELS[format]} file is truncated or corrupt`);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw corrupt();
  }
  if (meta.format !== format || !meta.width || !meta.height) throw corrupt();
  let frames = meta.pages ?? 1;
  if (format === 'gif') {
    // a player may allocate the canvas the file declares, which libvips does not report when it is larger than the frames
    const structure = gifStructure(bytes);
    if (!structure.complete) throw corrupt();
    frames = structure.frames;
    checkDimensions(Math.max(structure.width, meta.width), Math.max(structure.height, meta.height), frames, limits);
  }
  if (format === 'png') frames = 1; // libvips reads an APNG's default image only
  checkDimensions(meta.width, meta.height, frames, limits);

  // Decodes every frame (a truncated or corrupt file fails here), keeping one byte per pixel: the
  // alpha channel when there is one (at most maxWidth x maxHeight x maxFrames bytes), else the first.
  let channel: Buffer;
  try {
    channel = await sharp(bytes, { animated: true, failOn: 'warning', limitInputPixels: meta.width * meta.height * frames })
      .extractChannel(meta.hasAlpha ? 'alpha' : 0)
      .raw()
      .toBuffer();
  } catch {
    throw corrupt();
  }
  if (channel.length !== meta.width * meta.height * frames) throw corrupt();
  const hasTransparency = meta.hasAlpha === true && channel.some((alpha) => alpha < 255);
  return { format, width: meta.width, height: meta.height, frameCount: frames, hasTransparency };
}

/** The message for a file that is none of the four formats: its format when sharp knows it. */
async function describeOther(bytes: Uint8Array): Promise<string> {
  try {
    const { format } = await sharp(bytes).metadata();
    if (format) return `the file is ${format.toUpperCase()}; ${ACCEPTED}`;
  } catch {
    // not an image sharp knows either
  }
  return `the file is not an image in a known format; ${ACCEPTED}`;
}
