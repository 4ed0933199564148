// Image inspection from the bytes alone: every accepted format (still, animated, with and without
// transparency), and every kind of file the vault must refuse, each with its message.
import { describe, expect, it } from 'vitest';
import { ImageRejected, inspectImage, sniffFormat, type ImageLimits } from '../../src/vault/index.js';
import {
  makeBmp, makeGif, makeJpeg, makePng, makeWebp, pattern, truncated, withBmpCanvas, withGifCanvas, withPngCanvas,
} from '../support/images.js';

const limits: ImageLimits = { maxBytes: 5 * 1024 * 1024, maxWidth: 256, maxHeight: 256, maxFrames: 1024 };

async function rejection(bytes: Uint8Array, l: ImageLimits = limits): Promise<string> {
  const err = await inspectImage(bytes, l).then(() => null, (e: unknown) => e);
  expect(err, 'expected the file to be refused').toBeInstanceOf(ImageRejected);
  return (err as Error).message;
}

describe('inspectImage: accepted files', () => {
  it('reads a still PNG, opaque and with transparency', async () => {
    expect(await inspectImage(await makePng(pattern(64, 48)), limits)).toEqual({ format: 'png', width: 64, height: 48, frameCount: 1, hasTransparency: false });
    expect(await inspectImage(await makePng(pattern(16, 16, { transparent: true })), limits)).toEqual({ format: 'png', width: 16, height: 16, frameCount: 1, hasTransparency: true });
  });

  it('counts the frames of an animated GIF and WebP and finds their transparency', async () => {
    const opaque = pattern(32, 32, { frames: 8 });
    const clear = pattern(32, 32, { frames: 5, transparent: true });
    expect(await inspectImage(await makeGif(opaque), limits)).toEqual({ format: 'gif', width: 32, height: 32, frameCount: 8, hasTransparency: false });
    expect(await inspectImage(await makeGif(clear), limits)).toEqual({ format: 'gif', width: 32, height: 32, frameCount: 5, hasTransparency: true });
    expect(await inspectImage(await makeWebp(opaque), limits)).toEqual({ format: 'webp', width: 32, height: 32, frameCount: 8, hasTransparency: false });
    expect(await inspectImage(await makeWebp(clear), limits)).toEqual({ format: 'webp', width: 32, height: 32, frameCount: 5, hasTransparency: true });
  });

  it('reads a still GIF and WebP as one frame', async () => {
    expect(await inspectImage(await makeGif(pattern(10, 12)), limits)).toMatchObject({ format: 'gif', width: 10, height: 12, frameCount: 1 });
    expect(await inspectImage(await makeWebp(pattern(10, 12)), limits)).toMatchObject({ format: 'webp', width: 10, height: 12, frameCount: 1 });
  });

  it('reads BMP: 24 bits (opaque) and 32 bits with an alpha mask', async () => {
    expect(await inspectImage(makeBmp(pattern(33, 20), 24), limits)).toEqual({ format: 'bmp', width: 33, height: 20, frameCount: 1, hasTransparency: false });
    expect(await inspectImage(makeBmp(pattern(8, 8), 32), limits)).toEqual({ format: 'bmp', width: 8, height: 8, frameCount: 1, hasTransparency: false });
    expect(await inspectImage(makeBmp(pattern(8, 8, { transparent: true }), 32), limits)).toEqual({ format: 'bmp', width: 8, height: 8, frameCount: 1, hasTransparency: true });
  });

  it('sniffs the format from the signature only', async () => {
    expect(sniffFormat(await makePng(pattern(2, 2)))).toBe('png');
    expect(sniffFormat(await makeGif(pattern(2, 2)))).toBe('gif');
    expect(sniffFormat(await makeWebp(pattern(2, 2)))).toBe('webp');
    expect(sniffFormat(makeBmp(pattern(2, 2), 24))).toBe('bmp');
    expect(sniffFormat(await makeJpeg(pattern(2, 2)))).toBeNull();
  });
});

describe('inspectImage: refused files', () => {
  it('refuses formats other than the four, naming the format when it is an image', async () => {
    expect(await rejection(await makeJpeg(pattern(8, 8)))).toBe('the file is JPEG; only PNG, GIF, WebP and BMP are accepted');
    expect(await rejection(Buffer.from('just some text, not a picture\n'))).toBe('the file is not an image in a known format; only PNG, GIF, WebP and BMP are accepted');
    expect(await rejection(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>'))).toBe('the file is SVG; only PNG, GIF, WebP and BMP are accepted');
    expect(await rejection(Buffer.alloc(0))).toBe('the file is empty');
  });

  it('refuses truncated files of every format', async () => {
    expect(await rejection(truncated(await makePng(pattern(64, 64))))).toBe('the PNG file is truncated or corrupt');
    const gif = await makeGif(pattern(32, 32, { frames: 8 }));
    for (const f of [0.3, 0.6, 0.95]) expect(await rejection(truncated(gif, f))).toBe('the GIF file is truncated or corrupt');
    expect(await rejection(gif.subarray(0, gif.length - 1))).toBe('the GIF file is truncated or corrupt'); // only the trailer missing
    expect(await rejection(truncated(await makeWebp(pattern(32, 32, { frames: 4 }))))).toBe('the WebP file is truncated or corrupt');
    expect(await rejection(truncated(makeBmp(pattern(32, 32), 24)))).toBe('the BMP file is truncated or corrupt');
    expect(await rejection(truncated(makeBmp(pattern(32, 32), 32), 0.99))).toBe('the BMP file is truncated or corrupt');
  });

  it('refuses a small file declaring a huge canvas from its header, without decoding it (decompression bomb)', async () => {
    const png = withPngCanvas(await makePng(pattern(16, 16)), 20000, 20000);
    expect(png.length).toBeLessThan(2000);
    const started = Date.now();
    expect(await rejection(png)).toBe('20000x20000 pixels is more than the limit of 256x256');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await rejection(withGifCanvas(await makeGif(pattern(16, 16)), 20000, 20000))).toBe('20000x20000 pixels is more than the limit of 256x256');
    expect(await rejection(withBmpCanvas(makeBmp(pattern(16, 16), 24), 20000, 20000))).toBe('20000x20000 pixels is more than the limit of 256x256');
  });

  it('refuses a canvas over the width or height limit, too many frames, too many bytes', async () => {
    expect(await rejection(await makePng(pattern(300, 10)))).toBe('300x10 pixels is more than the limit of 256x256');
    expect(await rejection(await makeWebp(pattern(10, 257)))).toBe('10x257 pixels is more than the limit of 256x256');
    const anim = pattern(8, 8, { frames: 6 });
    expect(await rejection(await makeGif(anim), { ...limits, maxFrames: 5 })).toBe('6 frames is more than the limit of 5');
    expect(await rejection(await makeWebp(anim), { ...limits, maxFrames: 5 })).toBe('6 frames is more than the limit of 5');
    const png = await makePng(pattern(64, 64));
    expect(await rejection(png, { ...limits, maxBytes: png.length - 1 })).toBe(`more than the limit of ${png.length - 1} bytes`);
    await expect(inspectImage(png, { ...limits, maxBytes: png.length })).resolves.toMatchObject({ format: 'png' });
  });

  it('refuses a file that has a signature but no image behind it', async () => {
    expect(await rejection(Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'))).toBe('the PNG file is truncated or corrupt');
    expect(await rejection(Buffer.from('GIF89a'))).toBe('the GIF file is truncated or corrupt');
    expect(await rejection(Buffer.from('BM1234567890'))).toBe('the BMP file is truncated or corrupt');
  });
});
