// The code each image-decoding thread runs: it reads a chunk of files and hands
// back their pixels as RGB, JPEGs through jpeg-js, BMPs through bmp-ts and every
// other format (PNG, GIF) through sharp, resized by sharp when asked. Like the
// training workers it never prints; failures come back as data.
import { readFileSync } from 'node:fs';

import { decode as decodeJpeg } from 'jpeg-js';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import type sharpModule from 'sharp';

import { decodeBmp, isBmp } from './bmp-decode.js';

/** A chunk of image files, absolute paths, decoded by one task. */
export interface DecodeTask {
  files: string[];
  /** Resize every image to this size (stretched, Lanczos); none keeps each image's own. */
  imageSize?: { width: number; height: number };
  /** Go on past a file that cannot be decoded, instead of stopping the chunk there. */
  keepGoing: boolean;
}

/** A file of the chunk that could not be read or decoded, by its index in the chunk. */
export interface DecodeFailure {
  index: number;
  reason: string;
}

/**
 * The decoded chunk. Entry `i` is file `i` of the chunk: `widths[i] x
 * heights[i]` RGB pixels, row by row, starting at `offsets[i]` in `pixels`;
 * `gray[i]` is 1 when R == G == B at every one of its pixels. A file that
 * cannot be decoded is listed in `failures` and has width and height 0; without
 * `keepGoing` the chunk stops at the first one, so the arrays end with it.
 */
export interface DecodedChunk {
  pixels: Uint8Array;
  offsets: Float64Array;
  widths: Uint32Array;
  heights: Uint32Array;
  gray: Uint8Array;
  failures: DecodeFailure[];
}

/**
 * jpeg-js refuses a file that would need more memory than this; sharp then
 * decodes it instead, which is also the faster of the two for large photos.
 */
const kJpegMemoryMegabytes = 256;

const kJpegExtension = /\.jpe?g$/i;

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Loaded on the first file that needs it, so a folder of JPEGs never starts libvips. */
let sharp: typeof sharpModule | undefined;

/** What a failed file leaves in the chunk: no pixels, size 0 x 0. */
const kNoImage: RgbImage = { data: new Uint8Array(0), width: 0, height: 0 };

export default async function decodeChunk(task: DecodeTask): Promise<DecodedChunk> {
  const images: RgbImage[] = [];
  const failures: DecodeFailure[] = [];
  for (const [index, file] of task.files.entries()) {
    try {
      const image = await decodeFile(file);
      images.push(task.imageSize ? await resize(image, task.imageSize) : image);
    } catch (error) {
      failures.push({ index, reason: firstLine(error) });
      images.push(kNoImage);
      if (!task.keepGoing) break;
    }
  }

  // one buffer for the whole chunk, moved to the coordinator rather than copied
  const count = images.length;
  const offsets = new Float64Array(count);
  const widths = new Uint32Array(count);
  const heights = new Uint32Array(count);
  const gray = new Uint8Array(count);
  let bytes = 0;
  images.forEach((image, index) => {
    offsets[index] = bytes;
    widths[index] = image.width;
    heights[index] = image.height;
    gray[index] = image.width > 0 && isGray(image.data) ? 1 : 0;
    bytes += image.data.length;
  });
  const pixels = new Uint8Array(bytes);
  images.forEach((image, index) => pixels.set(image.data, offsets[index]));

  const chunk: DecodedChunk = { pixels, offsets, widths, heights, gray, failures };
  const buffers = [pixels, offsets, widths, heights, gray].map((array) => array.buffer);
  // piscina sends the value and transfers the buffers, so the caller receives a plain chunk
  const movable = move({ [transferableSymbol]: buffers, [valueSymbol]: chunk });
  return movable as unknown as DecodedChunk;
}

/**
 * Decodes one file to RGB. Files are small, so a synchronous read beats a
 * thread-pool round trip per file. A JPEG that jpeg-js rejects (a format it
 * lacks, or a PNG named .jpg) is given to sharp before it counts as undecodable,
 * and so is a CMYK JPEG, whose inks jpeg-js turns into RGB without the colour
 * management sharp applies (its colours come out far too dark);
 * a BMP is told by its first bytes, whatever its extension.
 */
async function decodeFile(file: string): Promise<RgbImage> {
  const bytes = readFileSync(file);
  if (bytes.length === 0) throw new Error('the file is empty (0 bytes)');
  if (isBmp(bytes)) return decodeBmp(bytes);
  if (kJpegExtension.test(file) && jpegComponents(bytes) !== 4) {
    try {
      return decodeJpeg(bytes, {
        useTArray: true,
        formatAsRGBA: false,
        tolerantDecoding: false,
        maxMemoryUsageInMB: kJpegMemoryMegabytes,
      });
    } catch {
      // sharp decides below
    }
  }
  return decodeWithSharp(bytes);
}

/**
 * The number of colour components a JPEG's frame header declares (1 gray, 3
 * YCbCr, 4 CMYK), or undefined when no frame header is found: the markers
 * before it are walked by their lengths.
 */
export function jpegComponents(bytes: Uint8Array): number | undefined {
  let at = 2;
  while (at + 9 < bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1];
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC)
    const frame = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
    if (frame) return bytes[at + 9];
    at += 2 + length;
  }
  return undefined;
}

/**
 * sharp keeps alpha and may keep a single gray channel, so alpha is dropped
 * and gray is repeated into R, G and B: every image leaves this thread as RGB.
 * It expands palettes, reads the first frame of an animated GIF, and brings
 * 16-bit PNGs to 8 bits by keeping each sample's high byte.
 */
async function decodeWithSharp(bytes: Buffer): Promise<RgbImage> {
  sharp ??= (await import('sharp')).default;
  const { data, info } = await sharp(bytes)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  if (channels === 3) return { data, width, height };
  if (channels !== 1) {
    throw new Error(`it decodes to ${channels} channels where gray or RGB was expected`);
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let pixel = 0; pixel < data.length; pixel++) {
    rgb[3 * pixel] = rgb[3 * pixel + 1] = rgb[3 * pixel + 2] = data[pixel];
  }
  return { data: rgb, width, height };
}

/**
 * Stretches an image to `size` (no cropping, no padding) with sharp's default
 * Lanczos kernel. Each channel is resampled alike, so a gray image stays gray.
 */
async function resize(image: RgbImage, size: { width: number; height: number }) {
  if (image.width === size.width && image.height === size.height) return image;
  sharp ??= (await import('sharp')).default;
  const raw = { width: image.width, height: image.height, channels: 3 } as const;
  const data = await sharp(image.data, { raw })
    .resize(size.width, size.height, { fit: 'fill' })
    .raw()
    .toBuffer();
  return { data, width: size.width, height: size.height };
}

/**
 * The reason a decoder gives, in one line. libvips ends its message with every
 * warning it collected, one per line and often repeated ("VipsJpeg: premature
 * end of JPEG image", "VipsJpeg: Bogus marker length"); the first line says
 * what went wrong, and is kept without the `VipsJpeg: `-style prefixes.
 */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = message
    .split('\n')
    .map((each) => each.trim())
    .find((each) => each !== '');
  return (line ?? 'no reason given').replace(/\bVips\w*: /g, '');
}

function isGray(rgb: Uint8Array): boolean {
  for (let index = 0; index < rgb.length; index += 3) {
    if (rgb[index] !== rgb[index + 1] || rgb[index] !== rgb[index + 2]) return false;
  }
  return true;
}
