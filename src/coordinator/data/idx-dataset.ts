// An IDX dataset given by path: an images file of any element type and rank,
// its labels file (named by option, or found beside it by name), and the same
// pair for the test set. Pixels follow the rule of idx-pixels.ts; the image
// shape follows the dimensions, as `idxImageShape` describes.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DatasetError, OptionError } from '../../shared/errors.js';
import { imageShapeOfSize } from '../../shared/images.js';
import type { DatasetSplits, LabelledImages } from '../../shared/images.js';
import { readIdxArray } from './idx.js';
import type { IdxArray } from './idx.js';
import { pixelScaleOf, toPixels } from './idx-pixels.js';
import type { PixelScale } from './idx-pixels.js';
import type { LoadProgress } from './progress.js';
import { kMostNumberedClasses } from './read-options.js';
import type { ReadOptions } from './read-options.js';
import { sourceKind } from './source-kind.js';

export interface IdxLoadOptions extends Pick<ReadOptions, 'labels' | 'testLabels' | 'valueRange'> {
  onProgress?: (event: LoadProgress) => void;
}

/** Fails with an OptionError when labels files were named for a dataset that is not IDX. */
export function rejectLabelFiles(dataset: string, options: ReadOptions): void {
  for (const [flag, path] of [
    ['labels', options.labels],
    ['test-labels', options.testLabels],
  ] as const) {
    if (path === undefined) continue;
    throw new OptionError(
      flag,
      `--${flag} ${path} names an IDX labels file, but --dataset ${dataset} is not an IDX ` +
        `images file; expected --${flag} only with IDX images, so drop it (a CSV file names ` +
        `its label column with --label-column)`,
    );
  }
}

/**
 * Reads an IDX training set and, when `test` is given, an IDX test set of the
 * same image shape. Both get the classes '0' to the largest label of either.
 */
export async function loadIdxDataset(
  dataset: string,
  test: string | undefined,
  options: IdxLoadOptions,
): Promise<DatasetSplits> {
  if (test === undefined && options.testLabels !== undefined) {
    throw new OptionError(
      'test-labels',
      `--test-labels ${options.testLabels} was given without --test; expected it with an IDX ` +
        `images --test, so add --test or drop it`,
    );
  }
  if (test !== undefined) await checkIdxTest(dataset, test);
  const notice = (message: string) => options.onProgress?.({ kind: 'notice', message });

  // the training file decides the pixel scale, so it is read first
  const trainFiles = await readPair(dataset, options.labels, '--labels');
  const given = options.valueRange;
  const scale: PixelScale =
    given !== undefined && trainFiles.images.integer
      ? { kind: 'range', minimum: given.minimum, maximum: given.maximum }
      : pixelScaleOf(trainFiles.images);
  // a range given (a model's) is the training images' range, as for a test file
  const role = given !== undefined ? 'test' : 'training';
  const train = toSet(dataset, trainFiles, scale, role, notice);
  if (test === undefined) return { train: { ...train, classNames: classNames([train]) } };

  const testFiles = await readPair(test, options.testLabels, '--test-labels');
  const testSet = toSet(test, testFiles, scale, 'test', notice);
  const trainShape = [train.height, train.width, train.channels].join('x');
  const testShape = [testSet.height, testSet.width, testSet.channels].join('x');
  if (testShape !== trainShape) {
    throw new DatasetError(
      test,
      `${test} holds ${testShape} images (height x width x channels) but ${dataset} holds ` +
        `${trainShape}; expected a test set of images of the training set's shape`,
    );
  }
  const names = classNames([train, testSet]);
  return { train: { ...train, classNames: names }, test: { ...testSet, classNames: names } };
}

/**
 * The height, width and channels of the images of an IDX file of dimensions
 * [count, ...]: [count, size] is one image of `size` values per row, shaped as
 * `imageShapeOfSize` says; [count, height, width] is gray; [count, height,
 * width, channels] is interleaved channels; from five dimensions on, the first
 * after the count is the height, the rest multiply into the width, with one
 * channel.
 */
export function idxImageShape(dimensions: number[], path: string): [number, number, number] {
  const [, ...shape] = dimensions;
  if (shape.length === 0) {
    throw new DatasetError(
      path,
      `${path} has 1 dimension (${dimensions[0]} values), the layout of a labels file; ` +
        `expected images of at least 2 dimensions [count, ...]: pass the images file as the ` +
        `dataset and this file as its labels`,
    );
  }
  if (shape.length === 1) return imageShapeOfSize(shape[0]);
  if (shape.length === 2) return [shape[0], shape[1], 1];
  if (shape.length === 3) return [shape[0], shape[1], shape[2]];
  return [shape[0], shape.slice(1).reduce((product, size) => product * size, 1), 1];
}

interface IdxPair {
  images: IdxArray;
  shape: [number, number, number];
  labels: Int32Array;
}

/**
 * An images file and its labels file, checked to hold one label per image.
 * The images come first, so a labels file passed as the images is named as
 * one before any labels file is looked for.
 */
