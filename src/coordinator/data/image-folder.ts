// Loads a dataset laid out as one subfolder of JPEG or PNG images per class.
// Images are decoded on worker threads (JPEGs with jpeg-js, the rest with sharp)
// and kept in the decoded cache, so only a folder's first load pays for decoding.
import fastGlob from 'fast-glob';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DatasetError } from '../../shared/errors.js';
import type { DatasetSplits, LabelledImages } from '../../shared/images.js';
import { compareCodePoints } from './common.js';
import { imageCacheFile, readImageCache, writeImageCache } from './image-cache.js';
import type { CachedImages } from './image-cache.js';
import { ImageDecoder, kChannelRule } from './image-decoder.js';
import type { LoadProgress } from './progress.js';

/** Mixed-size errors list at most this many files. */
const kListedFiles = 5;

const kImagePattern = '*/*.{jpg,jpeg,png}';

export interface FolderOptions {
  cacheDir: string;
  onProgress?: (event: LoadProgress) => void;
}

/** The images of a folder in label order, with a digest of their paths, sizes and mtimes. */
interface FolderListing {
  folder: string;
  classNames: string[];
  files: string[];
  labels: Int32Array;
  digest: Buffer;
}

/** Loads `trainFolder`, and `testFolder` when given, which must have the same classes. */
export async function loadFolderDataset(
  trainFolder: string,
  testFolder: string | undefined,
  options: FolderOptions,
): Promise<DatasetSplits> {
  // list both before decoding anything, so a mismatch is reported at once
  const trainListing = await listFolder(trainFolder);
  const testListing = testFolder === undefined ? undefined : await listFolder(testFolder);
  if (testListing !== undefined) checkSameClasses(trainListing, testListing);

  // the decoding threads, started only if a folder misses the cache
  const decoder = new ImageDecoder();
  let train: LabelledImages;
  let test: LabelledImages | undefined;
  try {
    train = await loadListing(trainListing, decoder, options);
    if (testListing !== undefined) test = await loadListing(testListing, decoder, options);
  } finally {
    await decoder.close();
  }
  if (test === undefined) return { train };
  const trainShape = `${train.width}x${train.height}x${train.channels}`;
  const testShape = `${test.width}x${test.height}x${test.channels}`;
  if (trainShape !== testShape) {
    throw new DatasetError(
      test.source,
      `test images in ${test.source} are ${testShape} (width x height x channels) but ` +
        `training images in ${train.source} are ${trainShape}; expected one size for both, ` +
        `so resize one of the folders`,
    );
  }
  return { train, test };
}

async function listFolder(folder: string): Promise<FolderListing> {
  const root = resolve(folder);
  const isFolder = await stat(root).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
  if (!isFolder) {
    throw new DatasetError(
      root,
      `dataset folder ${root} does not exist or is not a folder; expected fashion-mnist, ` +
        `mnist, or a folder with one subfolder of .jpg/.png images per class`,
    );
  }

  // classes are the subfolders, in code-point order; files likewise within each
  const classNames = (await fastGlob('*', { cwd: root, onlyDirectories: true })).sort(
    compareCodePoints,
  );
  if (classNames.length === 0) {
    throw new DatasetError(
      root,
      `dataset folder ${root} has no class subfolders; expected ${root}/<class>/<image>.jpg ` +
        `or .png, one subfolder per class`,
    );
  }
  const paths = await fastGlob(kImagePattern, {
    cwd: root,
    onlyFiles: true,
    caseSensitiveMatch: false,
  });
  const byClass = new Map(classNames.map((name) => [name, [] as string[]]));
  for (const path of paths) byClass.get(path.slice(0, path.indexOf('/')))?.push(path);
  const empty = classNames.filter((name) => byClass.get(name)?.length === 0);
  if (empty.length > 0) {
    throw new DatasetError(
      root,
      `class folder(s) ${empty.join(', ')} in ${root} have no images; expected .jpg, .jpeg ` +
        `or .png files directly inside each class folder (a folder of train/ and test/ ` +
        `splits is passed as the dataset train/ with --test test/)`,
    );
  }

  // label order, and the digest that decides whether the cache still fits (synchronous
  // stat calls: several times faster than thread-pool ones for tens of thousands of files)
  const files: string[] = [];
  const labels: number[] = [];
  const hash = createHash('sha256').update(`${root}\n`);
  classNames.forEach((name, label) => {
    for (const path of (byClass.get(name) ?? []).sort(compareCodePoints)) {
      const file = `${root}/${path}`;
      const { size, mtimeMs } = statSync(file);
      files.push(file);
      labels.push(label);
      hash.update(`${path}\t${size}\t${mtimeMs}\n`);
    }
  });
  const digest = hash.digest();
  return { folder: root, classNames, files, labels: Int32Array.from(labels), digest };
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
    `test folder ${test.folder} and training folder ${train.folder} have different classes ` +
      `(${differences.join('; ')}); expected the same class subfolders in both`,
  );
}

/** Reads a listing from the cache when it fits, else decodes it and refreshes the cache. */
async function loadListing(
  listing: FolderListing,
  decoder: ImageDecoder,
  options: FolderOptions,
): Promise<LabelledImages> {
  const cacheFile = imageCacheFile(options.cacheDir, listing.folder);
  let images = await readImageCache(cacheFile, listing.digest);
  if (images !== undefined) {
    options.onProgress?.({
      kind: 'cached',
      folder: listing.folder,
      cacheFile,
      count: images.count,
    });
  } else {
    images = await decodeListing(listing, decoder, options.onProgress);
    await writeImageCache(cacheFile, listing.digest, listing.folder, images);
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
  const odd = files.flatMap((file, index) => (shapes[index] === majority ? [] : [index]));
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
