// Decodes BMP files, which sharp cannot read, with bmp-ts, into RGB rows. bmp-ts
// hands back four bytes a pixel in A, B, G, R order for every bit depth it reads.
import { decode } from 'bmp-ts';

import type { RgbImage } from './decode-worker.js';

/** The BMP compression codes bmp-ts reads without misplacing channels. */
const kUncompressed = 0;
const kBitFields = 3;
const kAlphaBitFields = 6;
/** The file header (14 bytes) and the smallest info header (40 bytes). */
const kHeaderBytes = 54;

/**
 * Byte offsets of red, green and blue inside each four-byte pixel bmp-ts writes
 * when asked for its default order; its `toRGBA` order is skipped because its
 * palette paths (1, 4 and 8 bits) ignore it and keep this one.
 */
const kRed = 3;
const kGreen = 2;
const kBlue = 1;

/** True when `bytes` start like a BMP file ("BM"), whatever the file is called. */
export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

/**
 * The RGB pixels of a BMP, top row first; alpha, where a 32-bit BMP has it,
 * is dropped like every other format's. Run-length-encoded BMPs are refused:
 * bmp-ts writes their pixels into the wrong bytes.
 */
export function decodeBmp(bytes: Buffer): RgbImage {
  checkBmpHeader(bytes);
  const image = decode(bytes);
  const { width, height } = image;
  const source = image.data;
  const pixelCount = width * height;
  const data = new Uint8Array(pixelCount * 3);
  for (let pixel = 0; pixel < pixelCount; pixel++) {
    data[3 * pixel] = source[4 * pixel + kRed];
    data[3 * pixel + 1] = source[4 * pixel + kGreen];
    data[3 * pixel + 2] = source[4 * pixel + kBlue];
  }
  return { data, width, height };
}

/**
 * Refuses, before bmp-ts allocates anything, a header too short to hold its
 * fields, a compression bmp-ts gets wrong, and pixel rows that would run past
 * the end of the file (a cut-short download), which bmp-ts reports only as an
 * out-of-range read.
 */
function checkBmpHeader(bytes: Buffer): void {
  if (bytes.length < kHeaderBytes) {
    throw new Error(`it is cut short: ${bytes.length} bytes, fewer than a BMP header's 54`);
  }
  const compression = bytes.readUInt32LE(30);
  if (![kUncompressed, kBitFields, kAlphaBitFields].includes(compression)) {
    throw new Error(
      `it is a run-length-encoded BMP (compression ${compression}), which cannot be read; ` +
        `save it uncompressed`,
    );
  }
  const pixelStart = bytes.readUInt32LE(10);
  const width = bytes.readInt32LE(18);
  const height = Math.abs(bytes.readInt32LE(22));
  const bits = bytes.readUInt16LE(28);
  // rows are padded to whole 32-bit words
  const rowBytes = Math.floor((bits * width + 31) / 32) * 4;
  const needed = pixelStart + rowBytes * height;
  if (width <= 0 || height === 0) {
    throw new Error(`its header gives a size of ${width}x${height} pixels`);
  }
  if (needed > bytes.length) {
    throw new Error(
      `it is cut short: its header promises ${width}x${height} pixels of ${bits} bits, ` +
        `${needed} bytes in all, but the file has ${bytes.length}`,
    );
  }
}
