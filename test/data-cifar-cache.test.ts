// CIFAR-10 folders syncgrad unpacks into the cache carry a manifest of each
// file's size and SHA-256: a damaged file or a missing manifest is reported in
// a notice and the folder is rebuilt, by path from the archive given, by name
// from the archive in the data folder or a new download.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';

import { loadCifar10 } from '../src/coordinator/data/cifar10.js';
import { loadDataset } from '../src/coordinator/data/index.js';
import type { LoadProgress } from '../src/coordinator/data/index.js';
import { assertCifarSplits, packArchive, writeCifarFolder } from './cifar-fixtures.js';
import { noticesOf, temporaryFolder, withoutDataDirVariable } from './data-fixtures.js';

const kArchive = 'cifar-10-binary.tar.gz';

/** A generated archive in a folder of its own, and its MD5. */
async function generatedArchive(t: TestContext) {
  const root = await temporaryFolder(t);
  await writeCifarFolder(join(root, 'build', 'cifar-10-batches-bin'));
  const archive = join(root, kArchive);
  const md5 = await packArchive(join(root, 'build'), archive);
  await rm(join(root, 'build'), { recursive: true });
  return { root, archive, md5 };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Flips the first pixel byte (byte 1, after the label) of `file` in `folder`,
 * which leaves the batch well formed, so only the manifest can tell. Returns
 * the notice a later load gives for it.
 */
async function flipPixel(folder: string, file: string): Promise<string> {
  const path = join(folder, file);
  const bytes = await readFile(path);
  const original = sha256(bytes);
  bytes[1] ^= 0xff;
  await writeFile(path, bytes);
  return (
    `${folder} is not what syncgrad unpacked there (${file} has SHA-256 ${sha256(bytes)}, ` +
    `but ${original} when unpacked); removing it to unpack ${kArchive} into it again`
  );
}

test('an archive given by path is unpacked with a manifest of sizes and SHA-256', async (t) => {
  const { archive } = await generatedArchive(t);
  const cacheDir = await temporaryFolder(t);

  await loadDataset({ dataset: archive, cacheDir });

  const [key] = await readdir(join(cacheDir, 'cifar10', 'archives'));
  const unpacked = join(cacheDir, 'cifar10', 'archives', key, 'cifar-10-batches-bin');
  const manifest = JSON.parse(await readFile(join(unpacked, 'syncgrad-manifest.json'), 'utf8'));
  const batch = await readFile(join(unpacked, 'data_batch_1.bin'));
  assert.equal(manifest.version, 1);
  assert.deepEqual(
    manifest.files.map((entry: { name: string }) => entry.name),
    [1, 2, 3, 4, 5]
      .map((number) => `data_batch_${number}.bin`)
      .concat(['test_batch.bin', 'batches.meta.txt']),
  );
  assert.deepEqual(manifest.files[0], {
    name: 'data_batch_1.bin',
    size: batch.length,
    sha256: sha256(batch),
  });
  // nothing but the files and the manifest: the temporary manifest was renamed
  assert.equal((await readdir(unpacked)).length, 8);
});

test('a flipped byte in a folder unpacked from an archive by path is noticed and rebuilt', async (t) => {
  const { archive } = await generatedArchive(t);
  const cacheDir = await temporaryFolder(t);
  await loadDataset({ dataset: archive, cacheDir });
  const [key] = await readdir(join(cacheDir, 'cifar10', 'archives'));
  const unpacked = join(cacheDir, 'cifar10', 'archives', key, 'cifar-10-batches-bin');
  const notice = await flipPixel(unpacked, 'data_batch_1.bin');
  const events: LoadProgress[] = [];

  const splits = await loadDataset({
    dataset: archive,
    cacheDir,
    onProgress: (event) => events.push(event),
  });

  assertCifarSplits(splits);
  assert.deepEqual(noticesOf(events), [notice, `unpacking ${archive} into ${unpacked}`]);
  // the rebuilt folder passes its check, so the next load reads it without a notice
  const quiet: LoadProgress[] = [];
  await loadDataset({ dataset: archive, cacheDir, onProgress: (event) => quiet.push(event) });
  assert.deepEqual(noticesOf(quiet), []);
});

test('a damaged cache folder of cifar10 is rebuilt from the archive in the data folder', async (t) => {
  withoutDataDirVariable(t);
  const { root: dataDir, archive, md5 } = await generatedArchive(t);
  const cacheDir = await temporaryFolder(t);
  const unpacked = join(cacheDir, 'cifar10', 'cifar-10-batches-bin');
  const load = (events: LoadProgress[]) =>
    loadCifar10({
      dataDir,
      cacheDir,
      download: false,
      archiveMd5: md5,
      onProgress: (event) => events.push(event),
    });
  await load([]);

  // a byte of the test batch flipped, then the manifest gone (as a copy made by hand has none)
  const flipped = await flipPixel(unpacked, 'test_batch.bin');
  const flippedEvents: LoadProgress[] = [];
  const rebuilt = await load(flippedEvents);
  await rm(join(unpacked, 'syncgrad-manifest.json'));
  const unlistedEvents: LoadProgress[] = [];
  const rebuiltAgain = await load(unlistedEvents);

  const unpacking = `unpacking ${archive} into ${unpacked}`;
  assertCifarSplits(rebuilt);
  assert.deepEqual(noticesOf(flippedEvents), [flipped, unpacking]);
  assertCifarSplits(rebuiltAgain);
  assert.deepEqual(noticesOf(unlistedEvents), [
    `${unpacked} is not what syncgrad unpacked there (it has no syncgrad-manifest.json); ` +
      `removing it to unpack ${kArchive} into it again`,
    unpacking,
  ]);
});

test('a damaged cache folder of cifar10 with no archive at hand is downloaded again', async (t) => {
  withoutDataDirVariable(t);
  const { archive, md5 } = await generatedArchive(t);
  const served = await readFile(archive);
  const server = createServer((_request, response) => response.end(served));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const cacheDir = await temporaryFolder(t);
  const unpacked = join(cacheDir, 'cifar10', 'cifar-10-batches-bin');
  const options = { cacheDir, download: true, baseUrl, archiveMd5: md5 };
  await loadCifar10(options);
  const notice = await flipPixel(unpacked, 'data_batch_5.bin');
  const events: LoadProgress[] = [];

  const splits = await loadCifar10({ ...options, onProgress: (event) => events.push(event) });

  assertCifarSplits(splits);
  const downloaded = join(cacheDir, 'cifar10', kArchive);
  assert.deepEqual(noticesOf(events), [notice, `unpacking ${downloaded} into ${unpacked}`]);
  assert.ok(events.some((event) => event.kind === 'download' && event.finished));
  assert.deepEqual(await readdir(join(cacheDir, 'cifar10')), ['cifar-10-batches-bin']);
});

test('a folder kept in the data folder is read as it is, with no manifest', async (t) => {
  withoutDataDirVariable(t);
  const dataDir = await temporaryFolder(t);
  await writeCifarFolder(join(dataDir, 'cifar-10-batches-bin'));
  const cacheDir = await temporaryFolder(t);
  const events: LoadProgress[] = [];

  const splits = await loadCifar10({
    dataDir,
    cacheDir,
    download: false,
    onProgress: (event) => events.push(event),
  });

  assertCifarSplits(splits);
  assert.deepEqual(events, []);
  assert.deepEqual(await readdir(join(dataDir, 'cifar-10-batches-bin')), [
    'batches.meta.txt',
    'data_batch_1.bin',
    'data_batch_2.bin',
    'data_batch_3.bin',
    'data_batch_4.bin',
    'data_batch_5.bin',
    'test_batch.bin',
  ]);
});
