// IDX images of every element type and of ranks 2 to 5, raw and gzipped: the
// exact pixels each becomes, and training on each through the real CLI.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { loadDataset } from '../src/coordinator/data/index.js';
import type { LoadProgress } from '../src/coordinator/data/index.js';
import { datasetErrorOf, noticesOf, temporaryFolder } from './data-fixtures.js';
import { lastJsonLine, runCli, shortTrainArgs } from './helpers/cli.js';
import { writeIdxFile } from './helpers/idx-files.js';
import type { IdxTypeName } from './helpers/idx-files.js';

/** A base value for value `index` of a file: 7 is prime to 256, so 256 in a row cover 0..255. */
function base(index: number): number {
  return (index * 7 + 3) % 256;
}

interface TypeCase {
  type: IdxTypeName;
  /** The value stored at `index`. */
  stored: (index: number) => number;
  /** The pixel expected at `index` of a training file of `count` values. */
  pixel: (index: number) => number;
  /** The array the pixels come back in. */
  kind: typeof Uint8Array | typeof Float32Array;
}

// with 64 images of 16 values, base() takes every value 0..255, so a scaled
// file's range is its stored values at base 0 and base 255
const kCases: TypeCase[] = [
  { type: 'uint8', stored: base, pixel: base, kind: Uint8Array },
  // -128..127: negative, so scaled by the range -128..127, a span of 255
  {
    type: 'int8',
    stored: (index) => base(index) - 128,
    pixel: (index) => Math.fround(base(index) / 255),
    kind: Float32Array,
  },
  // 0..255 in 16 bits: still 8-bit pixels
  { type: 'int16', stored: base, pixel: base, kind: Uint8Array },
  // -100000..155000: scaled by that range, a span of 255000
  {
    type: 'int32',
    stored: (index) => base(index) * 1000 - 100_000,
    pixel: (index) => Math.fround((base(index) * 1000) / 255_000),
    kind: Float32Array,
  },
  {
    type: 'float32',
    stored: (index) => base(index) / 255,
    pixel: (index) => Math.fround(base(index) / 255),
    kind: Float32Array,
  },
  // float64 values become the nearest 32-bit floats
  {
    type: 'float64',
    stored: (index) => base(index) / 255 + 1e-12,
    pixel: (index) => Math.fround(base(index) / 255 + 1e-12),
    kind: Float32Array,
  },
];

/** Dimensions of `count` images of 16 values per rank, and the shape each means. */
const kRanks: { rank: number; dimensions: number[]; shape: number[] }[] = [
  { rank: 2, dimensions: [16], shape: [4, 4, 1] },
  { rank: 3, dimensions: [4, 4], shape: [4, 4, 1] },
  { rank: 4, dimensions: [2, 4, 2], shape: [2, 4, 2] },
  // from rank 5 on: the height, then the rest multiplied into the width
  { rank: 5, dimensions: [2, 2, 2, 2], shape: [2, 8, 1] },
];

const kImages = 64;
const kTestImages = 16;
const kValues = 16;

/** Writes a training pair and a test pair of `type` in `folder`, named like MNIST's files. */
async function writeDataset(folder: string, type: TypeCase, dimensions: number[], gzip: boolean) {
  const suffix = gzip ? '.gz' : '';
  const images = join(folder, `train-images-idx${dimensions.length + 1}-ubyte${suffix}`);
  const testImages = join(folder, `t10k-images-idx${dimensions.length + 1}-ubyte${suffix}`);
  const values = (count: number) => Array.from({ length: count * kValues }, (_, i) => i);
  const labels = (count: number) => Array.from({ length: count }, (_, i) => i % 3);
  await writeIdxFile(
    images,
    type.type,
    [kImages, ...dimensions],
    values(kImages).map(type.stored),
    gzip,
  );
  await writeIdxFile(
    join(folder, `train-labels-idx1-ubyte${suffix}`),
    'uint8',
    [kImages],
    labels(kImages),
    gzip,
  );
  // the test set's values stay inside the training set's range
  const testValues = values(kTestImages).map(type.stored);
  await writeIdxFile(testImages, type.type, [kTestImages, ...dimensions], testValues, gzip);
  await writeIdxFile(
    join(folder, `t10k-labels-idx1-ubyte${suffix}`),
    'uint8',
    [kTestImages],
    labels(kTestImages),
    gzip,
  );
  return { images, testImages };
}

for (const type of kCases) {
  for (const gzip of [false, true]) {
    for (const { rank, dimensions, shape } of kRanks) {
      const name = `${type.type} images of rank ${rank}, ${gzip ? 'gzipped' : 'raw'}`;
      test(`${name}, read with the labels beside them, give the exact pixels`, async (t) => {
        const folder = await temporaryFolder(t);
        const { images, testImages } = await writeDataset(folder, type, dimensions, gzip);
        const events: LoadProgress[] = [];

        const splits = await loadDataset({
          dataset: images,
          test: testImages,
          onProgress: (event) => events.push(event),
        });

        const { train } = splits;
        assert.deepEqual(
          [train.count, train.height, train.width, train.channels],
          [kImages, ...shape],
        );
        assert.ok(
          train.pixels instanceof type.kind,
          `pixels are a ${train.pixels.constructor.name}`,
        );
        const expected = Array.from({ length: kImages * kValues }, (_, i) => type.pixel(i));
        assert.deepEqual(Array.from(train.pixels), expected);
        assert.deepEqual(Array.from(train.labels.subarray(0, 4)), [0, 1, 2, 0]);
        assert.deepEqual(train.classNames, ['0', '1', '2']);
        // the test set is the training set's first 16 images, on the same scale
        assert.deepEqual(Array.from(splits.test!.pixels), expected.slice(0, kTestImages * kValues));
        assert.equal(splits.test!.pixels.constructor, type.kind);
        // only scaled integers bring a notice, one per file
        const scaled = type.kind === Float32Array && type.type.startsWith('int');
        assert.equal(noticesOf(events).length, scaled ? 2 : 0);
      });
    }
  }
}

