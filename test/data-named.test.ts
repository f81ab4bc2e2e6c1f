// Finding Fashion-MNIST and MNIST on disk: the folders searched, in which
// order, what the error says when none has the files, and data folders named
// by option or variable that do not exist.
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { loadDataset } from '../src/coordinator/data/index.js';
import { loadNamedDataset } from '../src/coordinator/data/named.js';
import { OptionError } from '../src/shared/errors.js';
import type { LabelledImages } from '../src/shared/images.js';
import type { GeneratedSplit } from './data-fixtures.js';
import {
  datasetErrorOf,
  kNamedFiles,
  namedDatasetFiles,
  optionErrorOf,
  temporaryFolder,
  withoutDataDirVariable,
  writeNamedDataset,
} from './data-fixtures.js';

function assertSplit(actual: LabelledImages | undefined, expected: GeneratedSplit) {
  assert.ok(actual);
  assert.deepEqual(
    [actual.count, actual.height, actual.width, actual.channels],
    [expected.count, expected.height, expected.width, 1],
  );
  assert.deepEqual(actual.pixels, expected.pixels);
  assert.deepEqual(actual.labels, Int32Array.from(expected.labels));
}

test('raw files directly in the data folder are found', async (t) => {
  withoutDataDirVariable(t);
  const dataDir = await temporaryFolder(t);
  const generated = await writeNamedDataset(dataDir, false);

  const splits = await loadDataset({
    dataset: 'fashion-mnist',
    dataDir,
    cacheDir: await temporaryFolder(t),
    download: false,
  });

  assertSplit(splits.train, generated.train);
  assertSplit(splits.test, generated.test);
  assert.equal(splits.train.source, join(dataDir, kNamedFiles.trainImages));
  assert.deepEqual(splits.train.classNames, [
    'T-shirt/top',
    'Trouser',
    'Pullover',
    'Dress',
    'Coat',
    'Sandal',
    'Shirt',
    'Sneaker',
    'Bag',
    'Ankle boot',
  ]);
});

test("files spelled 'train-images.idx3-ubyte', as some mirrors name them, are found", async (t) => {
  withoutDataDirVariable(t);
  const dataDir = await temporaryFolder(t);
  const generated = namedDatasetFiles(true);
  for (const [name, bytes] of Object.entries(generated.files)) {
    await writeFile(join(dataDir, name.replace('-idx', '.idx')), bytes);
  }

  const splits = await loadDataset({
    dataset: 'mnist',
    dataDir,
    cacheDir: await temporaryFolder(t),
    download: false,
  });

  assertSplit(splits.train, generated.train);
  assertSplit(splits.test, generated.test);
  assert.equal(splits.train.source, join(dataDir, 'train-images.idx3-ubyte.gz'));
});