async function readPair(
  imagesPath: string,
  labelsPath: string | undefined,
  flag: string,
): Promise<IdxPair> {
  const images = await readIdxArray(imagesPath);
  const shape = idxImageShape(images.dimensions, imagesPath);
  const [count] = images.dimensions;
  if (count === 0 || shape[0] * shape[1] * shape[2] === 0) {
    throw new DatasetError(
      imagesPath,
      `${imagesPath} declares ${images.dimensions.join('x')} values, so it holds no pixels; ` +
        `expected at least one image of at least one value`,
    );
  }

  if (labelsPath !== undefined && !statSync(labelsPath, { throwIfNoEntry: false })?.isFile()) {
    throw new OptionError(
      flag.slice(2),
      `${flag} ${labelsPath} is not a file; expected the IDX labels file of ${imagesPath}, ` +
        `one label per image`,
    );
  }
  const labelsFile = labelsPath ?? findLabelsFile(imagesPath, flag);
  const labels = await readLabels(labelsFile);
  if (labels.length !== count) {
    throw new DatasetError(
      labelsFile,
      `${labelsFile} has ${labels.length} labels but ${imagesPath} has ${count} images; ` +
        `expected one label per image: pass the labels file of these images with ${flag}`,
    );
  }
  return { images, shape, labels };
}

function toSet(
  path: string,
  pair: IdxPair,
  scale: PixelScale,
  role: 'training' | 'test',
  notice: (message: string) => void,
): Omit<LabelledImages, 'classNames'> {
  const [height, width, channels] = pair.shape;
  const pixels = toPixels(pair.images, path, scale, role, notice);
  const count = pair.images.dimensions[0];
  const set = { pixels, labels: pair.labels, count, height, width, channels, source: path };
  if (scale.kind !== 'range') return set;
  return { ...set, valueRange: { minimum: scale.minimum, maximum: scale.maximum } };
}

/** Reads an IDX labels file: [count] or [count, 1] whole numbers from 0, of any type. */
async function readLabels(path: string): Promise<Int32Array> {
  const { dimensions, values, typeName } = await readIdxArray(path);
  if (dimensions.length > 2 || (dimensions.length === 2 && dimensions[1] !== 1)) {
    throw new DatasetError(
      path,
      `${path} has dimensions ${dimensions.join('x')}; expected a labels file of one label ` +
        `per image, [count] or [count, 1]: pass the labels file, not an images file`,
    );
  }
  const bad = values.findIndex(
    (label) => !Number.isInteger(label) || label < 0 || label >= kMostNumberedClasses,
  );
  if (bad >= 0) {
    throw new DatasetError(
      path,
      `${path} has label ${values[bad]} at index ${bad} (${typeName}); expected class numbers, ` +
        `whole numbers from 0 to ${kMostNumberedClasses - 1}: fix that label`,
    );
  }
  return Int32Array.from(values);
}

/**
 * The labels file beside an images file, by the names of the MNIST files:
 * `images` becomes `labels` and `idx<N>` becomes `idx1`, tried as it is and
 * with `.gz` added or removed.
 */
export function labelsFileCandidates(imagesPath: string): string[] {
  const name = basename(imagesPath);
  const swapped = name
    .replace(/images/gi, (word) => caseOf(word, 'labels'))
    .replace(/idx\d+/gi, (word) => `${word.slice(0, 3)}1`);
  // nothing to swap: the names left are the images file itself, raw or gzipped
  if (swapped === name) return [];
  const bare = swapped.replace(/\.gz$/i, '');
  return [...new Set([swapped, bare, `${bare}.gz`])].map((candidate) =>
    join(dirname(imagesPath), candidate),
  );
}

/** `word` spelled in the case of `model`: all capitals, a capital first, or lower case. */
function caseOf(model: string, word: string): string {
  if (model === model.toUpperCase()) return word.toUpperCase();
  return model[0] === model[0].toUpperCase() ? word[0].toUpperCase() + word.slice(1) : word;
}

function findLabelsFile(imagesPath: string, flag: string): string {
  const candidates = labelsFileCandidates(imagesPath);
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found !== undefined) return found;
  const looked =
    candidates.length === 0
      ? `its name has no 'images' or 'idx<N>' to turn into 'labels' or 'idx1'`
      : `looked for ${candidates.join(', ')}`;
  throw new DatasetError(
    imagesPath,
    `no labels file was found for the IDX images ${imagesPath}: ${looked}; pass the labels ` +
      `file with ${flag}`,
  );
}

/** The test set must be an IDX images file too, as the training set is. */
async function checkIdxTest(dataset: string, test: string): Promise<void> {
  const kind = await sourceKind(test, '--test');
  if (kind === 'idx') return;
  if (!existsSync(test)) {
    throw new DatasetError(
      test,
      `--test ${test} does not exist; expected an IDX images file, as --dataset ${dataset} is`,
    );
  }
  throw new OptionError(
    'test',
    `--test ${test} is not an IDX images file (it reads as ${kind}), but the dataset ` +
      `${dataset} is one; expected an IDX test set of the same image shape`,
  );
}

function classNames(sets: { labels: Int32Array }[]): string[] {
  const largest = Math.max(0, ...sets.map(({ labels }) => labels.reduce(maximumOf, 0)));
  return Array.from({ length: largest + 1 }, (_, index) => String(index));
}

function maximumOf(most: number, value: number): number {
  return Math.max(most, value);
}
