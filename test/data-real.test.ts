// The real datasets: Fashion-MNIST from the Debian package's IDX files and the
// CIFAR-10 JPEG tree, each loaded in full. Skipped (or failed, under
// SYNCGRAD_REQUIRE_DATA=1) when the data is absent.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';

import { loadDataset } from '../src/coordinator/data/index.js';
import type { LoadProgress } from '../src/coordinator/data/index.js';
import { cifarJpegDir, fashionMnistDir, requireData } from './helpers/real-data.js';
import { temporaryFolder, withoutDataDirVariable } from './data-fixtures.js';

test('Fashion-MNIST loads 60,000 + 10,000 images of 28x28x1', async (t) => {
  if (!requireData(t, fashionMnistDir, 'apt-get install dataset-fashion-mnist')) return;
  withoutDataDirVariable(t);

  const { train, test: testSet } = await loadDataset({
    dataset: 'fashion-mnist',
    dataDir: fashionMnistDir,
    cacheDir: await temporaryFolder(t),
    download: false,
  });

  assert.deepEqual([train.count, train.height, train.width, train.channels], [60_000, 28, 28, 1]);
  assert.deepEqual([testSet?.count, testSet?.height, testSet?.width], [10_000, 28, 28]);
  // bytes 8-17 of the unpacked label files (after magic 00 00 08 01 and the count),
  // read with `zcat train-labels-idx1-ubyte.gz | xxd` and likewise for t10k
  assert.deepEqual(Array.from(train.labels.subarray(0, 10)), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
  assert.deepEqual(Array.from(testSet!.labels.subarray(0, 10)), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
  assert.equal(train.classNames[9], 'Ankle boot');

  // the first image, read straight from the file: 16 header bytes, then 28 x 28 pixels
  const file = join(fashionMnistDir, 'train-images-idx3-ubyte.gz');
  const first = gunzipSync(await readFile(file)).subarray(16, 16 + 28 * 28);
  assert.deepEqual(train.pixels.subarray(0, 28 * 28), new Uint8Array(first));
});

test('the CIFAR-10 JPEG tree loads 50,000 + 10,000 images, then from the cache', async (t) => {
  const how = 'unpack cifar10-jpg.tar.gz and set SYNCGRAD_CIFAR10_JPG_DIR to its folder';
  if (!requireData(t, cifarJpegDir, how)) return;
  const cacheDir = await temporaryFolder(t);
  const options = {
    dataset: join(cifarJpegDir, 'train'),
    test: join(cifarJpegDir, 'test'),
    cacheDir,
  };

  let started = performance.now();
  const first = await loadDataset(options);
  const firstSeconds = (performance.now() - started) / 1000;
  const events: LoadProgress[] = [];
  started = performance.now();
  const second = await loadDataset({ ...options, onProgress: (event) => events.push(event) });
  const cachedSeconds = (performance.now() - started) / 1000;
  console.log(
    `CIFAR-10 JPEG train+test: first load ${firstSeconds.toFixed(2)} s, ` +
      `from the cache ${cachedSeconds.toFixed(2)} s`,
  );

  const { train, test: testSet } = first;
  const classes = ['airplane', 'automobile', 'bird', 'cat', 'deer'];
  classes.push('dog', 'frog', 'horse', 'ship', 'truck');
  assert.deepEqual(train.classNames, classes);
  assert.deepEqual([train.count, train.height, train.width, train.channels], [50_000, 32, 32, 3]);
  const testShape = [testSet?.count, testSet?.height, testSet?.width, testSet?.channels];
  assert.deepEqual(testShape, [10_000, 32, 32, 3]);
  const perClass = new Array(10).fill(0);
  for (const label of train.labels) perClass[label]++;
  assert.deepEqual(perClass, new Array(10).fill(5000));
  assert.equal(testSet?.labels[9_999], 9);

  // the cache gives back the same bytes, and no decoding happened
  assert.deepEqual(new Set(events.map((event) => event.kind)), new Set(['cached']));
  assert.ok(Buffer.from(second.train.pixels).equals(Buffer.from(train.pixels)));
  assert.ok(Buffer.from(second.test!.pixels).equals(Buffer.from(testSet!.pixels)));

  // spot checks against sharp (libjpeg-turbo): the first image of each class. These
  // JPEGs store colour at half resolution, which libjpeg-turbo interpolates and
  // jpeg-js repeats, so the two differ at colour edges: over the first 100 images
  // of each class the mean absolute difference averaged 1.5 levels, at most 6.7;
  // for these ten, 0.6 to 3.2 (mean 1.6). Swapped channels or misplaced blocks
  // would be tens of levels off.
  const errors: number[] = [];
  for (let label = 0; label < 10; label++) {
    const image = label * 5000;
    const file = join(cifarJpegDir, 'train', classes[label], '0000.jpg');
    const expected = await sharp(file).raw().toBuffer();
    const actual = train.pixels.subarray(image * 3072, (image + 1) * 3072);
    let sum = 0;
    for (let index = 0; index < 3072; index++) sum += Math.abs(actual[index] - expected[index]);
    const error = sum / 3072;
    errors.push(error);
    assert.ok(error <= 5, `pixels of ${file} are ${error.toFixed(2)} levels off sharp's`);
  }
  const meanError = errors.reduce((sum, error) => sum + error, 0) / errors.length;
  assert.ok(meanError <= 2.5, `the first images are ${meanError.toFixed(2)} levels off on average`);
});
