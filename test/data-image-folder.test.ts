// Image-folder datasets: class order and labels, exact pixels, the decoded
// cache (hit, invalidation, damage), the notice for skipped files and the
// errors for unusable training and test folders.
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';

import { imageCacheFile } from '../src/coordinator/data/image-cache.js';
import { datasetErrorOf, loadFolder, temporaryFolder, writeClassFolders } from './data-fixtures.js';

const kWidth = 4;
const kHeight = 3;

/** Raw RGB pixels of image `seed`, distinct for every image and position. */
function rgbPixels(seed: number, width = kWidth, height = kHeight): Buffer {
  return Buffer.from(
    Array.from({ length: width * height * 3 }, (_, index) => (seed * 31 + index * 11) % 256),
  );
}

async function writeImage(file: string, pixels: Buffer, width = kWidth, height = kHeight) {
  const image = sharp(pixels, { raw: { width, height, channels: 3 } });
  const encoded = /\.png$/i.test(file) ? image.png() : image.jpeg({ quality: 90 });
  await writeFile(file, await encoded.toBuffer());
}

/**
 * Three classes whose code-point order differs from a case-blind one:
 * Zebra < ant < cat. PNGs and JPEGs (one with an upper-case extension) mixed,
 * plus files that are not images and must be ignored.
 */
async function writeTree(root: string) {
  const layout: Record<string, string[]> = {
    cat: ['b.png', 'a.JPG'],
    Zebra: ['one.png'],
    ant: ['x.jpeg', 'y.png', 'z.png'],
  };
  let seed = 0;
  for (const [name, files] of Object.entries(layout)) {
    await mkdir(join(root, name), { recursive: true });
    for (const file of files) await writeImage(join(root, name, file), rgbPixels(seed++));
    await writeFile(join(root, name, 'notes.txt'), 'not an image');
  }
}

test('classes are sorted subfolders and labels follow them', async (t) => {
  const root = await temporaryFolder(t);
  await writeTree(root);

  const { splits, notices } = await loadFolder(root, await temporaryFolder(t));

  const { train } = splits;
  assert.deepEqual(train.classNames, ['Zebra', 'ant', 'cat']);
  assert.deepEqual(Array.from(train.labels), [0, 1, 1, 1, 2, 2]);
  assert.deepEqual([train.count, train.height, train.width, train.channels], [6, 3, 4, 3]);
  assert.equal(train.pixels.length, 6 * kHeight * kWidth * 3);
  assert.equal(train.source, root);
  assert.equal(splits.test, undefined);
  assert.deepEqual(notices, [
    `ignored 3 files that are not PNG, JPEG, GIF or BMP images in ${root}`,
  ]);
});

test('PNG pixels arrive exactly, row by row with interleaved channels', async (t) => {
  const root = await temporaryFolder(t);
  await writeTree(root);
  const imageBytes = kHeight * kWidth * 3;

  const { train } = (await loadFolder(root, await temporaryFolder(t))).splits;

  // Zebra/one.png was written third (seed 2); ant/y.png fifth (seed 4) and is image 2
  assert.deepEqual(Buffer.from(train.pixels.subarray(0, imageBytes)), rgbPixels(2));
  const second = train.pixels.subarray(2 * imageBytes, 3 * imageBytes);
  assert.deepEqual(Buffer.from(second), rgbPixels(4));
});

