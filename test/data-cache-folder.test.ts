// A cache folder that cannot be used: folder creation that fails cleanly (also
// on procfs, where Node's recursive mkdir never returns), folder datasets that
// load anyway with a notice, and named datasets that cannot be downloaded.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { ensureDirectory } from '../src/coordinator/data/common.js';
import { writeImageCache } from '../src/coordinator/data/image-cache.js';
import { loadDataset } from '../src/coordinator/data/index.js';
import {
  datasetErrorOf,
  loadFolder,
  temporaryFolder,
  withoutDataDirVariable,
  writeClassFolders,
} from './data-fixtures.js';

/** A folder under procfs: mkdir there fails with ENOENT although /proc exists. */
const kProcFolder = '/proc/syncgrad-cache';
const onProc = { skip: !existsSync('/proc/self') && 'no procfs on this system', timeout: 10_000 };

/** `promise`'s rejection, which must be an Error with a system error code. */
async function failureOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  const error = await promise.then(
    () => assert.fail('expected a failure'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof Error);
  return error;
}

test('ensureDirectory creates every missing folder and accepts existing ones', async (t) => {
  const root = await temporaryFolder(t);
  const deep = join(root, 'a', 'b', 'c');

  await ensureDirectory(deep);
  await ensureDirectory(deep);
  await ensureDirectory(root);

  assert.ok((await stat(deep)).isDirectory());
});

test('ensureDirectory under a regular file fails naming that file', async (t) => {
  const file = join(await temporaryFolder(t), 'a-file');
  await writeFile(file, 'not a folder');

  const direct = await failureOf(ensureDirectory(file));
  const below = await failureOf(ensureDirectory(join(file, 'images', 'more')));

  assert.equal(direct.code, 'ENOTDIR');
  assert.equal(direct.message, `${file} is not a folder`);
  assert.equal(below.code, 'ENOTDIR');
  assert.equal(below.message, `${file} is not a folder`);
});

test('ensureDirectory on procfs fails at once instead of retrying forever', onProc, async () => {
  const error = await failureOf(ensureDirectory(join(kProcFolder, 'images')));

  assert.equal(error.code, 'ENOENT');
  assert.equal(
    error.message,
    `${kProcFolder} cannot be created (ENOENT: no such file or directory)`,
  );
});

test('a failed cache write reports its cause, not the removal of its temporary file', async (t) => {
  const cacheDir = join(await temporaryFolder(t), 'cache-file');
  await writeFile(cacheDir, 'not a folder');
  const images = {
    count: 1,
    height: 1,
    width: 1,
    channels: 1,
    classNames: ['a', 'b'],
    labels: Int32Array.from([0]),
    pixels: Uint8Array.from([7]),
  };

  const error = await failureOf(
    writeImageCache(join(cacheDir, 'images', 'x.bin'), Buffer.alloc(32), '/data', images),
  );

  assert.equal(error.message, `${cacheDir} is not a folder`);
});

test('a folder dataset loads when its cache folder is a file, with one notice', async (t) => {
  const root = await temporaryFolder(t);
  await writeClassFolders(join(root, 'train'), { ant: 2, bee: 1 });
  await writeClassFolders(join(root, 'test'), { ant: 1, bee: 1 });
  const cacheDir = join(root, 'cache-file');
  await writeFile(cacheDir, 'not a folder');

  const loaded = await loadFolder(join(root, 'train'), cacheDir, join(root, 'test'));
  const reference = await loadFolder(join(root, 'train'), await temporaryFolder(t));

  assert.deepEqual(loaded.splits.train, reference.splits.train);
  assert.equal(loaded.splits.test?.count, 2);
  // the training folder's cache write fails first; the test folder's adds nothing
  assert.deepEqual(loaded.notices, [
    `the decoded-image cache in ${cacheDir} cannot be used: ${cacheDir} is not a folder; ` +
      `images are decoded without it, again on every run, so pass a writable folder with ` +
      `--cache-dir (or set SYNCGRAD_CACHE_DIR) to keep them`,
  ]);
});

test(
  'a folder dataset loads with its cache folder on procfs, without hanging',
  onProc,
  async (t) => {
    const root = await temporaryFolder(t);
    await writeClassFolders(root, { ant: 1, bee: 1 });

    const { splits, notices } = await loadFolder(root, kProcFolder);

    assert.equal(splits.train.count, 2);
    assert.equal(notices.length, 1);
    assert.match(notices[0], /^the decoded-image cache in \/proc\/syncgrad-cache cannot be used: /);
    assert.match(
      notices[0],
      /: \/proc\/syncgrad-cache cannot be created \(ENOENT: no such file or directory\); /,
    );
  },
);

test('a named dataset cannot be downloaded into a cache folder that is a file', async (t) => {
  withoutDataDirVariable(t);
  const cacheDir = join(await temporaryFolder(t), 'cache-file');
  await writeFile(cacheDir, 'not a folder');

  // nothing listens on port 9; the cache folder is refused before any connection
  const error = await datasetErrorOf(
    loadDataset({ dataset: 'mnist', cacheDir, baseUrl: 'http://127.0.0.1:9/' }),
  );

  assert.equal(error.path, cacheDir);
  assert.equal(
    error.message,
    `cannot download MNIST into the cache folder ${cacheDir}: ${cacheDir} is not a folder; ` +
      `expected a folder syncgrad can create and write to, so pass a writable folder with ` +
      `--cache-dir (or set SYNCGRAD_CACHE_DIR)`,
  );
});

test('a named dataset download into procfs fails at once', onProc, async (t) => {
  withoutDataDirVariable(t);

  const { message } = await datasetErrorOf(
    loadDataset({ dataset: 'mnist', cacheDir: kProcFolder, baseUrl: 'http://127.0.0.1:9/' }),
  );

  assert.match(message, /^cannot download MNIST into the cache folder \/proc\/syncgrad-cache: /);
  assert.match(message, /--cache-dir/);
});
