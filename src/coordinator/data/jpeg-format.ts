// The pieces of a baseline JPEG that its decoder's stages share: the frame's
// components with their decoded samples, Huffman tables, and the zigzag order.

/** Decoded pixels, row by row with interleaved channels (1 gray, 3 RGB). */
export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

export interface Component {
  id: number;
  horizontal: number;
  vertical: number;
  quantTable: number;
  dcTable: number;
  acTable: number;
  /** Blocks per row and column as stored (whole MCUs). */
  blocksWide: number;
  blocksHigh: number;
  /** Samples per row and column that carry image data. */
  width: number;
  height: number;
  /** Decoded samples, blocksWide * 8 per row. */
  samples: Uint8Array;
}

/** A Huffman table as canonical code ranges per code length. */
export interface HuffmanTable {
  /** For each next 8 bits: code length << 8 | value, or 0 when the code is longer. */
  lookup: Uint16Array;
  /** Largest code of each length 1..16, -1 for lengths without codes. */
  maxCode: Int32Array;
  /** Added to a code of each length to index `values`. */
  valueOffset: Int32Array;
  values: Uint8Array;
}

/** Thrown inside the decoder for any input it leaves to sharp; never escapes it. */
export class Unsupported extends Error {}

/** Position in the 8x8 block, row by row, of the n-th coefficient in file order. */
export const kZigzag = Uint8Array.from([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
  13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52,
  45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]);
