// The code each image-decoding thread runs: it reads a chunk of files and hands
// back their pixels as RGB, JPEGs through jpeg-js and everything else through sharp.
// Like the training workers it never prints; failures come back as data.
import { readFileSync } from 'node:fs';

import { decode as decodeJpeg } from 'jpeg-js';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import type sharpModule from 'sharp';

/** A chunk of image files, absolute paths, decoded by one task. */
export interface DecodeTask {
  files: string[];
}

/**
 * The decoded chunk. Image `i` of the chunk is `widths[i] x heights[i]` RGB
 * pixels, row by row, starting at `offsets[i]` in `pixels`; `gray[i]` is 1 when
 * R == G == B at every one of its pixels. When a file cannot be decoded the chunk
 * stops there: `failure` names it and the arrays hold only the files before it.
 */
export interface DecodedChunk {
  pixels: Uint8Array;
  offsets: Float64Array;
  widths: Uint32Array;
  heights: Uint32Array;
  gray: Uint8Array;
  failure?: { index: number; reason: string };
}

/**
 * jpeg-js refuses a file that would need more memory than this; sharp then
 * decodes it instead, which is also the faster of the two for large photos.
 */
const kJpegMemoryMegabytes = 256;

const kJpegExtension = /\.jpe?g$/i;

interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Loaded on the first file that needs it, so a folder of JPEGs never starts libvips. */
let sharp: typeof sharpModule | undefined;

export default async function decodeChunk(task: DecodeTask): Promise<DecodedChunk> {
  const images: RgbImage[] = [];
  let failure: DecodedChunk['failure'];
  for (const [index, file] of task.files.entries()) {
    try {
      images.push(await decodeFile(file));
    } catch (error) {
      failure = { index, reason: firstLine(error) };
      break;
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
    gray[index] = isGray(image.data) ? 1 : 0;
    bytes += image.data.length;
  });
  const pixels = new Uint8Array(bytes);
  images.forEach((image, index) => pixels.set(image.data, offsets[index]));

  const chunk: DecodedChunk = { pixels, offsets, widths, heights, gray, failure };
  const buffers = [pixels, offsets, widths, heights, gray].map((array) => array.buffer);
  // piscina sends the value and transfers the buffers, so the caller receives a plain chunk
  const movable = move({ [transferableSymbol]: buffers, [valueSymbol]: chunk });
  return movable as unknown as DecodedChunk;
}

/**
 * Decodes one file to RGB. Files are small, so a synchronous read beats a
 * thread-pool round trip per file. A JPEG that jpeg-js rejects (a format it
 * lacks, or a PNG named .jpg) is given to sharp before it counts as undecodable.
 */
async function decodeFile(file: string): Promise<RgbImage> {
  const bytes = readFileSync(file);
  if (kJpegExtension.test(file)) {
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
 * sharp keeps alpha and may keep a single gray channel, so alpha is dropped
 * and gray is repeated into R, G and B: every image leaves this thread as RGB.
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
