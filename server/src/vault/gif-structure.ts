// The block structure of a GIF file, walked without decoding any pixel: how many images (frames) it
// has and whether it is complete. libvips (sharp) decodes a truncated GIF without complaint (the
// frames it could read), so completeness is checked here: every block and sub-block must fit in
// the file and the trailer (0x3B) must come after the last one. Data after the trailer is ignored.

export type GifStructure =
  | {
      complete: true;
      frames: number;
      /** The canvas the file declares: the larger of its logical screen and the extent of its frames. */
      width: number;
      height: number;
    }
  | { complete: false; reason: string };

export function gifStructure(bytes: Uint8Array): GifStructure {
  const n = bytes.length;
  let p = 0;
  const need = (count: number): boolean => p + count <= n;
  const colorTableSize = (packed: number): number => (packed & 0x80 ? 3 * (1 << ((packed & 0x07) + 1)) : 0);
  /** Skips a chain of data sub-blocks up to and including its 0 terminator. */
  const skipSubBlocks = (): boolean => {
    for (;;) {
      if (!need(1)) return false;
      const size = bytes[p++]!;
      if (size === 0) return true;
      if (!need(size)) return false;
      p += size;
    }
  };
  const header = String.fromCharCode(...bytes.subarray(0, 6));
  if (header !== 'GIF87a' && header !== 'GIF89a') return { complete: false, reason: 'no GIF signature' };
  p = 6;
  if (!need(7)) return { complete: false, reason: 'truncated in the screen descriptor' };
  const u16 = (at: number) => bytes[at]! | (bytes[at + 1]! << 8);
  let width = u16(p);
  let height = u16(p + 2);
  const screenPacked = bytes[p + 4]!;
  p += 7;
  const globalTable = colorTableSize(screenPacked);
  if (!need(globalTable)) return { complete: false, reason: 'truncated in the colour table' };
  p += globalTable;
  let frames = 0;
  for (;;) {
    if (!need(1)) return { complete: false, reason: 'no trailer (truncated)' };
    const block = bytes[p++]!;
    if (block === 0x3b) return frames > 0 ? { complete: true, frames, width, height } : { complete: false, reason: 'no image' };
    if (block === 0x21) {
      if (!need(1)) return { complete: false, reason: 'truncated in an extension' };
      p += 1; // label
      if (!skipSubBlocks()) return { complete: false, reason: 'truncated in an extension' };
    } else if (block === 0x2c) {
      if (!need(9)) return { complete: false, reason: 'truncated in an image descriptor' };
      const packed = bytes[p + 8]!;
      width = Math.max(width, u16(p) + u16(p + 4));
      height = Math.max(height, u16(p + 2) + u16(p + 6));
      p += 9;
      const localTable = colorTableSize(packed);
      if (!need(localTable + 1)) return { complete: false, reason: 'truncated in an image' };
      p += localTable + 1; // colour table, LZW minimum code size
      if (!skipSubBlocks()) return { complete: false, reason: 'truncated in an image' };
      frames += 1;
    } else {
      return { complete: false, reason: `unknown block 0x${block.toString(16).padStart(2, '0')}` };
    }
  }
}
