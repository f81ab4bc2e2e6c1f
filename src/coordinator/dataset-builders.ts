// Datasets built by user code: from typed arrays, or from a function that
// yields one (pixels, label) pair at a time. Both end in `checkDataset`, the
// checks every dataset passes before training.

import { DatasetError } from '../shared/errors.js';
import type { Dataset, PixelArray } from '../shared/images.js';
import { kMostNumberedClasses, shown } from './data/read-options.js';
import { checkDataset, checkShape, typeName } from './dataset.js';
import type { ImageShape } from './dataset.js';

export interface ArrayDatasetInput extends ImageShape {
  /**
   * Every image's pixels, one image after another, each row by row with
   * interleaved channels. `Uint8Array` (or `Uint8ClampedArray`): 0..255,
   * scaled to 0..1 as batches are gathered; `Float32Array`: used as given.
   */
  pixels: PixelArray | Uint8ClampedArray;
  /** The class index of each image, 0 up to the number of classes minus 1. */
  labels: Int32Array | Uint8Array | Uint16Array | number[];
  /** One name per class. Default: '0', '1', ... up to the largest label. */
  classNames?: string[];
  /** Names the data in log lines and errors. Default: 'dataset in memory'. */
  source?: string;
}

/**
 * A dataset over typed arrays the caller already holds; they are used, not
 * copied (pixels given as a Uint8ClampedArray are viewed as a Uint8Array). The
 * result is checked as `checkDataset` checks every dataset.
 */
export function datasetFromArrays(input: ArrayDatasetInput): Dataset {
  if (typeof input !== 'object' || input === null) {
    throw new DatasetError(
      'dataset in memory',
      `datasetFromArrays needs { pixels, labels, height, width, channels }, got ${shown(input)}`,
    );
  }
  const source = input.source ?? 'dataset in memory';
  const { height, width, channels } = input;
  checkShape(source, input);
  const pixels =
    input.pixels instanceof Uint8ClampedArray
      ? new Uint8Array(input.pixels.buffer, input.pixels.byteOffset, input.pixels.length)
      : input.pixels;
  if (!(pixels instanceof Uint8Array || pixels instanceof Float32Array)) {
    throw new DatasetError(
      source,
      `${source}: pixels is ${typeName(pixels)}; expected a Uint8Array of 0..255 values or a ` +
        `Float32Array of normalized values`,
    );
  }
  const labels = toLabels(source, input.labels);
  const count = labels.length;
  const classNames = input.classNames ?? defaultClassNames(source, labels);
  const dataset = { pixels, labels, count, height, width, channels, classNames, source };
  checkDataset(dataset);
  return dataset;
}

/** One sample from a generator: its pixels and its label (a class index or name). */
export interface Sample {
  pixels: ArrayLike<number>;
  label: number | string;
}

export interface GeneratedDatasetOptions extends ImageShape {
  /**
   * 'uint8' (whole numbers 0..255, scaled to 0..1 as batches are gathered) or
   * 'float32' (used as given). Default: 'float32' when the first sample's
   * pixels are a Float32Array or Float64Array, else 'uint8' (so plain arrays
   * of numbers must then be whole numbers 0..255).
   */
  pixelType?: 'uint8' | 'float32';
  /**
   * One name per class; string labels must be among them, numeric labels index
   * them. Default: for string labels, the names seen, in code-point order; for
   * numbers, '0' up to the largest label.
   */
  classNames?: string[];
  /** Names the data in log lines and errors. Default: 'generated dataset'. */
  source?: string;
}

/**
 * Collects the samples a (sync or async) iterable yields into a dataset: one
 * growing buffer, no per-sample arrays kept. A sample of the wrong size, a
 * pixel out of range or an unknown label is a DatasetError naming the sample.
 */
