// Loads an image dataset: a folder with one subfolder of images per class, or
// a manifest CSV of image paths and labels, with a test set of either kind.
// Both are listed first, so a mismatch is reported before anything is decoded.
import { stat } from 'node:fs/promises';

import { DatasetError, OptionError } from '../../shared/errors.js';
import type { DatasetSplits } from '../../shared/images.js';
import { listFolder, skippedNotice } from './folder-listing.js';
import type { FolderRole } from './folder-listing.js';
import { loadImageSplits } from './image-loading.js';
import type { ImageListing, ImageLoadOptions } from './image-loading.js';
import { listManifest } from './manifest.js';
import { sourceKind } from './source-kind.js';

export type FolderOptions = ImageLoadOptions;

/**
 * Loads `trainSource`, a folder or (when `trainIsManifest`) a manifest, and
 * `testSource` when given, which must have the same classes.
 */
export async function loadFolderDataset(
  trainSource: string,
  testSource: string | undefined,
  options: FolderOptions,
  trainIsManifest = false,
): Promise<DatasetSplits> {
  const trainListing = await listSource(trainSource, trainIsManifest, { kind: 'dataset' }, options);
  let testListing: ImageListing | undefined;
  if (testSource !== undefined) {
    const role = { kind: 'test', given: testSource, trainFolder: trainListing.folder } as const;
    testListing = await listSource(testSource, await isManifest(testSource), role, options);
    checkSameClasses(trainListing, testListing);
  }
  return loadImageSplits(trainListing, testListing, options);
}

/** Lists a folder (saying what it skipped) or a manifest. */
async function listSource(
  source: string,
  manifest: boolean,
  role: FolderRole,
  options: FolderOptions,
): Promise<ImageListing> {
  if (manifest) return listManifest(source, role.kind === 'test' ? '--test' : '--dataset');
  const listing = await listFolder(source, role);
  const message = skippedNotice(listing);
  if (message !== undefined) options.onProgress?.({ kind: 'notice', message });
  return listing;
}

/** A test set is a manifest when it is a .csv file whose rows name image files. */
async function isManifest(test: string): Promise<boolean> {
  if (!test.toLowerCase().endsWith('.csv')) return false;
  const isFile = await stat(test).then(
    (stats) => stats.isFile(),
    () => false,
  );
  if (!isFile) return false;
  if ((await sourceKind(test, '--test')) === 'manifest') return true;
  throw new OptionError(
    'test',
    `--test ${test} is a CSV of pixel values, but the dataset is made of image files; ` +
      `expected a folder of class subfolders or a manifest .csv of image paths and labels`,
  );
}

function checkSameClasses(train: ImageListing, test: ImageListing): void {
  const onlyTrain = train.classNames.filter((name) => !test.classNames.includes(name));
  const onlyTest = test.classNames.filter((name) => !train.classNames.includes(name));
  if (onlyTrain.length === 0 && onlyTest.length === 0) return;
  const differences = [
    onlyTest.length > 0 ? `only in the test set: ${onlyTest.join(', ')}` : '',
    onlyTrain.length > 0 ? `only in the training set: ${onlyTrain.join(', ')}` : '',
  ].filter((text) => text !== '');
  throw new DatasetError(
    test.folder,
    `test set ${test.folder} (--test) and training set ${train.folder} have different ` +
      `classes (${differences.join('; ')}); expected the same classes in both, as class ` +
      `subfolders or manifest labels`,
  );
}
