// CSV datasets in the layouts tutorials and competitions use, trained end to
// end, and the error each kind of bad row gets.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { loadDataset } from '../src/coordinator/data/index.js';
import { readCsvImages } from '../src/coordinator/data/csv.js';
import { imageShapeOfSize } from '../src/shared/images.js';
import { train } from '../src/coordinator/trainer.js';
import { datasetErrorOf, temporaryFolder } from './data-fixtures.js';

/** Rows of 2×2 gray images: class 0 dark, class 1 bright, so a model can learn them. */
function imageRows(count: number): { label: number; pixels: number[] }[] {
  return Array.from({ length: count }, (_, index) => {
    const label = index % 2;
    const base = label === 0 ? 20 : 200;
    return { label, pixels: [0, 1, 2, 3].map((offset) => base + ((index + offset) % 40)) };
  });
}

for (const layout of [
  {
    name: 'label first, no header, LF, final newline',
    header: false,
    labelLast: false,
    eol: '\n',
    final: true,
  },
  {
    name: 'header with a named label column last, CRLF, no final newline',
    header: true,
    labelLast: true,
    eol: '\r\n',
    final: false,
  },
]) {
  test(`a CSV dataset reads and trains: ${layout.name}`, async (t) => {
    const file = join(await temporaryFolder(t), 'Train Data.CSV');
    const rows = imageRows(40);
    const lines = rows.map(({ label, pixels }) =>
      (layout.labelLast ? [...pixels, label] : [label, ...pixels]).join(','),
    );
    if (layout.header) lines.unshift(layout.labelLast ? 'px0,px1,px2,px3,Label' : 'label,a,b,c,d');
    await writeFile(file, lines.join(layout.eol) + (layout.final ? layout.eol : ''));

    const { train: images } = await loadDataset({ dataset: file });
    assert.equal(images.count, 40);
    assert.deepEqual([images.height, images.width, images.channels], [2, 2, 1]);
    assert.deepEqual(Array.from(images.pixels.subarray(0, 4)), rows[0].pixels);
    assert.deepEqual(Array.from(images.labels.subarray(0, 4)), [0, 1, 0, 1]);
    assert.deepEqual(images.classNames, ['0', '1']);

    const summary = await train({
      dataset: file,
      workers: 2,
      epochs: 20,
      learningRate: 0.01,
      batchSize: 8,
      hiddenSizes: [8],
      validationSplit: 0,
    });
    assert.ok(summary.stepLosses.at(-1)! < summary.stepLosses[0] * 0.5, 'the loss must fall');
  });
}

test('the shape of a CSV row: gray squares, RGB squares, else one row', () => {
  assert.deepEqual(imageShapeOfSize(784), [28, 28, 1]);
  assert.deepEqual(imageShapeOfSize(3072), [32, 32, 3]);
  assert.deepEqual(imageShapeOfSize(10), [1, 10, 1]);
});

const kBadFiles: [string, string, RegExp][] = [
  ['uneven.csv', '0,1,2,3,4\n1,5,6,7\n', /line 2, has 4 columns, but the first row has 5/],
  [
    'text.csv',
    '0,1,2,3,4\n1,5,six,7,8\n',
    /line 2, column 3: expected a whole pixel value from 0 to 255, found 'six'/,
  ],
  [
    'range.csv',
    'label,a,b\n0,1,2\n1,256,3\n',
    /line 3, column 2 \('a'\): expected a whole pixel value from 0 to 255, found '256'/,
  ],
  [
    'label.csv',
    '0,1,2\n-1,5,6\n',
    /line 2, column 1: expected a class number from 0 to 9999, found '-1'/,
  ],
  ['header-only.csv', 'label,a,b\n', /has no image rows after its header/],
  ['empty.csv', '', /has no image rows/],
];

for (const [name, contents, message] of kBadFiles) {
  test(`a bad CSV file (${name}) is a DatasetError naming the file and the row`, async (t) => {
    const file = join(await temporaryFolder(t), name);
    await writeFile(file, contents);
    const error = await datasetErrorOf(readCsvImages(file));
    assert.equal(error.path, file);
    assert.ok(error.message.startsWith(file), error.message);
    assert.match(error.message, message);
  });
}

test('a missing CSV file is a DatasetError naming it', async (t) => {
  const file = join(await temporaryFolder(t), 'missing.csv');
  const error = await datasetErrorOf(readCsvImages(file));
  assert.match(error.message, /cannot read the CSV file .*missing\.csv.*ENOENT/);
});
