// The label column of a CSV dataset chosen by `labelColumn` (`--label-column`):
// by header name, exact or in any case, or by zero-based number, for the
// training and the test file alike, and the error when no column fits.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { readCsvImages } from '../src/coordinator/data/csv.js';
import { loadDataset } from '../src/coordinator/data/index.js';
import { optionErrorOf, temporaryFolder } from './data-fixtures.js';
import { hasStackTrace, runCli } from './helpers/cli.js';

// two images of 4 pixels whose class sits in the third column, between pixels
const kRows = ['10,20,1,30,40', '50,60,0,70,80'];
const kPixels = [10, 20, 30, 40, 50, 60, 70, 80];

for (const { name, header, labelColumn, eol, final } of [
  {
    name: 'by exact name',
    header: 'p0,p1,Digit,p2,p3',
    labelColumn: 'Digit',
    eol: '\n',
    final: true,
  },
  {
    name: 'by name in any case',
    header: 'a,b,DIGIT,c,d',
    labelColumn: 'digit',
    eol: '\r\n',
    final: false,
  },
  {
    name: 'by number with a header',
    header: 'x,y,class,z,w',
    labelColumn: '2',
    eol: '\r\n',
    final: true,
  },
  {
    name: 'by number without a header',
    header: undefined,
    labelColumn: '2',
    eol: '\n',
    final: false,
  },
]) {
  test(`the label column is chosen ${name}`, async (t) => {
    const file = join(await temporaryFolder(t), 'rows.csv');
    const lines = header === undefined ? kRows : [header, ...kRows];
    await writeFile(file, lines.join(eol) + (final ? eol : ''));

    const images = await readCsvImages(file, { labelColumn });

    assert.deepEqual(Array.from(images.pixels), kPixels);
    assert.deepEqual(Array.from(images.labels), [1, 0]);
    assert.deepEqual([images.height, images.width, images.channels], [2, 2, 1]);
  });
}

test('an exact name wins over a name that differs only in case', async (t) => {
  const file = join(await temporaryFolder(t), 'rows.csv');
  await writeFile(file, ['label,p1,Label,p2,p3', '0,20,1,30,40'].join('\n'));

  const images = await readCsvImages(file, { labelColumn: 'Label' });

  assert.deepEqual(Array.from(images.labels), [1]);
  assert.deepEqual(Array.from(images.pixels), [0, 20, 30, 40]);
});

test('a byte order mark before the header is not part of the first name', async (t) => {
  const file = join(await temporaryFolder(t), 'rows.csv');
  await writeFile(file, '\uFEFFdigit,a,b,c,d\n7,2,3,4,5\n');

  const images = await readCsvImages(file, { labelColumn: 'digit' });

  assert.deepEqual(Array.from(images.labels), [7]);
  assert.deepEqual(Array.from(images.pixels), [2, 3, 4, 5]);
});

test('loadDataset passes the label column to the training and the test file', async (t) => {
  const folder = await temporaryFolder(t);
  const trainFile = join(folder, 'train.csv');
  const testFile = join(folder, 'test.csv');
  await writeFile(trainFile, ['p0,p1,digit,p2,p3', ...kRows].join('\n'));
  // the test file orders its columns differently; its header names the column too
  await writeFile(testFile, 'digit,p0,p1,p2,p3\n1,1,2,3,4\n');

  const splits = await loadDataset({ dataset: trainFile, test: testFile, labelColumn: 'digit' });

  assert.deepEqual(Array.from(splits.train.labels), [1, 0]);
  assert.deepEqual(Array.from(splits.test!.labels), [1]);
  assert.deepEqual(Array.from(splits.test!.pixels), [1, 2, 3, 4]);
});

test('a label column that is not there lists the header columns', async (t) => {
  const file = join(await temporaryFolder(t), 'rows.csv');
  await writeFile(file, ['p0,p1,digit,p2,p3', ...kRows].join('\n'));

  const error = await optionErrorOf(readCsvImages(file, { labelColumn: 'target' }));

  assert.equal(error.option, 'label-column');
  assert.equal(
    error.message,
    `--label-column target is not a column of ${file}, which has 5 columns; expected a name ` +
      `from its header ('p0', 'p1', 'digit', 'p2', 'p3') or a column number from 0 to 4`,
  );
});

test('a label column number past the last column, without a header, gives the count', async (t) => {
  const file = join(await temporaryFolder(t), 'rows.csv');
  await writeFile(file, kRows.join('\n'));

  const run = await runCli(['train', '--dataset', file, '--label-column', '5', '--epochs', '1']);

  assert.notEqual(run.status, 0);
  assert.ok(!hasStackTrace(run.stderr), run.stderr);
  assert.ok(
    run.stderr.includes(
      `--label-column 5 is not a column of ${file}, which has 5 columns; expected a column ` +
        'number from 0 to 4, since it has no header row to name columns',
    ),
    run.stderr,
  );
});