test('gzipped files in a <name>/ subfolder of the data folder are found', async (t) => {
  withoutDataDirVariable(t);
  const dataDir = await temporaryFolder(t);
  const generated = await writeNamedDataset(join(dataDir, 'mnist'), true);

  const splits = await loadDataset({
    dataset: 'mnist',
    dataDir,
    cacheDir: await temporaryFolder(t),
    download: false,
  });

  assertSplit(splits.train, generated.train);
  assert.equal(splits.train.source, join(dataDir, 'mnist', `${kNamedFiles.trainImages}.gz`));
  assert.deepEqual(splits.train.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
});

test('$SYNCGRAD_DATA_DIR is searched after the data folder option', async (t) => {
  withoutDataDirVariable(t);
  const variableDir = await temporaryFolder(t);
  await writeNamedDataset(variableDir, false);
  process.env.SYNCGRAD_DATA_DIR = variableDir;

  const splits = await loadDataset({
    dataset: 'mnist',
    dataDir: await temporaryFolder(t),
    cacheDir: await temporaryFolder(t),
    download: false,
  });

  assert.equal(splits.train.source, join(variableDir, kNamedFiles.trainImages));
});

test('the cache folder <cache>/<name>/ is searched', async (t) => {
  withoutDataDirVariable(t);
  const cacheDir = await temporaryFolder(t);
  await writeNamedDataset(join(cacheDir, 'mnist'), true);

  const splits = await loadDataset({ dataset: 'mnist', cacheDir, download: false });

  assert.equal(splits.train.source, join(cacheDir, 'mnist', `${kNamedFiles.trainImages}.gz`));
});

test('when no folder has the files, the error lists every place looked', async (t) => {
  withoutDataDirVariable(t);
  const dataDir = await temporaryFolder(t);
  const cacheDir = await temporaryFolder(t);
  // the cache holds three of the four files: not enough
  await writeNamedDataset(join(cacheDir, 'mnist'), true);
  await rm(join(cacheDir, 'mnist', `${kNamedFiles.testLabels}.gz`));

  const error = await datasetErrorOf(
    loadDataset({ dataset: 'mnist', dataDir, cacheDir, download: false }),
  );

  assert.equal(error.path, join(cacheDir, 'mnist'));
  const lines = error.message.split('\n');
  assert.match(lines[0], /^MNIST was not found\. Looked for the four files/);
  assert.deepEqual(lines.slice(1, 4), [
    `  - ${join(dataDir, 'mnist')} (no such folder)`,
    `  - ${dataDir} (none of the files)`,
    `  - ${join(cacheDir, 'mnist')} (missing ${kNamedFiles.testLabels})`,
  ]);
  assert.equal(lines[4], 'and could not download it: downloading is turned off.');
  assert.match(lines[5], /--data-dir .*SYNCGRAD_DATA_DIR.*allow the download from https:/);
});

test('the Fashion-MNIST error also lists the system folder and suggests its package', async (t) => {
  withoutDataDirVariable(t);
  const cacheDir = await temporaryFolder(t);
  // stands in for /usr/share/datasets/fashion-mnist, which may exist on this machine
  const systemFolder = join(cacheDir, 'usr-share-datasets-fashion-mnist');

  const { message } = await datasetErrorOf(
    loadNamedDataset('fashion-mnist', { cacheDir, download: false, systemFolders: [systemFolder] }),
  );

  assert.ok(message.includes(`  - ${systemFolder} (no such folder)\n`));
  assert.match(message, /apt-get install dataset-fashion-mnist/);
  assert.match(message, /fashion-mnist\.s3-website\.eu-central-1\.amazonaws\.com/);
});

test('a test folder with a named dataset is an option error', async (t) => {
  await assert.rejects(
    loadDataset({ dataset: 'mnist', test: '/tmp/x', cacheDir: await temporaryFolder(t) }),
    (error: unknown) => error instanceof OptionError && error.option === 'test',
  );
  await assert.rejects(
    loadDataset({ dataset: '' }),
    (error: unknown) => error instanceof OptionError && error.option === 'dataset',
  );
});

test('a --data-dir that does not exist or is a file is an option error', async (t) => {
  withoutDataDirVariable(t);
  const scratch = await temporaryFolder(t);
  const missing = join(scratch, 'missing');
  const file = join(scratch, 'a-file');
  await writeFile(file, 'not a folder');
  // the cache has the files: a fallback there must not hide the wrong option
  const cacheDir = await temporaryFolder(t);
  await writeNamedDataset(join(cacheDir, 'mnist'), true);
  const load = (dataDir: string) => loadDataset({ dataset: 'mnist', dataDir, cacheDir });

  const absent = await optionErrorOf(load(missing));
  const notFolder = await optionErrorOf(load(file));

  assert.equal(absent.option, 'data-dir');
  assert.equal(
    absent.message,
    `--data-dir ${missing} does not exist; expected a folder holding the MNIST files ` +
      `(directly or in a mnist/ subfolder), so pass an existing folder, or leave --data-dir out`,
  );
  assert.equal(notFolder.option, 'data-dir');
  assert.match(notFolder.message, new RegExp(`^--data-dir ${file} is not a folder; expected`));
});

test('$SYNCGRAD_DATA_DIR naming a missing folder is an option error naming it', async (t) => {
  withoutDataDirVariable(t);
  const missing = join(await temporaryFolder(t), 'missing');
  process.env.SYNCGRAD_DATA_DIR = missing;
  const cacheDir = await temporaryFolder(t);
  await writeNamedDataset(join(cacheDir, 'mnist'), true);

  const error = await optionErrorOf(loadDataset({ dataset: 'mnist', cacheDir }));

  assert.equal(
    error.message,
    `SYNCGRAD_DATA_DIR (${missing}) does not exist; expected a folder holding the MNIST ` +
      `files (directly or in a mnist/ subfolder), so point SYNCGRAD_DATA_DIR at an existing ` +
      `folder, or unset it`,
  );
});