export async function datasetFromSamples(
  samples: Iterable<Sample> | AsyncIterable<Sample>,
  options: GeneratedDatasetOptions,
): Promise<Dataset> {
  if (typeof options !== 'object' || options === null) {
    throw new DatasetError(
      'generated dataset',
      `datasetFromSamples needs the image shape as its second argument, { height, width, ` +
        `channels }, got ${shown(options)}`,
    );
  }
  const source = options.source ?? 'generated dataset';
  checkShape(source, options);
  const given = options.classNames;
  if (
    given !== undefined &&
    (!Array.isArray(given) || given.some((name) => typeof name !== 'string'))
  ) {
    throw new DatasetError(
      source,
      `${source}: classNames is ${shown(given)}; expected an array of strings, one per class`,
    );
  }
  const iterable = samples as unknown as Record<symbol, unknown> | null;
  if (
    typeof iterable !== 'object' ||
    iterable === null ||
    (typeof iterable[Symbol.iterator] !== 'function' &&
      typeof iterable[Symbol.asyncIterator] !== 'function')
  ) {
    throw new DatasetError(
      source,
      `datasetFromSamples needs an iterable or async iterable of { pixels, label } samples ` +
        `(an array, or a generator), got ${shown(samples)}`,
    );
  }
  const size = options.height * options.width * options.channels;
  let pixelType = options.pixelType;
  let pixels: Uint8Array | Float32Array | undefined;
  let labels: Int32Array = new Int32Array(1024);
  const names: string[] = [];
  const nameIndex = new Map<string, number>(options.classNames?.map((name, i) => [name, i]));
  let count = 0;
  let labelKind: string | undefined;

  for await (const sample of samples) {
    // class indices and class names in one dataset would number classes twice
    const kind = typeof sample?.label;
    labelKind ??= kind;
    if (kind !== labelKind) {
      throw new DatasetError(
        source,
        `sample ${count} of ${source} has a ${kind} label after ${labelKind} labels; expected ` +
          `every label to be a class index, or every label a class name`,
      );
    }
    // the first sample decides the pixel type, when the options do not
    pixelType ??= isFloatArray(sample?.pixels) ? 'float32' : 'uint8';
    if (pixelType === 'float32' && isByteArray(sample?.pixels)) {
      const why = options.pixelType ? 'pixelType float32' : 'as its first sample did';
      throw new DatasetError(
        source,
        `sample ${count} of ${source} has 8-bit pixels (${typeName(sample.pixels)}), but the ` +
          `dataset holds float pixels (${why}); yield one kind of pixels throughout`,
      );
    }
    if (pixels === undefined || (count + 1) * size > pixels.length) {
      pixels = grow(pixels, pixelType, Math.max(1024, 2 * count) * size);
      labels = growLabels(labels, Math.max(1024, 2 * count));
    }
    copySample(source, count, sample, size, pixelType, pixels);
    labels[count] = labelIndex(source, count, sample.label, options.classNames, nameIndex, names);
    count++;
  }
  if (count === 0 || pixels === undefined) {
    throw new DatasetError(source, `${source} yielded no samples; expected at least two classes`);
  }

  // string labels without given names: number the classes in code-point order
  let classNames = options.classNames ?? names;
  let finalLabels = labels.slice(0, count);
  if (options.classNames === undefined && names.length > 0) {
    const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const renumber = names.map((name) => sorted.indexOf(name));
    finalLabels = finalLabels.map((label) => renumber[label]);
    classNames = sorted;
  } else if (options.classNames === undefined) {
    classNames = defaultClassNames(source, finalLabels);
  }
  const dataset: Dataset = {
    pixels: pixels.slice(0, count * size),
    labels: finalLabels,
    count,
    height: options.height,
    width: options.width,
    channels: options.channels,
    classNames,
    source,
  };
  checkDataset(dataset);
  return dataset;
}

function toLabels(source: string, labels: ArrayDatasetInput['labels']): Int32Array {
  if (labels instanceof Int32Array) return labels;
  if (Array.isArray(labels) || labels instanceof Uint8Array || labels instanceof Uint16Array) {
    return Int32Array.from(labels);
  }
  throw new DatasetError(
    source,
    `${source}: labels is ${typeName(labels)}; expected an Int32Array, Uint8Array, ` +
      `Uint16Array or array of class indices`,
  );
}

