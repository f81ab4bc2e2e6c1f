// Image files the image-dataset tests write for themselves: PNGs of every
// colour type, GIFs, BMPs through bmp-ts's encoder, JPEGs, and folders of
// classes holding them, from pixels the tests can predict.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { encode as encodeBmpFile } from 'bmp-ts';
import sharp from 'sharp';

/** Raw pixels of image `seed`, `channels` interleaved; distinct per image and position. */
export function pixels(seed: number, width: number, height: number, channels: number): Buffer {
  return Buffer.from(
    Array.from({ length: width * height * channels }, (_, index) => (seed * 31 + index * 11) % 256),
  );
}

/** A PNG of raw 8-bit pixels: 1 gray, 2 gray and alpha, 3 RGB, 4 RGBA. */
export async function png(raw: Buffer, width: number, height: number, channels: 1 | 2 | 3 | 4) {
  let image = sharp(raw, { raw: { width, height, channels } });
  if (channels <= 2) image = image.toColourspace('b-w'); // else sharp writes gray as RGB
  return image.png().toBuffer();
}

/** A 16-bit RGB PNG of raw 16-bit samples. */
export async function png16(samples: Uint16Array, width: number, height: number) {
  return sharp(samples, { raw: { width, height, channels: 3 } })
    .toColourspace('rgb16')
    .png()
    .toBuffer();
}

/** A palette PNG; exact when the image has at most 256 colours. */
export async function palettePng(rgb: Buffer, width: number, height: number) {
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .png({ palette: true, colours: 256, dither: 0 })
    .toBuffer();
}

/** A GIF of RGB frames, first to last; exact when each frame has few colours. */
export async function gif(frames: Buffer[], width: number, height: number) {
  const pngs = await Promise.all(frames.map((frame) => png(frame, width, height, 3)));
  const input = pngs.length === 1 ? pngs[0] : pngs;
  const options = pngs.length === 1 ? {} : { join: { animated: true } };
  return sharp(input, options).gif({ dither: 0 }).toBuffer();
}

/** A JPEG at quality 100 without chroma subsampling. */
export async function jpeg(rgb: Buffer, width: number, height: number, progressive = false) {
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 100, chromaSubsampling: '4:4:4', progressive })
    .toBuffer();
}

/**
 * A BMP of RGB pixels through bmp-ts's encoder, which takes four bytes a pixel
 * in A, B, G, R order: 24 or 32 bits a pixel, or 8 with `rgb`'s own colours as
 * its palette (at most 128 of them: the encoder writes no more).
 */
export function bmp(rgb: Buffer, width: number, height: number, bits: 8 | 24 | 32): Buffer {
  const count = width * height;
  const abgr = Buffer.alloc(count * 4);
  for (let pixel = 0; pixel < count; pixel++) {
    abgr[4 * pixel] = bits === 32 ? 200 : 0;
    abgr[4 * pixel + 1] = rgb[3 * pixel + 2];
    abgr[4 * pixel + 2] = rgb[3 * pixel + 1];
    abgr[4 * pixel + 3] = rgb[3 * pixel];
  }
  if (bits !== 8) return encodeBmpFile({ data: abgr, width, height, bitPP: bits }).data;
  const colours = new Map<string, { red: number; green: number; blue: number; quad: number }>();
  for (let pixel = 0; pixel < count; pixel++) {
    const [red, green, blue] = rgb.subarray(3 * pixel, 3 * pixel + 3);
    colours.set(`${red},${green},${blue}`, { red, green, blue, quad: 0 });
  }
  const palette = [...colours.values()];
  return encodeBmpFile({ data: abgr, width, height, bitPP: 8, palette, colors: palette.length })
    .data;
}

/** RGB pixels with few colours (for GIFs and palettes): `seed` picks them. */
export function fewColours(seed: number, width: number, height: number): Buffer {
  const colours = [
    [seed * 40, 0, 255 - seed * 40],
    [10, 200, 30],
    [250, 250, 250],
    [0, 0, 0],
  ];
  return Buffer.from(
    Array.from({ length: width * height }, (_, pixel) => colours[(pixel + seed) % 4]).flat(),
  );
}

/** Writes `files` (name to bytes) into each of the class folders `classes` under `root`. */
export async function writeClasses(
  root: string,
  classes: Record<string, Record<string, Buffer>>,
): Promise<void> {
  for (const [name, files] of Object.entries(classes)) {
    await mkdir(join(root, name), { recursive: true });
    for (const [file, bytes] of Object.entries(files))
      await writeFile(join(root, name, file), bytes);
  }
}
