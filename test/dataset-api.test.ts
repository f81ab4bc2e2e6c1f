// Datasets built by user code: from typed arrays and from generators of
// samples, trained like any loaded dataset, and the checks every dataset
// passes, each failure a DatasetError naming the data.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkDataset } from '../src/coordinator/dataset.js';
import { datasetFromArrays, datasetFromSamples } from '../src/coordinator/dataset-builders.js';
import type { Sample } from '../src/coordinator/dataset-builders.js';
import { train } from '../src/coordinator/trainer.js';
import { DatasetError } from '../src/shared/errors.js';
import { syntheticImages } from './helpers/synthetic.js';

const kSettings = { workers: 2, epochs: 1, batchSize: 16, hiddenSizes: [8], seed: 3 };
const shape = { height: 6, width: 5, channels: 1 };

function* samplesOf(images: ReturnType<typeof syntheticImages>, names?: string[]) {
  const size = images.height * images.width * images.channels;
  for (let index = 0; index < images.count; index++) {
    const label = images.labels[index];
    yield {
      pixels: images.pixels.subarray(index * size, (index + 1) * size),
      label: names ? names[label] : label,
    } as Sample;
  }
}

test('typed arrays, a generator and an async generator of the same samples train alike', async () => {
  const images = syntheticImages(96, 3, 8, 6, 5);
  const names = ['cat', 'ant', 'bee'];
  async function* slowly() {
    for (const sample of samplesOf(images)) yield await Promise.resolve(sample);
  }

  const fromArrays = datasetFromArrays({ ...shape, pixels: images.pixels, labels: images.labels });
  const fromSamples = await datasetFromSamples(samplesOf(images), shape);
  const fromAsync = await datasetFromSamples(slowly(), { ...shape, source: 'async samples' });
  const named = await datasetFromSamples(samplesOf(images, names), shape);
  const runs = await Promise.all(
    [fromArrays, fromSamples, fromAsync].map((dataset) => train({ ...kSettings, dataset })),
  );

  assert.deepEqual(fromSamples.pixels, images.pixels);
  assert.equal(fromSamples.pixels instanceof Uint8Array, true);
  assert.deepEqual(fromArrays.classNames, ['0', '1', '2']);
  assert.equal(fromAsync.source, 'async samples');
  // class names given as strings are numbered in code-point order: ant, bee, cat
  assert.deepEqual(named.classNames, ['ant', 'bee', 'cat']);
  assert.deepEqual(
    [...named.labels.slice(0, 6)],
    [...images.labels.slice(0, 6)].map((label) => [2, 0, 1][label]),
  );
  assert.equal(runs[1].paramsDigest, runs[0].paramsDigest);
  assert.equal(runs[2].paramsDigest, runs[0].paramsDigest);
});

test('float samples are kept as floats and used as given', async () => {
  const floats = [
    { pixels: [0, 0.5, 1, 0.25], label: 0 },
    { pixels: [1, 0.5, 0, 0.75], label: 1 },
  ];

  const shape = { height: 2, width: 2, channels: 1 };
  // plain arrays need the pixel type said; Float32Arrays say it themselves
  const given = await datasetFromSamples(floats, { ...shape, pixelType: 'float32' });
  const typed = await datasetFromSamples(
    floats.map(({ pixels, label }) => ({ pixels: Float32Array.from(pixels), label })),
    shape,
  );

  for (const dataset of [given, typed]) {
    assert.equal(dataset.pixels instanceof Float32Array, true);
    assert.deepEqual([...dataset.pixels], [0, 0.5, 1, 0.25, 1, 0.5, 0, 0.75]);
  }
});

function assertDatasetError(action: () => unknown, source: string, pattern: RegExp) {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof DatasetError, `expected a DatasetError, got ${String(error)}`);
    assert.equal(error.path, source);
    assert.match(error.message, new RegExp(source));
    assert.match(error.message, pattern);
    return true;
  });
}

test('pixel arrays of the wrong length are refused, naming the data and both sizes', () => {
  assertDatasetError(
    () =>
      datasetFromArrays({ ...shape, pixels: new Uint8Array(59), labels: [0, 1], source: 'mine' }),
    'mine',
    /59 pixel values, but 2 images of 6x5x1 .* need 60/,
  );
});

test('a label outside the class list is refused, naming the image', () => {
  assertDatasetError(
    () =>
      datasetFromArrays({
        ...shape,
        pixels: new Uint8Array(60),
        labels: [0, 2],
        classNames: ['a', 'b'],
        source: 'mine',
      }),
    'mine',
    /image 1 of mine has label 2, but the dataset has 2 classes/,
  );
});

test('a training set with a class of no images is refused, naming the class', () => {
  const dataset = datasetFromArrays({
    ...shape,
    pixels: new Uint8Array(90),
    labels: [0, 2, 0],
    source: 'gappy',
  });

  assertDatasetError(
    () => checkDataset(dataset, 'train'),
    'gappy',
    /no training images of class '1'/,
  );
});

test('a non-finite float pixel is refused, naming the image', () => {
  const pixels = new Float32Array(60);
  pixels[45] = Number.NaN;
  assertDatasetError(
    () => datasetFromArrays({ ...shape, pixels, labels: [0, 1], source: 'nan data' }),
    'nan data',
    /non-finite pixel value \(NaN\) in image 1/,
  );
});

test('generator samples of the wrong size, out of range or with mixed labels are refused', async () => {
  const options = { height: 1, width: 2, channels: 1, source: 'gen' };
  const cases: [Sample[], RegExp][] = [
    [
      [{ pixels: Uint8Array.of(1, 2, 3), label: 0 }],
      /sample 0 of gen has 3 pixel values; expected 2/,
    ],
    [
      [
        { pixels: Uint8Array.of(1, 2), label: 0 },
        { pixels: [1, 300], label: 1 },
      ],
      /sample 1 of gen has pixel value 300/,
    ],
    [
      [
        { pixels: [1, 2], label: 0 },
        { pixels: [1, 2], label: 'b' },
      ],
      /sample 1 of gen has a string label after number labels/,
    ],
    [[{ pixels: [1, 2], label: -1 }], /sample 0 of gen has label -1/],
    [[], /gen yielded no samples/],
  ];
  for (const [samples, pattern] of cases) {
    await assert.rejects(datasetFromSamples(samples, options), (error: unknown) => {
      assert.ok(error instanceof DatasetError);
      assert.match(error.message, pattern);
      return true;
    });
  }
});

test('training refuses a dataset in memory whose class has no images', async () => {
  const images = syntheticImages(40, 2, 9, 6, 5);
  const dataset = { ...images, classNames: ['a', 'b', 'never seen'], source: 'three names' };

  await assert.rejects(train({ ...kSettings, dataset }), (error: unknown) => {
    assert.ok(error instanceof DatasetError);
    assert.match(error.message, /three names has no training images of class 'never seen'/);
    return true;
  });
});
