// The test folder of a folder dataset (`--test`): every way it can be wrong is
// reported against --test, saying that a test set is a folder of class
// subfolders like the training folder.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { loadDataset } from '../src/coordinator/data/index.js';
import {
  datasetErrorOf,
  optionErrorOf,
  temporaryFolder,
  writeClassFolders,
} from './data-fixtures.js';

test('a named dataset as the test set is refused as a --test value', async (t) => {
  const train = await temporaryFolder(t);
  await writeClassFolders(train, { ant: 1, bee: 1 });

  const error = await optionErrorOf(
    loadDataset({ dataset: train, test: 'fashion-mnist', cacheDir: await temporaryFolder(t) }),
  );

  assert.equal(error.option, 'test');
  assert.equal(
    error.message,
    `--test fashion-mnist names a dataset, not a folder; a test set must be a folder of class ` +
      `subfolders like the training folder ${train}, so pass such a folder (or a manifest ` +
      `.csv) with --test, or leave --test out`,
  );
});

test('a test folder that does not exist is a --test error, not a dataset one', async (t) => {
  const train = await temporaryFolder(t);
  await writeClassFolders(train, { ant: 1, bee: 1 });
  const missing = join(train, 'no-such-test-set');

  const error = await optionErrorOf(
    loadDataset({ dataset: train, test: missing, cacheDir: await temporaryFolder(t) }),
  );

  assert.equal(error.option, 'test');
  assert.match(error.message, new RegExp(`^--test ${missing}: ${missing} does not exist`));
  assert.match(error.message, /a test set must be a folder of class subfolders like the training/);
  assert.doesNotMatch(error.message, /expected fashion-mnist/);
});

test('a test folder without class subfolders names --test and the training folder', async (t) => {
  const root = await temporaryFolder(t);
  await writeClassFolders(join(root, 'train'), { ant: 1, bee: 1 });
  await mkdir(join(root, 'test'));

  const { message, path } = await datasetErrorOf(
    loadDataset({
      dataset: join(root, 'train'),
      test: join(root, 'test'),
      cacheDir: await temporaryFolder(t),
    }),
  );

  assert.equal(path, join(root, 'test'));
  assert.match(message, new RegExp(`^test folder ${join(root, 'test')} \\(--test\\) has no class`));
  assert.ok(message.endsWith(`, like the training folder ${join(root, 'train')}`), message);
});
