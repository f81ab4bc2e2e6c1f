// IDX datasets given by path that cannot be read: damaged files, pairs that
// disagree, bad labels and options that do not fit, each with the error class
// and the file it names.
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { loadDataset } from '../src/coordinator/data/index.js';
import type { LoadOptions } from '../src/coordinator/data/index.js';
import { datasetErrorOf, optionErrorOf, temporaryFolder } from './data-fixtures.js';
import { idxFileBytes, writeIdxFile } from './helpers/idx-files.js';

/** Writes good images and labels (4 images of 2x2) into a fresh folder; returns their paths. */
async function goodPair(t: Parameters<typeof temporaryFolder>[0]) {
  const folder = await temporaryFolder(t);
  const images = join(folder, 'train-images-idx3-ubyte');
  const labels = join(folder, 'train-labels-idx1-ubyte');
  await writeIdxFile(
    images,
    'int16',
    [4, 2, 2],
    Array.from({ length: 16 }, (_, i) => i),
  );
  await writeIdxFile(labels, 'uint8', [4], [0, 1, 0, 1]);
  return { folder, images, labels };
}

/** Asserts loading rejects with a DatasetError for `file`, whose message names it and matches. */
async function rejectsNaming(options: LoadOptions, file: string, pattern: RegExp) {
  const error = await datasetErrorOf(loadDataset(options));
  assert.equal(error.path, file);
  assert.ok(error.message.includes(file), `message does not name ${file}: ${error.message}`);
  assert.match(error.message, pattern);
}

test('a truncated IDX file says how many bytes its header declares', async (t) => {
  const { images } = await goodPair(t);
  const bytes = idxFileBytes(
    'int16',
    [4, 2, 2],
    Array.from({ length: 16 }, (_, i) => i),
  );
  await writeFile(images, bytes.subarray(0, bytes.length - 3));

  // 16 header bytes, then 4x2x2 = 16 values of 2 bytes = 32 bytes; 3 cut off leaves 29
  await rejectsNaming(
    { dataset: images },
    images,
    /is truncated: its header declares 4x2x2 = 16 values of 2 bytes \(32\), found 29 bytes/,
  );
});

test('a zero-byte IDX file says it is empty', async (t) => {
  const { images } = await goodPair(t);
  await writeFile(images, '');

  await rejectsNaming({ dataset: images }, images, /is empty \(0 bytes\), not an IDX file/);
});

test('a wrong magic number names the bytes found', async (t) => {
  const { images } = await goodPair(t);
  const bytes = idxFileBytes('uint8', [4, 2, 2], new Array(16).fill(0));
  bytes[2] = 0x0a; // no element type has code 0a
  await writeFile(images, bytes);

  await rejectsNaming({ dataset: images }, images, /expected magic 00 00, .*found 00 00 0a 03/);
});

test('header dimensions that disagree with the file size are named', async (t) => {
  const { images } = await goodPair(t);
  // a header for 4x2x2 int32 values followed by 20 values instead of 16
  const bytes = idxFileBytes('int32', [4, 2, 2], new Array(20).fill(1));
  await writeFile(images, bytes);

  // 16 values of 4 bytes are 64 bytes; 20 are 80
  await rejectsNaming(
    { dataset: images },
    images,
    /has extra bytes at the end: its header declares 4x2x2 = 16 values of 4 bytes \(64\), found 80/,
  );
});

test('image and label counts that disagree name both files and both counts', async (t) => {
  const { images, labels } = await goodPair(t);
  await writeIdxFile(labels, 'uint8', [5], [0, 1, 0, 1, 0]);

  const error = await datasetErrorOf(loadDataset({ dataset: images }));

  assert.equal(error.path, labels);
  assert.ok(error.message.startsWith(`${labels} has 5 labels but ${images} has 4 images`));
});

test('a negative label names the file and its index', async (t) => {
  const { images, labels } = await goodPair(t);
  await writeIdxFile(labels, 'int8', [4], [0, 1, -1, 1]);

  await rejectsNaming({ dataset: images }, labels, /has label -1 at index 2 \(signed bytes\)/);
});

test('a label that is not a whole number names the file and its index', async (t) => {
  const { images, labels } = await goodPair(t);
  await writeIdxFile(labels, 'float32', [4, 1], [0, 1, 0, 1.5]);

  await rejectsNaming({ dataset: images }, labels, /has label 1\.5 at index 3 \(32-bit floats\)/);
});

test('a labels file of images shape is rejected', async (t) => {
  const { images, labels } = await goodPair(t);
  await writeIdxFile(labels, 'uint8', [4, 2], new Array(8).fill(0));

  await rejectsNaming({ dataset: images }, labels, /has dimensions 4x2; expected a labels file/);
});

