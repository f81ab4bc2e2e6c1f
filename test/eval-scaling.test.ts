// A model trained on IDX integers that were scaled by their raw range is
// evaluated on the range it was trained with, so `syncgrad eval` on the test
// file agrees with the test figures training printed for that same file.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { temporaryFolder } from './data-fixtures.js';
import { lastJsonLine, runCli, shortTrainArgs } from './helpers/cli.js';
import { writeIdxFile } from './helpers/idx-files.js';

/** Values -999..999 for the training file, 0..99 for the test file: two different ranges. */
function values(count: number, size: number, spread: number, offset: number): number[] {
  return Array.from({ length: count * size }, (_, index) => {
    const label = Math.floor(index / size) % 2;
    return Math.round(offset + spread * (label === 0 ? (index % 7) / 7 : 1 - (index % 5) / 5));
  });
}

test('eval scales range-scaled IDX integers as training did', async (t) => {
  const folder = await temporaryFolder(t);
  const trainImages = join(folder, 'train-images-idx3-ubyte');
  const testImages = join(folder, 't10k-images-idx3-ubyte');
  const labels = (count: number) => Array.from({ length: count }, (_, index) => index % 2);
  await writeIdxFile(trainImages, 'int16', [40, 2, 2], values(40, 4, 1998, -999));
  await writeIdxFile(join(folder, 'train-labels-idx1-ubyte'), 'uint8', [40], labels(40));
  await writeIdxFile(testImages, 'int16', [12, 2, 2], values(12, 4, 99, 0));
  await writeIdxFile(join(folder, 't10k-labels-idx1-ubyte'), 'uint8', [12], labels(12));
  const model = join(folder, 'model');

  const trained = await runCli(
    shortTrainArgs(trainImages, '--test', testImages, '--hidden', '6', '--out', model),
  );
  const evaluated = await runCli(['eval', '--model', model, '--dataset', testImages, '--json']);

  assert.equal(trained.status, 0, trained.stderr);
  assert.equal(evaluated.status, 0, evaluated.stderr);
  assert.match(evaluated.stderr, /scaled by the training images' range, -999 to 999/);
  const training = lastJsonLine(trained.stdout);
  const evaluation = lastJsonLine(evaluated.stdout);
  // the same parameters on the same scaled pixels; only float rounding differs
  assert.ok(
    Math.abs((training.testLoss as number) - (evaluation.testLoss as number)) < 1e-4,
    `train ${training.testLoss} eval ${evaluation.testLoss}`,
  );
  assert.equal(evaluation.testAccuracy, training.testAccuracy);
});

test('eval refuses 8-bit pixels for a model trained on range-scaled integers', async (t) => {
  const folder = await temporaryFolder(t);
  const trainImages = join(folder, 'train-images-idx3-ubyte');
  await writeIdxFile(trainImages, 'int16', [16, 2, 2], values(16, 4, 1998, -999));
  await writeIdxFile(
    join(folder, 'train-labels-idx1-ubyte'),
    'uint8',
    [16],
    [...Array(16).keys()].map((i) => i % 2),
  );
  const csv = join(folder, 'pixels.csv');
  await writeFile(csv, '0,1,2,3,4\n1,5,6,7,8\n');
  const model = join(folder, 'model');
  const trained = await runCli(shortTrainArgs(trainImages, '--hidden', '4', '--out', model));

  const evaluated = await runCli(['eval', '--model', model, '--dataset', csv]);

  assert.equal(trained.status, 0, trained.stderr);
  assert.equal(evaluated.status, 1);
  assert.match(
    evaluated.stderr,
    /trained on integers scaled from the range -999 to 999 .* evaluate it on IDX files/,
  );
});
