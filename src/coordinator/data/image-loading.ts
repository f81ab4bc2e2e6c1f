// Turns listings of image files, from a class-folder tree or a manifest, into
// labelled images: served from the decoded cache when it fits the listing and
// the reading options, else decoded on threads, with the files that cannot be
// decoded left out (when asked) and every image checked to have one size.
import { createHash } from 'node:crypto';

import { DatasetError } from '../../shared/errors.js';
import type { DatasetSplits, LabelledImages } from '../../shared/images.js';
import { describe } from './common.js';
import { imageCacheFile, readImageCache, writeImageCache } from './image-cache.js';
import type { CachedImages } from './image-cache.js';
import { ImageDecoder, kChannelRule } from './image-decoder.js';
import type { BadImage, DecodeOptions } from './image-decoder.js';
import type { LoadProgress } from './progress.js';

/** Mixed-size errors list at most this many files. */
const kListedFiles = 5;
/** Notices and errors about undecodable images name at most this many. */
const kNamedBadImages = 3;

/** Image files in label order, with a digest of what they are on disk. */
export interface ImageListing {
  /** The folder, or the manifest file, that lists the images; their source in messages. */
  folder: string;
  classNames: string[];
  /** Absolute paths. */
  files: string[];
  labels: Int32Array;
  /** Changes whenever a listed file or the listing itself does. */
  digest: Buffer;
}

export interface ImageLoadOptions extends DecodeOptions {
  cacheDir: string;
  onProgress?: (event: LoadProgress) => void;
}

/** Loads a training listing and, when given, a test listing of the same classes. */
export async function loadImageSplits(
  trainListing: ImageListing,
  testListing: ImageListing | undefined,
  options: ImageLoadOptions,
): Promise<DatasetSplits> {
  // the decoding threads, started only if a listing misses the cache
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
        `so resize one of them, or pass --image-size WxH to resize both as they load`,
    );
  }
  return { train, test };
}

/**
 * The decoded cache only saves time, so a cache folder that cannot be read or
 * written never stops a load: the images are decoded anyway, and the first
 * such problem of a load is reported once, as a notice.
 */
class CacheUse {
  private reported = false;

  constructor(private readonly options: ImageLoadOptions) {}

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

/**
 * What a cache file must match: the listing, and every option that changes the
 * pixels stored, so that a load with other options never gets stale ones.
 */
function cacheKey(listing: ImageListing, options: DecodeOptions): Buffer {
  const { channels, imageSize, skipBad } = options;
  const decoding = JSON.stringify({
    channels: channels ?? null,
    imageSize: imageSize ? [imageSize.width, imageSize.height] : null,
    skipBad: skipBad === true,
  });
  return createHash('sha256').update(listing.digest).update(decoding).digest();
}

/** Reads a listing from the cache when it fits, else decodes it and refreshes the cache. */
async function loadListing(
  listing: ImageListing,
  decoder: ImageDecoder,
  cache: CacheUse,
  options: ImageLoadOptions,
): Promise<LabelledImages> {
  const cacheFile = imageCacheFile(options.cacheDir, listing.folder);
  const key = cacheKey(listing, options);
  let images: CachedImages | undefined;
  let readFailure: unknown;
  try {
    images = await readImageCache(cacheFile, key);
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
    images = await decodeListing(listing, decoder, options);
    // a failed write names the folder at fault; a failed read only says so when the write works
    try {
      await writeImageCache(cacheFile, key, listing.folder, images);
      if (readFailure !== undefined) cache.failed(readFailure);
    } catch (error) {
      cache.failed(error);
    }
  }

  // images left out are said so on every load, from the cache too
  const { bad = [], ...decoded } = images;
  if (bad.length > 0) {
    options.onProgress?.({ kind: 'notice', message: badImagesNotice(listing.folder, bad) });
  }
  return { ...decoded, source: listing.folder };
}

async function decodeListing(
  listing: ImageListing,
  decoder: ImageDecoder,
  options: ImageLoadOptions,
): Promise<CachedImages> {
  const { folder, classNames } = listing;
  const decoded = await decoder.decode(folder, listing.files, options, options.onProgress);
  const files = decoded.kept.map((index) => listing.files[index]);
  const labels = Int32Array.from(decoded.kept, (index) => listing.labels[index]);
  checkEveryClassKept(listing, labels, decoded.bad);
  checkOneSize(folder, files, decoded.shapes);
  const { width, height, channels, pixels, bad } = decoded;
  return { count: files.length, height, width, channels, classNames, labels, pixels, bad };
}

/** One line naming a few of the images left out, and how many there were. */
function badImagesNotice(folder: string, bad: BadImage[]): string {
  const named = bad.slice(0, kNamedBadImages).map(({ file, reason }) => `${file} (${reason})`);
  const more = bad.length > kNamedBadImages ? ` and ${bad.length - kNamedBadImages} more` : '';
  const count = bad.length === 1 ? '1 image' : `${bad.length.toLocaleString('en-US')} images`;
  const list = `${named.join(', ')}${more}`;
  return `left out ${count} of ${folder} that cannot be decoded (--skip-bad): ${list}`;
}

/** Fails when every image of some class was left out, naming those classes. */
function checkEveryClassKept(listing: ImageListing, labels: Int32Array, bad: BadImage[]): void {
  if (bad.length === 0) return;
  const kept = new Set(labels);
  const listed = new Set(listing.labels);
  const lost = listing.classNames.filter((_, label) => listed.has(label) && !kept.has(label));
  if (lost.length === 0) return;
  const named = bad.slice(0, kNamedBadImages).map(({ file, reason }) => `${file} (${reason})`);
  throw new DatasetError(
    listing.folder,
    `no image of class ${lost.join(', ')} in ${listing.folder} can be decoded, so that class ` +
      `would have no examples; ${bad.length} image(s) were left out (--skip-bad), among ` +
      `them ${named.join(', ')}; replace them with readable images, or remove the class`,
  );
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
      `resize or remove the odd ones, or pass --image-size WxH to resize every image as it loads`,
  );
}
