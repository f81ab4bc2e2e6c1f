// Loads a dataset laid out as one subfolder of JPEG or PNG images per class.
// Images are decoded on worker threads (JPEGs with jpeg-js, the rest with sharp)
// and kept in the decoded cache, so only a folder's first load pays for decoding.
import { DatasetError } from '../../shared/errors.js';
import type { DatasetSplits, LabelledImages } from '../../shared/images.js';
import { describe } from './common.js';
import { listFolder, skippedNotice } from './folder-listing.js';
import type { FolderListing } from './folder-listing.js';
import { imageCacheFile, readImageCache, writeImageCache } from './image-cache.js';
import type { CachedImages } from './image-cache.js';
import { ImageDecoder, kChannelRule } from './image-decoder.js';
import type { LoadProgress } from './progress.js';

/** Mixed-size errors list at most this many files. */
const kListedFiles = 5;

export interface FolderOptions {
  cacheDir: string;
  onProgress?: (event: LoadProgress) => void;
}

/** Loads `trainFolder`, and `testFolder` when given, which must have the same classes. */
export async function loadFolderDataset(
  trainFolder: string,
  testFolder: string | undefined,
  options: FolderOptions,
): Promise<DatasetSplits> {
  // list both before decoding anything, so a mismatch is reported at once
  const trainListing = await listFolder(trainFolder, { kind: 'dataset' });
  const testListing =
    testFolder === undefined
      ? undefined
      : await listFolder(testFolder, {
          kind: 'test',
          given: testFolder,
          trainFolder: trainListing.folder,
        });
  if (testListing !== undefined) checkSameClasses(trainListing, testListing);

  // anything that is not an image is skipped, and said so
  for (const listing of testListing ? [trainListing, testListing] : [trainListing]) {
    const message = skippedNotice(listing);
    if (message !== undefined) options.onProgress?.({ kind: 'notice', message });
  }

  // the decoding threads, started only if a folder misses the cache
  const decoder = new ImageDecoder();
  const cache = new CacheUse(options);
  let train: LabelledImages;
  let test: LabelledImages | undefined;
  try {
    train = await loadListing(trainListing, decoder, cache, options);
    if (testListing !== undefined) test = await loadListing(testListing, decoder, cache, options);
  } finally {
    await decoder.close();
  }
  if (test === undefined) return { train };
  const trainShape = `${train.width}x${train.height}x${train.channels}`;
  const testShape = `${test.width}x${test.height}x${test.channels}`;
  if (trainShape !== testShape) {
    throw new DatasetError(
      test.source,
      `test images in ${test.source} (--test) are ${testShape} (width x height x channels) but ` +
        `training images in ${train.source} are ${trainShape}; expected one size for both, ` +
        `so resize one of the folders`,
    );
  }
  return { train, test };
}

function checkSameClasses(train: FolderListing, test: FolderListing): void {
  const onlyTrain = train.classNames.filter((name) => !test.classNames.includes(name));
  const onlyTest = test.classNames.filter((name) => !train.classNames.includes(name));
  if (onlyTrain.length === 0 && onlyTest.length === 0) return;
  const differences = [
    onlyTest.length > 0 ? `only in the test folder: ${onlyTest.join(', ')}` : '',
    onlyTrain.length > 0 ? `only in the training folder: ${onlyTrain.join(', ')}` : '',
  ].filter((text) => text !== '');
  throw new DatasetError(
    test.folder,
    `test folder ${test.folder} (--test) and training folder ${train.folder} have ` +
      `different classes (${differences.join('; ')}); expected the same class subfolders ` +
      `in both`,
  );
}

/**
 * The decoded cache only saves time, so a cache folder that cannot be read or
 * written never stops a load: the images are decoded anyway, and the first
 * such problem of a load is reported once, as a notice.
 */
class CacheUse {
  private reported = false;

  constructor(private readonly options: FolderOptions) {}

  failed(error: unknown): void {
    if (this.reported) return;
    this.reported = true;
    this.options.onProgress?.({
      kind: 'notice',
      message:
        `the decoded-image cache in ${this.options.cacheDir} cannot be used: ` +
        `${describe(error)}; images are decoded without it, again on every run, so pass a ` +
        `writable folder with --cache-dir (or set SYNCGRAD_CACHE_DIR) to keep them`,
    });
  }
}

/** Reads a listing from the cache when it fits, else decodes it and refreshes the cache. */
async function loadListing(
  listing: FolderListing,
  decoder: ImageDecoder,
  cache: CacheUse,
  options: FolderOptions,
): Promise<LabelledImages> {
  const cacheFile = imageCacheFile(options.cacheDir, listing.folder);
  let images: CachedImages | undefined;
  let readFailure: unknown;
  try {
    images = await readImageCache(cacheFile, listing.digest);
  } catch (error) {
    readFailure = error;
  }
  if (images !== undefined) {
    options.onProgress?.({
      kind: 'cached',
      folder: listing.folder,
      cacheFile,
      count: images.count,
    });
  } else {
    images = await decodeListing(listing, decoder, options.onProgress);
    // a failed write names the folder at fault; a failed read only says so when the write works
    try {
      await writeImageCache(cacheFile, listing.digest, listing.folder, images);
      if (readFailure !== undefined) cache.failed(readFailure);
    } catch (error) {
      cache.failed(error);
    }
  }
  return { ...images, source: listing.folder };
}

async function decodeListing(
  listing: FolderListing,
  decoder: ImageDecoder,
  onProgress?: (event: LoadProgress) => void,
): Promise<CachedImages> {
  const { files, folder, classNames, labels } = listing;
  const decoded = await decoder.decode(folder, files, onProgress);
  checkOneSize(folder, files, decoded.shapes);
  const { width, height, channels, pixels } = decoded;
  return { count: files.length, height, width, channels, classNames, labels, pixels };
}

/** Fails, listing a few odd ones out, unless every image has the most common size. */
function checkOneSize(folder: string, files: string[], shapes: string[]): void {
  const counts = new Map<string, number>();
  for (const shape of shapes) counts.set(shape, (counts.get(shape) ?? 0) + 1);
  if (counts.size <= 1) return;

  const [majority, majorityCount] = [...counts].reduce((best, each) =>
    each[1] > best[1] ? each : best,
  );
  const odd = shapes.flatMap((shape, index) => (shape === majority ? [] : [index]));
  const listed = odd.slice(0, kListedFiles).map((index) => `  - ${files[index]}: ${shapes[index]}`);
  const more = odd.length > kListedFiles ? `\n  ... and ${odd.length - kListedFiles} more` : '';
  throw new DatasetError(
    folder,
    `images in ${folder} differ in size: ${majorityCount} of ${files.length} are ${majority} ` +
      `(width x height x channels), the other ${odd.length}:\n${listed.join('\n')}${more}\n` +
      `expected every image to have the same size and channels (${kChannelRule}); ` +
      `resize or remove the odd ones`,
  );
}
