// An IDX images file and its labels file given by path: labels named by
// option or found beside the images by name, test pairs of their own counts,
// and labels of any integer type (or whole floats) in either layout.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { labelsFileCandidates } from '../src/coordinator/data/idx-dataset.js';
import { loadDataset } from '../src/coordinator/data/index.js';
import { temporaryFolder } from './data-fixtures.js';
import { hasStackTrace, lastJsonLine, runCli, shortTrainArgs } from './helpers/cli.js';
import { writeIdxFile } from './helpers/idx-files.js';

/** `count` 2x3 images of unsigned bytes, image `i` filled with `i`, so each is recognizable. */
function imageValues(count: number): number[] {
  return Array.from({ length: count * 6 }, (_, index) => Math.floor(index / 6));
}

function cycle(count: number, classes: number): number[] {
  return Array.from({ length: count }, (_, index) => index % classes);
}

test('labels named by --labels and --test-labels, of other types, pair with any names', async (t) => {
  const folder = await temporaryFolder(t);
  const images = join(folder, 'pictures.bin');
  const labels = join(folder, 'answers.bin');
  const testImages = join(folder, 'held-out.bin');
  const testLabels = join(folder, 'held-out-answers.bin');
  await writeIdxFile(images, 'uint8', [37, 2, 3], imageValues(37));
  // 32-bit integer labels as a column, [count, 1]
  await writeIdxFile(labels, 'int32', [37, 1], cycle(37, 4));
  await writeIdxFile(testImages, 'uint8', [11, 2, 3], imageValues(11), true);
  // whole numbers stored as 64-bit floats; the test set has a class the training set lacks
  await writeIdxFile(testLabels, 'float64', [11], [...cycle(10, 4), 4]);

  const splits = await loadDataset({ dataset: images, test: testImages, labels, testLabels });

  assert.equal(splits.train.count, 37);
  assert.equal(splits.test!.count, 11);
  assert.deepEqual(Array.from(splits.train.pixels.subarray(6 * 36)), [36, 36, 36, 36, 36, 36]);
  assert.deepEqual(Array.from(splits.train.labels.subarray(0, 5)), [0, 1, 2, 3, 0]);
  assert.deepEqual(Array.from(splits.test!.labels.subarray(8)), [0, 1, 4]);
  // classes '0' to the largest label of either set, for both sets
  assert.deepEqual(splits.train.classNames, ['0', '1', '2', '3', '4']);
  assert.deepEqual(splits.test!.classNames, splits.train.classNames);
  assert.equal(splits.test!.source, testImages);
});

test('the names tried for a labels file beside its images file', () => {
  const folder = join('data', 'set');
  assert.deepEqual(labelsFileCandidates(join(folder, 'train-images-idx3-ubyte.gz')), [
    join(folder, 'train-labels-idx1-ubyte.gz'),
    join(folder, 'train-labels-idx1-ubyte'),
  ]);
  assert.deepEqual(labelsFileCandidates(join(folder, 'Train-Images.idx4-ubyte')), [
    join(folder, 'Train-Labels.idx1-ubyte'),
    join(folder, 'Train-Labels.idx1-ubyte.gz'),
  ]);
  assert.deepEqual(labelsFileCandidates(join(folder, 'IMAGES.idx')), [
    join(folder, 'LABELS.idx'),
    join(folder, 'LABELS.idx.gz'),
  ]);
  // nothing to swap: 'pixels' beside 'pixels.gz' would be the same images, not labels
  assert.deepEqual(labelsFileCandidates(join(folder, 'pixels.gz')), []);
});

for (const spelling of [
  { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte' },
  { images: 'train-images.idx3-ubyte', labels: 'train-labels.idx1-ubyte.gz' },
  { images: 'digits-images-idx3', labels: 'digits-labels-idx1' },
]) {
  test(`labels beside ${spelling.images} are found as ${spelling.labels}`, async (t) => {
    const folder = await temporaryFolder(t);
    const images = join(folder, spelling.images);
    await writeIdxFile(images, 'uint8', [37, 2, 3], imageValues(37), images.endsWith('.gz'));
    const gzipLabels = spelling.labels.endsWith('.gz');
    await writeIdxFile(join(folder, spelling.labels), 'int16', [37], cycle(37, 3), gzipLabels);

    const { train } = await loadDataset({ dataset: images });

    assert.equal(train.count, 37);
    assert.deepEqual(Array.from(train.labels.subarray(0, 4)), [0, 1, 2, 0]);
    assert.deepEqual(train.classNames, ['0', '1', '2']);
  });
}

test('the CLI trains on IDX pairs found by name, 37 training and 11 test images', async (t) => {
  const folder = await temporaryFolder(t);
  const images = join(folder, 'train-images-idx3-ubyte.gz');
  const testImages = join(folder, 't10k-images-idx3-ubyte');
  await writeIdxFile(images, 'uint8', [37, 2, 3], imageValues(37), true);
  await writeIdxFile(join(folder, 'train-labels-idx1-ubyte.gz'), 'uint8', [37], cycle(37, 2), true);
  await writeIdxFile(testImages, 'uint8', [11, 2, 3], imageValues(11));
  await writeIdxFile(join(folder, 't10k-labels-idx1-ubyte'), 'uint8', [11], cycle(11, 2));

  const run = await runCli(shortTrainArgs(images, '--test', testImages, '--hidden', '8'));

  assert.equal(run.status, 0, run.stderr);
  const report = lastJsonLine(run.stdout);
  // no validation split when a test set is given: ceil(37 / 8) = 5 steps, the last of 5 images
  assert.equal(report.steps, 5);
  assert.equal(report.testSource, 'test');
  const perClass = report.perClass as { total: number }[];
  // 11 test labels alternating 0, 1: six of class 0 and five of class 1
  assert.deepEqual(
    perClass.map((row) => row.total),
    [6, 5],
  );
  assert.match(run.stderr, /train +37 images from .*train-images-idx3-ubyte\.gz/);
  assert.match(run.stderr, /test +11 images from .*t10k-images-idx3-ubyte/);
});

test('the CLI names the labels files it looked for when none is there', async (t) => {
  const folder = await temporaryFolder(t);
  const images = join(folder, 'train-images-idx3-ubyte');
  await writeIdxFile(images, 'uint8', [4, 2, 3], imageValues(4));

  const run = await runCli(['train', '--dataset', images, '--epochs', '1', '--workers', '1']);

  assert.notEqual(run.status, 0);
  assert.ok(!hasStackTrace(run.stderr), run.stderr);
  const tried = [
    join(folder, 'train-labels-idx1-ubyte'),
    join(folder, 'train-labels-idx1-ubyte.gz'),
  ];
  assert.ok(
    run.stderr.includes(`no labels file was found for the IDX images ${images}`),
    run.stderr,
  );
  assert.ok(run.stderr.includes(`looked for ${tried.join(', ')}`), run.stderr);
  assert.match(run.stderr, /pass the labels file with --labels/);
});