test('a missing labels file lists the names tried and suggests --labels', async (t) => {
  const { folder, images, labels } = await goodPair(t);
  await rm(labels);

  const error = await datasetErrorOf(loadDataset({ dataset: images }));

  assert.equal(error.path, images);
  const tried = [
    join(folder, 'train-labels-idx1-ubyte'),
    join(folder, 'train-labels-idx1-ubyte.gz'),
  ];
  assert.equal(
    error.message,
    `no labels file was found for the IDX images ${images}: looked for ${tried.join(', ')}; ` +
      'pass the labels file with --labels',
  );
});

test('an images file of no images is an error', async (t) => {
  const { images } = await goodPair(t);
  await writeIdxFile(images, 'uint8', [0, 28, 28], []);

  await rejectsNaming(
    { dataset: images },
    images,
    /declares 0x28x28 values, so it holds no pixels/,
  );
});

test('an images file whose name names no labels file says so', async (t) => {
  const folder = await temporaryFolder(t);
  const images = join(folder, 'pixels');
  await writeIdxFile(images, 'uint8', [1, 1, 1], [0]);

  await rejectsNaming(
    { dataset: images },
    images,
    /its name has no 'images' or 'idx<N>' .*pass the labels file with --labels/,
  );
});

test('a test set found without labels suggests --test-labels', async (t) => {
  const { folder, images } = await goodPair(t);
  const testImages = join(folder, 'test-pixels');
  await writeIdxFile(testImages, 'int16', [1, 2, 2], [0, 0, 0, 0]);

  await rejectsNaming({ dataset: images, test: testImages }, testImages, /with --test-labels$/);
});

test('a rank-1 images file is an error that says it looks like labels', async (t) => {
  const { labels } = await goodPair(t);

  // before any labels file is looked for, which this name would not find
  await rejectsNaming(
    { dataset: labels },
    labels,
    /has 1 dimension \(4 values\), the layout of a labels file/,
  );
});

test('a test set of another image shape names both shapes', async (t) => {
  const { folder, images } = await goodPair(t);
  const testImages = join(folder, 't10k-images-idx3-ubyte');
  await writeIdxFile(testImages, 'int16', [2, 1, 4], new Array(8).fill(3));
  await writeIdxFile(join(folder, 't10k-labels-idx1-ubyte'), 'uint8', [2], [0, 1]);

  await rejectsNaming(
    { dataset: images, test: testImages },
    testImages,
    /holds 1x4x1 images .* but .* holds 2x2x1/,
  );
});

test('float test images with integer training images are rejected', async (t) => {
  const { folder, images } = await goodPair(t);
  const testImages = join(folder, 't10k-images-idx3-ubyte');
  await writeIdxFile(testImages, 'float32', [1, 2, 2], [0, 0.5, 1, 0]);
  await writeIdxFile(join(folder, 't10k-labels-idx1-ubyte'), 'uint8', [1], [0]);

  await rejectsNaming(
    { dataset: images, test: testImages },
    testImages,
    /holds 32-bit floats but the training images hold integers/,
  );
});

test('--labels with a dataset that is not IDX is an option error', async (t) => {
  const folder = await temporaryFolder(t);
  const csv = join(folder, 'train.csv');
  await writeFile(csv, '0,1,2\n1,3,4\n');

  const error = await optionErrorOf(loadDataset({ dataset: csv, labels: join(folder, 'x') }));
  assert.equal(error.option, 'labels');
  assert.match(error.message, new RegExp(`--dataset ${csv} is not an IDX images file`));

  const named = await optionErrorOf(loadDataset({ dataset: 'mnist', testLabels: 'y' }));
  assert.equal(named.option, 'test-labels');
});

test('a CSV test set with an IDX dataset is an option error', async (t) => {
  const { folder, images } = await goodPair(t);
  const csv = join(folder, 'test.csv');
  await writeFile(csv, '0,1,2,3,4\n');

  const error = await optionErrorOf(loadDataset({ dataset: images, test: csv }));
  assert.equal(error.option, 'test');
  assert.match(
    error.message,
    /is a .csv file of pixels, but --dataset .* is an IDX file; expected a test set of the training set's kind/,
  );
});

test('--test-labels without --test is an option error', async (t) => {
  const { images, labels } = await goodPair(t);

  const error = await optionErrorOf(loadDataset({ dataset: images, testLabels: labels }));
  assert.equal(error.option, 'test-labels');
  assert.match(error.message, /was given without --test/);
});