// every type raw and gzipped, the ranks taken in turn, trained by the real CLI
for (const [index, type] of kCases.entries()) {
  for (const gzip of [false, true]) {
    const { rank, dimensions } = kRanks[(2 * index + Number(gzip)) % 3];
    const name = `${type.type} images of rank ${rank}, ${gzip ? 'gzipped' : 'raw'}`;
    test(`the CLI trains on ${name} and reports a test accuracy`, async (t) => {
      const folder = await temporaryFolder(t);
      const { images, testImages } = await writeDataset(folder, type, dimensions, gzip);

      const run = await runCli(shortTrainArgs(images, '--test', testImages, '--hidden', '8'));

      assert.equal(run.status, 0, run.stderr);
      const report = lastJsonLine(run.stdout);
      // a test set given means no validation split: 64 images / global batch 8 = 8 steps
      assert.equal(report.steps, 8);
      assert.equal(report.testSource, 'test');
      const accuracy = report.testAccuracy as number;
      assert.ok(accuracy >= 0 && accuracy <= 1, `test accuracy ${accuracy}`);
      assert.match(run.stderr, /images \d+x\d+x\d+, 3 classes/);
    });
  }
}

test('a 32-bit float that is NaN names its byte offset', async (t) => {
  const folder = await temporaryFolder(t);
  const images = join(folder, 'train-images-idx3-ubyte');
  const values = [0.5, 0.25, Number.NaN, 1];
  await writeIdxFile(images, 'float32', [1, 2, 2], values);
  await writeIdxFile(join(folder, 'train-labels-idx1-ubyte'), 'uint8', [1], [0]);

  const error = await datasetErrorOf(loadDataset({ dataset: images }));

  assert.equal(error.path, images);
  // a 16-byte header (magic and three sizes), then value 2 at 4 bytes each: 16 + 8 = 24
  assert.match(error.message, new RegExp(`^${images} has NaN at byte offset 24 \\(value 2\\)`));
});

test('an infinite 64-bit float in a gzipped file names its offset in the unpacked bytes', async (t) => {
  const folder = await temporaryFolder(t);
  const images = join(folder, 'train-images-idx3-ubyte.gz');
  await writeIdxFile(images, 'float64', [2, 1, 1], [0, -Infinity], true);
  await writeIdxFile(join(folder, 'train-labels-idx1-ubyte.gz'), 'uint8', [2], [0, 1], true);

  const error = await datasetErrorOf(loadDataset({ dataset: images }));

  // 16 header bytes, then value 1 at 8 bytes each: 16 + 8 = 24
  assert.match(error.message, /has -Infinity at byte offset 24 of its unpacked bytes \(value 1\)/);
  assert.ok(error.message.startsWith(images), error.message);
});

test('a 64-bit float too large for 32 bits is named like an infinity', async (t) => {
  const folder = await temporaryFolder(t);
  const images = join(folder, 'train-images-idx3-ubyte');
  await writeIdxFile(images, 'float64', [1, 1, 2], [0, 1e300]);
  await writeIdxFile(join(folder, 'train-labels-idx1-ubyte'), 'uint8', [1], [0]);

  const error = await datasetErrorOf(loadDataset({ dataset: images }));

  assert.match(error.message, /has 1e\+300, too large for a 32-bit float, at byte offset 24/);
});

test("a test file of another integer type is scaled by the training file's range", async (t) => {
  const folder = await temporaryFolder(t);
  const images = join(folder, 'train-images-idx3-ubyte');
  const testImages = join(folder, 't10k-images-idx3-ubyte');
  await writeIdxFile(images, 'int16', [2, 1, 2], [-100, 155, 0, 50]);
  await writeIdxFile(join(folder, 'train-labels-idx1-ubyte'), 'uint8', [2], [0, 1]);
  await writeIdxFile(testImages, 'uint8', [1, 1, 2], [0, 255]);
  await writeIdxFile(join(folder, 't10k-labels-idx1-ubyte'), 'uint8', [1], [1]);
  const events: LoadProgress[] = [];

  const splits = await loadDataset({
    dataset: images,
    test: testImages,
    onProgress: (event) => events.push(event),
  });

  // the training range is -100..155, a span of 255: a value v becomes (v + 100) / 255
  const expected = [100, 355].map((value) => Math.fround(value / 255));
  assert.deepEqual(Array.from(splits.test!.pixels), expected);
  assert.ok(splits.test!.pixels instanceof Float32Array);
  assert.match(noticesOf(events)[1], /scaled by the training images' range, -100 to 155$/);
});
