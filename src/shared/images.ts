// The in-memory form every dataset source produces before normalization: raw
// 8-bit pixels (or, for sources that hold other numbers, pixels already scaled
// to 0..1) and integer class labels, the same for IDX files, CSV files,
// decoded image folders and arrays handed in by library users.

/**
 * A set of labelled images of one size. `pixels` holds `count` images one after
 * another, each stored row by row with interleaved channels (height × width ×
 * channels), which is also the order a Keras `Flatten` layer reads them in.
 */
export interface LabelledImages {
  /**
   * 8-bit pixels, 0..255, scaled to 0..1 as batches are gathered; or 32-bit
   * floats, used as they are (already normalized, usually to 0..1).
   */
  pixels: PixelArray;
  /** Class index of each image, `0 <= label < classNames.length`. */
  labels: Int32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  classNames: string[];
  /** Where the images came from, for log lines and error messages. */
  source: string;
  /**
   * The range of integer values a source scaled to 0..1 to make its float
   * pixels (IDX files of integers outside 0..255); a saved model records it,
   * so that evaluating on another such file scales it the same way.
   */
  valueRange?: ValueRange;
}

/** A range of raw values mapped linearly onto 0..1. */
export interface ValueRange {
  minimum: number;
  maximum: number;
}

/** The two ways pixels are held: 8-bit values, or floats already normalized. */
export type PixelArray = Uint8Array | Float32Array;

/**
 * A dataset as the library takes it: labelled images of one size. Built by
 * the loaders (`loadDataset`), from typed arrays (`datasetFromArrays`) or
 * from a generator of samples (`datasetFromSamples`).
 */
export type Dataset = LabelledImages;

/** A training set and, when the source has one, its own test set. */
export interface DatasetSplits {
  train: LabelledImages;
  test?: LabelledImages;
}

/**
 * The image shape of `size` values stored image by image in height × width
 * × channels order: a square of gray pixels when `size` is a square (784 →
 * 28×28×1), a square of RGB pixels when it is three times one (3072 →
 * 32×32×3), else a single row of gray pixels.
 */
export function imageShapeOfSize(size: number): [number, number, number] {
  for (const channels of [1, 3]) {
    const side = Math.round(Math.sqrt(size / channels));
    if (side * side * channels === size) return [side, side, channels];
  }
  return [1, size, 1];
}

/**
 * A zeroed 8-bit pixel array over a SharedArrayBuffer of exactly its length.
 * Loaders fill their pixels into one, and training then shares that very
 * memory with its workers instead of copying it (see samples.ts), so a loaded
 * dataset is held once.
 */
export function sharedPixels(length: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(length));
}

/** `values` copied into `sharedPixels` memory of their length. */
export function sharedCopy(values: Uint8Array): Uint8Array {
  const pixels = sharedPixels(values.length);
  pixels.set(values);
  return pixels;
}
