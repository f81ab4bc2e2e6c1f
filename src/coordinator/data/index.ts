// The dataset layer's entry point: turns a dataset name or folder into training
// and test images, from local files, the decoded cache or a download.
import { existsSync } from 'node:fs';

import { DatasetError, OptionError } from '../../shared/errors.js';
import type { DatasetSplits, LabelledImages } from '../../shared/images.js';
import { isCifarName, loadCifar10, loadCifarPath } from './cifar10.js';
import { defaultCacheDir } from './common.js';
import { readCsvImages } from './csv.js';
import type { CsvReadOptions } from './csv.js';
import { loadIdxDataset, rejectLabelFiles } from './idx-dataset.js';
import { loadFolderDataset } from './image-folder.js';
import { isDatasetName, loadNamedDataset } from './named.js';
import type { LoadProgress } from './progress.js';
import { checkReadOptions, shown } from './read-options.js';
import type { ReadOptions } from './read-options.js';
import { kDatasetKinds, sourceKind } from './source-kind.js';
import type { SourceKind } from './source-kind.js';

export { createProgressPrinter } from './progress.js';
export type { LoadProgress, ProgressStream } from './progress.js';
export type { ImageSize, ReadOptions } from './read-options.js';

export interface LoadOptions extends ReadOptions {
  /**
   * `'fashion-mnist'`, `'mnist'`, `'cifar10'`; a folder with one subfolder of
   * PNG, JPEG, GIF or BMP images per class; a manifest `.csv` of image paths
   * and labels (see manifest.ts); a `.csv` file of one image per row (a label
   * column and one column per pixel; see csv.ts); an IDX images file (see
   * idx-dataset.ts); or the CIFAR-10 binary batches as a folder or as the
   * official `.tar.gz` archive.
   */
  dataset: string;
  /**
   * A folder of class subfolders, a manifest, a pixel `.csv` file or an IDX
   * images file, of the
   * dataset's kind, used as the test set. Default: none.
   */
  test?: string;
  /**
   * A folder searched first for named datasets, holding their files directly or
   * in a `<name>/` subfolder; when given (here or in `$SYNCGRAD_DATA_DIR`) it
   * must exist, else loading a named dataset is an OptionError. Default: none;
   * `$SYNCGRAD_DATA_DIR` is searched next.
   */
  dataDir?: string;
  /**
   * Where downloads and decoded images are kept. A folder dataset loads without
   * its decoded cache when this cannot be used (with a notice); a named dataset
   * that needs downloading fails with a DatasetError. Default:
   * `$SYNCGRAD_CACHE_DIR`, else `$XDG_CACHE_HOME/syncgrad`, else `~/.cache/syncgrad`.
   */
  cacheDir?: string;
  /** Download a named dataset into the cache when no folder has it. Default: true. */
  download?: boolean;
  /** Where named datasets are downloaded from. Default: each dataset's official location. */
  baseUrl?: string;
  /**
   * Receives download and decode progress, and notices about skipped files or an
   * unusable cache; nothing is printed without it. Default: none.
   */
  onProgress?: (event: LoadProgress) => void;
}

/**
 * Loads a named dataset (with its own test set), or a folder, CSV file or IDX
 * images file (with `test` as test set, when given). Pixels are raw 8-bit
 * values, or floats already scaled (IDX files of other numbers); failures a
 * user can fix throw DatasetError or OptionError.
 */
export async function loadDataset(options: LoadOptions): Promise<DatasetSplits> {
  checkLoadOptions(options);
  const { test, onProgress } = options;
  const dataset = knownName(options.dataset);
  const cacheDir = options.cacheDir ?? defaultCacheDir();

  if (isDatasetName(dataset) || isCifarName(dataset)) {
    refuseTestSet(dataset, test);
    rejectLabelFiles(dataset, options);
    refuseOptions(dataset, 'named', options);
    const download = options.download ?? true;
    if (isCifarName(dataset)) return loadCifar10({ ...options, cacheDir, download });
    return loadNamedDataset(dataset, { ...options, cacheDir, download });
  }
  const kind = await sourceKind(dataset, '--dataset');
  refuseOptions(dataset, kind, options);
  if (test !== undefined) await checkTestKind(dataset, kind, test);
  if (kind === 'idx') return loadIdxDataset(dataset, test, options);
  rejectLabelFiles(dataset, options);
  if (kind === 'csv') return loadCsvDataset(dataset, test, options);
  if (kind === 'cifar-binary') {
    refuseTestSet(dataset, test);
    return loadCifarPath(dataset, { cacheDir, onProgress });
  }
  const { channels, imageSize, skipBad } = options;
  const imageOptions = { cacheDir, onProgress, channels, imageSize, skipBad };
  return loadFolderDataset(dataset, test, imageOptions, kind === 'manifest');
}

