// What an uploaded artwork may be (server settings VAULT_MAX_*), and what inspection finds in it.
import type { NativeFormat } from './formats.js';

export interface ImageLimits {
  maxBytes: number;
  maxWidth: number;
  maxHeight: number;
  maxFrames: number;
}

export interface ImageInfo {
  format: NativeFormat;
  width: number;
  height: number;
  /** 1 for a still image; the number of frames of an animated GIF or WebP. */
  frameCount: number;
  /** Whether some pixel of some frame is not fully opaque. */
  hasTransparency: boolean;
}

/** A file the vault refuses; the message says what is wrong (the caller prefixes the field name). */
export class ImageRejected extends Error {
  override readonly name = 'ImageRejected';
}

/** Refuses a canvas or frame count over the limits (checked from headers, before any decoding). */
export function checkDimensions(width: number, height: number, frames: number, limits: ImageLimits): void {
  if (width > limits.maxWidth || height > limits.maxHeight) {
    throw new ImageRejected(`${width}x${height} pixels is more than the limit of ${limits.maxWidth}x${limits.maxHeight}`);
  }
  if (frames > limits.maxFrames) throw new ImageRejected(`${frames} frames is more than the limit of ${limits.maxFrames}`);
}