test('grayscale PNGs keep one channel', async (t) => {
  const root = await temporaryFolder(t);
  const gray = Buffer.from([0, 50, 100, 150, 200, 250]);
  const png = await sharp(gray, { raw: { width: 3, height: 2, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
  for (const name of ['dark', 'light']) {
    await mkdir(join(root, name));
    await writeFile(join(root, name, 'g.png'), png);
  }

  const { train } = (await loadFolder(root, await temporaryFolder(t))).splits;

  assert.equal(train.channels, 1);
  assert.deepEqual(Buffer.from(train.pixels), Buffer.concat([gray, gray]));
});

test('a second load reads the cache file without rewriting it', async (t) => {
  const root = await temporaryFolder(t);
  const cacheDir = await temporaryFolder(t);
  await writeTree(root);

  const first = await loadFolder(root, cacheDir);
  const cacheFile = imageCacheFile(cacheDir, root);
  const written = await stat(cacheFile);
  const second = await loadFolder(root, cacheDir);

  assert.deepEqual(first.kinds, ['notice', 'decode']);
  assert.deepEqual(second.kinds, ['notice', 'cached']);
  assert.equal((await stat(cacheFile)).mtimeMs, written.mtimeMs);
  assert.deepEqual(second.splits.train, first.splits.train);
});

test('changing an image invalidates the cache', async (t) => {
  const root = await temporaryFolder(t);
  const cacheDir = await temporaryFolder(t);
  await writeTree(root);
  await loadFolder(root, cacheDir);

  const changed = join(root, 'Zebra', 'one.png');
  await writeImage(changed, rgbPixels(99));
  const later = new Date(Date.now() + 5_000);
  await utimes(changed, later, later);
  const reloaded = await loadFolder(root, cacheDir);

  assert.deepEqual(reloaded.kinds, ['notice', 'decode']);
  const imageBytes = kHeight * kWidth * 3;
  const firstImage = reloaded.splits.train.pixels.subarray(0, imageBytes);
  assert.deepEqual(Buffer.from(firstImage), rgbPixels(99));
  assert.deepEqual((await loadFolder(root, cacheDir)).kinds, ['notice', 'cached']);
});

test('a damaged cache file is rebuilt, never trusted', async (t) => {
  const root = await temporaryFolder(t);
  const cacheDir = await temporaryFolder(t);
  await writeTree(root);
  const original = (await loadFolder(root, cacheDir)).splits.train;

  // flip one pixel byte near the end of the file
  const cacheFile = imageCacheFile(cacheDir, root);
  const bytes = await readFile(cacheFile);
  bytes[bytes.length - 3] ^= 0xff;
  await writeFile(cacheFile, bytes);
  const repaired = await loadFolder(root, cacheDir);

  assert.deepEqual(repaired.kinds, ['notice', 'decode']);
  assert.deepEqual(repaired.splits.train.pixels, original.pixels);
  assert.deepEqual((await loadFolder(root, cacheDir)).kinds, ['notice', 'cached']);

  // a cache cut short is rebuilt too
  await writeFile(cacheFile, (await readFile(cacheFile)).subarray(0, 50));
  assert.deepEqual((await loadFolder(root, cacheDir)).kinds, ['notice', 'decode']);
});

test('a test folder loads beside the training folder when its classes match', async (t) => {
  const root = await temporaryFolder(t);
  await writeTree(join(root, 'train'));
  await writeTree(join(root, 'test'));

  const { splits } = await loadFolder(
    join(root, 'train'),
    await temporaryFolder(t),
    join(root, 'test'),
  );

  assert.equal(splits.test?.count, 6);
  assert.deepEqual(splits.test?.classNames, splits.train.classNames);
  assert.equal(splits.test?.source, join(root, 'test'));
});

/** Asserts loading rejects with a DatasetError whose message matches every pattern. */
async function rejectsWith(promise: Promise<unknown>, ...patterns: RegExp[]) {
  const { message } = await datasetErrorOf(promise);
  for (const pattern of patterns) assert.match(message, pattern);
}

test('a test folder with other classes is refused, naming the differences', async (t) => {
  const root = await temporaryFolder(t);
  await writeTree(join(root, 'train'));
  await writeTree(join(root, 'test'));
  await mkdir(join(root, 'test', 'bee'));
  await writeImage(join(root, 'test', 'bee', 'b.png'), rgbPixels(7));

  await rejectsWith(
    loadFolder(join(root, 'train'), await temporaryFolder(t), join(root, 'test')),
    /have different classes \(only in the test set: bee\)/,
  );
});

test('unusable folders are refused with what was expected', async (t) => {
  const root = await temporaryFolder(t);
  const cacheDir = await temporaryFolder(t);

  await rejectsWith(
    loadFolder(join(root, 'absent'), cacheDir),
    /does not exist or is not a folder/,
  );
  await rejectsWith(loadFolder(root, cacheDir), /has no class subfolders; expected .*<class>/);

  await mkdir(join(root, 'full'));
  await writeImage(join(root, 'full', 'a.png'), rgbPixels(1));
  await mkdir(join(root, 'empty'));
  await writeFile(join(root, 'empty', 'readme.md'), 'no images here');
  await rejectsWith(loadFolder(root, cacheDir), /class folder\(s\) empty in .* have no images/);
});

test('an undecodable image is named', async (t) => {
  const root = await temporaryFolder(t);
  await writeTree(root);
  const broken = join(root, 'ant', 'broken.png');
  await writeFile(broken, 'this is not a PNG');

  const cacheDir = await temporaryFolder(t);
  await rejectsWith(loadFolder(root, cacheDir), new RegExp(`cannot decode image ${broken}`));
});

test('images of another size are listed with their sizes against the majority', async (t) => {
  const root = await temporaryFolder(t);
  await writeTree(root);
  const odd = join(root, 'cat', 'wide.png');
  await writeImage(odd, rgbPixels(5, 5, 3), 5, 3);

  await rejectsWith(
    loadFolder(root, await temporaryFolder(t)),
    /6 of 7 are 4x3x3 \(width x height x channels\), the other 1:/,
    new RegExp(`  - ${odd}: 5x3x3`),
  );
});

test('a folder with a single class subfolder is refused', async (t) => {
  const root = await temporaryFolder(t);
  await writeClassFolders(root, { cat: 2 });

  await rejectsWith(
    loadFolder(root, await temporaryFolder(t)),
    new RegExp(
      `^dataset folder ${root} has 1 class subfolder \\(cat\\); a classifier needs at least 2, `,
    ),
  );
});

test('everything that is not an image is skipped and counted in one notice', async (t) => {
  const root = await temporaryFolder(t);
  await writeClassFolders(root, { ant: 1, bee: 1 });
  await writeFile(join(root, 'ant', 'notes.txt'), 'not an image');
  await writeFile(join(root, 'ant', 'scan.tiff'), 'not read either');
  await writeFile(join(root, 'ant', '.DS_Store'), '');
  await mkdir(join(root, 'bee', 'more'));
  await writeImage(join(root, 'bee', 'more', 'deeper.png'), rgbPixels(3));
  await writeFile(join(root, 'README.md'), 'about this dataset');
  await mkdir(join(root, '.thumbnails'));

  const { splits, notices } = await loadFolder(root, await temporaryFolder(t));

  assert.equal(splits.train.count, 2);
  assert.deepEqual(splits.train.classNames, ['ant', 'bee']);
  assert.deepEqual(notices, [
    `ignored 2 files that are not PNG, JPEG, GIF or BMP images, 2 hidden files or folders, ` +
      `1 file outside the class subfolders and 1 folder inside a class folder in ${root}`,
  ]);
});

test('a folder holding only images loads without a notice', async (t) => {
  const root = await temporaryFolder(t);
  await writeClassFolders(root, { ant: 1, bee: 2 });

  const { kinds } = await loadFolder(root, await temporaryFolder(t));

  assert.deepEqual(kinds, ['decode']);
});