/** The options' own types and the dataset and test paths, before anything is read. */
function checkLoadOptions(options: LoadOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new OptionError(
      'dataset',
      `loadDataset needs an options object such as { dataset: 'fashion-mnist' }, got ` +
        `${shown(options)}`,
    );
  }
  for (const [flag, value] of [
    ['dataset', options.dataset],
    ['test', options.test],
  ] as const) {
    if (flag === 'test' && value === undefined) continue;
    if (typeof value !== 'string' || value.trim() === '') {
      throw new OptionError(
        flag,
        `--${flag} is ${value === '' ? 'empty' : shown(value)}; expected ${kDatasetKinds}`,
      );
    }
  }
  checkReadOptions(options);
}

/** A dataset name in any case (`MNIST`, `CIFAR10`) when no file or folder has that name. */
function knownName(dataset: string): string {
  const lower = dataset.toLowerCase();
  if (lower === dataset || existsSync(dataset)) return dataset;
  return isDatasetName(lower) || isCifarName(lower) ? lower : dataset;
}

/** Which reading options apply to which kind of source; any other is refused, not ignored. */
const kOptionKinds: [keyof ReadOptions, string, SourceKind[]][] = [
  ['labelColumn', 'label-column', ['csv']],
  ['channels', 'channels', ['folder', 'manifest']],
  ['imageSize', 'image-size', ['folder', 'manifest']],
  ['skipBad', 'skip-bad', ['folder', 'manifest']],
];

function refuseOptions(dataset: string, kind: SourceKind | 'named', options: ReadOptions): void {
  for (const [name, flag, kinds] of kOptionKinds) {
    const value = options[name];
    if (value === undefined || value === false || kinds.includes(kind as SourceKind)) continue;
    const applies = kinds[0] === 'csv' ? 'a .csv file of pixels' : 'image folders and manifests';
    throw new OptionError(
      flag,
      `--${flag} applies to ${applies} only, but --dataset ${dataset} is ` +
        `${kKindNames[kind]}; drop --${flag}`,
    );
  }
}

const kKindNames: Record<SourceKind | 'named', string> = {
  named: 'a named dataset',
  csv: 'a .csv file of pixels',
  manifest: 'a manifest of image paths',
  idx: 'an IDX file',
  'cifar-binary': 'CIFAR-10 binary batches',
  folder: 'a folder of images',
};

/** A test set of another kind than the training set is refused before either is read. */
async function checkTestKind(dataset: string, kind: SourceKind, test: string): Promise<void> {
  if (!existsSync(test) || kind === 'cifar-binary') return;
  const testKind = await sourceKind(test, '--test');
  const family = (each: SourceKind) => (each === 'manifest' ? 'folder' : each);
  if (family(testKind) === family(kind)) return;
  throw new OptionError(
    'test',
    `--test ${test} is ${kKindNames[testKind]}, but --dataset ${dataset} is ` +
      `${kKindNames[kind]}; expected a test set of the training set's kind`,
  );
}

/** A dataset that brings its own test set takes no --test. */
function refuseTestSet(dataset: string, test: string | undefined): void {
  if (test === undefined) return;
  throw new OptionError(
    'test',
    `a test set (--test ${test}) was given for ${dataset}, which brings its own ` +
      `test set; expected --test only with a dataset that has none, so drop it`,
  );
}

function isCsvPath(path: string): boolean {
  return path.toLowerCase().endsWith('.csv');
}

/** A CSV training set, and a CSV test set when given; both share the larger set of classes. */
async function loadCsvDataset(
  dataset: string,
  test: string | undefined,
  options: CsvReadOptions,
): Promise<DatasetSplits> {
  if (test !== undefined && !isCsvPath(test)) {
    throw new OptionError(
      'test',
      `--test ${test} is not a .csv file, but the dataset ${dataset} is one; expected a CSV ` +
        `test set of the same layout`,
    );
  }
  const [train, testImages] = await Promise.all([
    readCsvImages(dataset, options),
    test === undefined ? undefined : readCsvImages(test, options),
  ]);
  if (!testImages) return { train };
  const size = (images: LabelledImages) => images.height * images.width * images.channels;
  if (size(testImages) !== size(train)) {
    throw new DatasetError(
      test!,
      `${test} has ${size(testImages)} pixels per row but ${dataset} has ${size(train)}; ` +
        `expected a test set of images of the training set's size`,
    );
  }
  const classNames =
    testImages.classNames.length > train.classNames.length
      ? testImages.classNames
      : train.classNames;
  return { train: { ...train, classNames }, test: { ...testImages, classNames } };
}