/**
 * '0' up to the largest label. Labels past `kMostNumberedClasses` are refused
 * first: one stray label of a billion would otherwise ask for a billion classes.
 */
function defaultClassNames(source: string, labels: Int32Array): string[] {
  let largest = 0;
  labels.forEach((label, index) => {
    if (label > labels[largest]) largest = index;
  });
  const most = labels.length === 0 ? -1 : labels[largest];
  if (most >= kMostNumberedClasses) {
    throw new DatasetError(
      source,
      `image ${largest} of ${source} has label ${most}; without classNames the classes are ` +
        `numbered 0 to the largest label, and at most ${kMostNumberedClasses} are allowed; ` +
        `fix the label, or pass classNames`,
    );
  }
  return Array.from({ length: most + 1 }, (_, index) => String(index));
}

function isFloatArray(values: unknown): boolean {
  return values instanceof Float32Array || values instanceof Float64Array;
}

function isByteArray(values: unknown): boolean {
  return values instanceof Uint8Array || values instanceof Uint8ClampedArray;
}

function grow(
  pixels: Uint8Array | Float32Array | undefined,
  pixelType: 'uint8' | 'float32',
  length: number,
): Uint8Array | Float32Array {
  const larger = pixelType === 'uint8' ? new Uint8Array(length) : new Float32Array(length);
  if (pixels) larger.set(pixels);
  return larger;
}

function growLabels(labels: Int32Array, length: number): Int32Array {
  if (length <= labels.length) return labels;
  const larger = new Int32Array(length);
  larger.set(labels);
  return larger;
}

function copySample(
  source: string,
  index: number,
  sample: Sample,
  size: number,
  pixelType: 'uint8' | 'float32',
  pixels: Uint8Array | Float32Array,
): void {
  const values = sample?.pixels;
  if (values === undefined || values === null || typeof values.length !== 'number') {
    throw new DatasetError(
      source,
      `sample ${index} of ${source} has no pixels; expected { pixels, label } with ${size} ` +
        `pixel values`,
    );
  }
  if (values.length !== size) {
    throw new DatasetError(
      source,
      `sample ${index} of ${source} has ${values.length} pixel values; expected ${size} ` +
        `(height x width x channels)`,
    );
  }
  const offset = index * size;
  for (let i = 0; i < size; i++) {
    const value = values[i];
    const valid =
      pixelType === 'uint8'
        ? Number.isInteger(value) && value >= 0 && value <= 255
        : Number.isFinite(value);
    if (!valid) {
      throw new DatasetError(
        source,
        `sample ${index} of ${source} has pixel value ${value} at position ${i}; expected ` +
          (pixelType === 'uint8'
            ? 'whole numbers 0..255 (or pixelType float32 for normalized values)'
            : 'finite numbers'),
      );
    }
    pixels[offset + i] = value;
  }
}

function labelIndex(
  source: string,
  index: number,
  label: number | string,
  classNames: string[] | undefined,
  given: Map<string, number>,
  seen: string[],
): number {
  if (typeof label === 'number') {
    if (Number.isInteger(label) && label >= 0) return label;
  } else if (typeof label === 'string') {
    if (classNames !== undefined) {
      const known = given.get(label);
      if (known !== undefined) return known;
      throw new DatasetError(
        source,
        `sample ${index} of ${source} has label '${label}', which is not among the class ` +
          `names [${classNames.join(', ')}]; add it to classNames or fix the label`,
      );
    }
    let known = given.get(label);
    if (known === undefined) {
      known = seen.length;
      seen.push(label);
      given.set(label, known);
    }
    return known;
  }
  throw new DatasetError(
    source,
    `sample ${index} of ${source} has label ${shown(label)}; expected a class ` +
      `index (a whole number from 0) or a class name`,
  );
}
