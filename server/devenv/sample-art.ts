// A small real pixel-art image for the `make run` walkthrough (and anyone trying the upload by
// hand): a 16x16 PNG of a red heart with a dark outline on a transparent background, drawn here
// so that no binary file lives in the repository.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import sharp from 'sharp';

const HEART = [
  '................',
  '..OOOO....OOOO..',
  '.ORRRRO..ORRRRO.',
  'ORRWWRROORRRRRRO',
  'ORWWRRRRRRRRRRRO',
  'ORRRRRRRRRRRRRRO',
  'ORRRRRRRRRRRRRRO',
  '.ORRRRRRRRRRRRO.',
  '..ORRRRRRRRRRO..',
  '...ORRRRRRRRO...',
  '....ORRRRRRO....',
  '.....ORRRRO.....',
  '......ORRO......',
  '.......OO.......',
  '................',
  '................',
];
const COLOURS: Record<string, [number, number, number, number]> = {
  '.': [0, 0, 0, 0],
  O: [40, 16, 32, 255],
  R: [228, 48, 72, 255],
  W: [255, 236, 240, 255],
};

/** The heart as PNG bytes. */
export function sampleArtPng(): Promise<Buffer> {
  const rgba = Buffer.alloc(16 * 16 * 4);
  HEART.forEach((row, y) => [...row].forEach((c, x) => rgba.set(COLOURS[c]!, (y * 16 + x) * 4)));
  return sharp(rgba, { raw: { width: 16, height: 16, channels: 4 } }).png().toBuffer();
}

/** Writes the heart to `file` (directories created) and returns the path. */
export async function writeSampleArt(file: string): Promise<string> {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, await sampleArtPng());
  return file;
}
