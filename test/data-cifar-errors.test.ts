// Damaged CIFAR-10 binary files and archives, each generated from a good
// folder with one fault: the error is a DatasetError naming the file, what was
// expected and what was found.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { create } from 'tar';

import { loadCifar10 } from '../src/coordinator/data/cifar10.js';
import { loadDataset } from '../src/coordinator/data/index.js';
import { packArchive, writeCifarFolder } from './cifar-fixtures.js';
import { datasetErrorOf, temporaryFolder, withoutDataDirVariable } from './data-fixtures.js';

/** 1 label byte + 32 x 32 x 3 pixel bytes. */
const kRecordBytes = 3073;

/** A good generated cifar-10-batches-bin/ folder, and a cache folder, for one test. */
async function goodFolder(t: TestContext) {
  const folder = join(await temporaryFolder(t), 'cifar-10-batches-bin');
  await writeCifarFolder(folder);
  return { folder, cacheDir: await temporaryFolder(t) };
}

test('a batch that is not whole records names its size and where the last record ends', async (t) => {
  const { folder, cacheDir } = await goodFolder(t);
  // data_batch_3.bin holds 8 records (kBatchRecords); 5 stray bytes follow them
  const batch = join(folder, 'data_batch_3.bin');
  await appendFile(batch, Buffer.alloc(5));

  const error = await datasetErrorOf(loadDataset({ dataset: folder, cacheDir }));

  assert.equal(error.path, batch);
  assert.ok(
    error.message.startsWith(
      `${batch} is ${8 * kRecordBytes + 5} bytes, not a whole number of records of 3073 ` +
        `bytes (a label byte, then 3072 pixel bytes): the last whole record ends at byte ` +
        `offset ${8 * kRecordBytes}, and 5 bytes follow it.`,
    ),
    error.message,
  );
});

test('an empty batch says it is empty', async (t) => {
  const { folder, cacheDir } = await goodFolder(t);
  const batch = join(folder, 'test_batch.bin');
  await truncate(batch, 0);

  const error = await datasetErrorOf(loadDataset({ dataset: folder, cacheDir }));

  assert.equal(error.path, batch);
  assert.match(error.message, new RegExp(`^${batch} is empty \\(0 bytes\\); expected records`));
});

test('a label byte past 9 names the record and its byte offset', async (t) => {
  const { folder, cacheDir } = await goodFolder(t);
  const batch = join(folder, 'data_batch_2.bin');
  const bytes = await readFile(batch);
  bytes[4 * kRecordBytes] = 12;
  await writeFile(batch, bytes);

  const error = await datasetErrorOf(loadDataset({ dataset: folder, cacheDir }));

  assert.equal(error.path, batch);
  assert.match(
    error.message,
    new RegExp(
      `^${batch}: record 4 \\(byte offset ${4 * kRecordBytes}\\) has label 12; ` +
        `expected a label 0\\.\\.9\\.`,
    ),
  );
});

test('a names file with fewer than ten names says how many it has', async (t) => {
  const { folder, cacheDir } = await goodFolder(t);
  const meta = join(folder, 'batches.meta.txt');
  await writeFile(meta, 'airplane\nautomobile\n\nbird\n');

  const error = await datasetErrorOf(loadDataset({ dataset: folder, cacheDir }));

  assert.equal(error.path, meta);
  assert.match(
    error.message,
    new RegExp(`^${meta} names 3 \\(airplane, automobile, bird\\) classes; expected 10`),
  );
});

test('a missing batch lists the files the folder does hold', async (t) => {
  const { folder, cacheDir } = await goodFolder(t);
  await rm(join(folder, 'data_batch_4.bin'));
  await writeFile(join(folder, 'readme.html'), '<p>');

  const error = await datasetErrorOf(loadDataset({ dataset: folder, cacheDir }));

  assert.equal(error.path, join(folder, 'data_batch_4.bin'));
  assert.match(
    error.message,
    new RegExp(
      `^the CIFAR-10 folder ${folder} lacks data_batch_4\\.bin; it holds only ` +
        `data_batch_1\\.bin, data_batch_2\\.bin, data_batch_3\\.bin, data_batch_5\\.bin, ` +
        `test_batch\\.bin, batches\\.meta\\.txt \\(and 1 other entries\\)\\. Expected`,
    ),
  );
});

test('an archive in the data folder with the wrong MD5 says which to delete', async (t) => {
  withoutDataDirVariable(t);
  const { folder, cacheDir } = await goodFolder(t);
  const dataDir = await temporaryFolder(t);
  const archive = join(dataDir, 'cifar-10-binary.tar.gz');
  const actual = await packArchive(join(folder, '..'), archive);
  const size = (await readFile(archive)).length;

  // the generated archive is checked against the official MD5, which it cannot have
  const error = await datasetErrorOf(loadCifar10({ dataDir, cacheDir, download: false }));

  assert.equal(error.path, archive);
  assert.equal(
    error.message,
    `${archive} has md5 ${actual} (${size} bytes), but the official cifar-10-binary.tar.gz ` +
      `has md5 c32a1d4ab5d03f1284b67883e8d87530; it is cut short or another file. Delete ` +
      `${archive} and run again to download it, or put the archive from ` +
      `https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz in its place`,
  );
  assert.equal(existsSync(join(cacheDir, 'cifar10')), false, 'something was unpacked');
});

test('an archive that is neither gzip nor tar says what it holds', async (t) => {
  const root = await temporaryFolder(t);
  const cacheDir = await temporaryFolder(t);
  const text = join(root, 'cifar-10-binary.tar.gz');
  await writeFile(text, '<html>Moved</html>\n');
  const gzippedText = join(root, 'other.tgz');
  await writeFile(gzippedText, gzipSync(Buffer.alloc(4096, 'not a tar header ')));

  const textError = await datasetErrorOf(loadDataset({ dataset: text, cacheDir }));
  const gzipError = await datasetErrorOf(loadDataset({ dataset: gzippedText, cacheDir }));

  assert.equal(textError.path, text);
  assert.match(
    textError.message,
    new RegExp(
      `^${text} is not a CIFAR-10 archive: it holds text starting "<html>Moved</html>\\\\n"; ` +
        `expected a gzipped tar`,
    ),
  );
  assert.equal(gzipError.path, gzippedText);
  assert.match(gzipError.message, /it holds gzip data that is not a tar archive; expected/);
});

test('an archive without cifar-10-batches-bin/ lists its top level and leaves no scratch', async (t) => {
  const { folder, cacheDir } = await goodFolder(t);
  const root = join(folder, '..');
  // the batch files at the archive's top level, not in the folder
  const archive = join(root, 'flat.tar.gz');
  await packArchive(folder, archive, '.');
  const archiveOfOther = join(root, 'other.tar');
  await writeFile(join(root, 'notes.txt'), 'hello');
  await create({ file: archiveOfOther, cwd: root }, ['notes.txt']);

  const flat = await datasetErrorOf(loadDataset({ dataset: archive, cacheDir }));
  const other = await datasetErrorOf(loadDataset({ dataset: archiveOfOther, cacheDir }));

  assert.equal(flat.path, archive);
  assert.match(
    flat.message,
    new RegExp(
      `^${archive} holds batches\\.meta\\.txt, data_batch_1\\.bin, data_batch_2\\.bin, ` +
        `data_batch_3\\.bin, data_batch_4\\.bin and 2 more but no cifar-10-batches-bin/ folder`,
    ),
  );
  assert.equal(other.path, archiveOfOther);
  assert.match(other.message, /holds notes\.txt but no cifar-10-batches-bin\/ folder/);
  // each unpack went into a scratch folder, which is gone again with the folders made for it
  assert.deepEqual(await readdir(cacheDir), []);
});

test('an archive cut short cannot be unpacked and leaves nothing in the cache', async (t) => {
  const { folder, cacheDir } = await goodFolder(t);
  const archive = join(folder, '..', 'cut.tar.gz');
  await packArchive(join(folder, '..'), archive);
  const bytes = await readFile(archive);
  await writeFile(archive, bytes.subarray(0, bytes.length >> 1));

  const error = await datasetErrorOf(loadDataset({ dataset: archive, cacheDir }));

  assert.equal(error.path, archive);
  // node-tar's error quotes zlib's reason, which is said once, not once more from its cause
  assert.ok(
    error.message.startsWith(
      `${archive} cannot be unpacked (zlib: unexpected end of file); expected the official`,
    ),
    error.message,
  );
  assert.deepEqual(await readdir(cacheDir), []);
});

/** What a checkout without `git lfs pull` leaves in place of a file: its pointer. */
function lfsPointer(bytes: Buffer): string {
  const oid = createHash('sha256').update(bytes).digest('hex');
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${bytes.length}\n`;
}

test('a Git LFS pointer in place of a batch or the names file says to run git lfs pull', async (t) => {
  const { folder, cacheDir } = await goodFolder(t);
  const batch = join(folder, 'data_batch_2.bin');
  const batchPointer = lfsPointer(await readFile(batch));
  await writeFile(batch, batchPointer);
  const meta = join(folder, 'batches.meta.txt');
  const metaPointer = lfsPointer(await readFile(meta));

  const batchError = await datasetErrorOf(loadDataset({ dataset: folder, cacheDir }));
  await writeFile(meta, metaPointer);
  const metaError = await datasetErrorOf(loadDataset({ dataset: folder, cacheDir }));

  assert.equal(batchError.path, batch);
  assert.equal(
    batchError.message,
    `${batch} is a Git LFS pointer (${batchPointer.length} bytes of text naming the real ` +
      `file), not CIFAR-10 records; run 'git lfs pull' in the repository it came from, or ` +
      `download the file itself`,
  );
  // the names are read before the batches, so a checkout of pointers is reported there first
  assert.equal(metaError.path, meta);
  assert.match(metaError.message, /is a Git LFS pointer \(\d+ bytes .*\), not the class names;/);
});

test('a hex dump or other text saved as a batch says what it holds', async (t) => {
  const { folder, cacheDir } = await goodFolder(t);
  const batch = join(folder, 'data_batch_4.bin');
  const bytes = await readFile(batch);

  // 'xxd -p' writes 60 hex digits a line
  await writeFile(batch, bytes.toString('hex').replace(/(.{60})/g, '$1\n'));
  const dump = await datasetErrorOf(loadDataset({ dataset: folder, cacheDir }));
  const html = '<!doctype html><title>404 Not Found</title>\n';
  await writeFile(batch, html);
  const page = await datasetErrorOf(loadDataset({ dataset: folder, cacheDir }));

  assert.equal(dump.path, batch);
  assert.match(dump.message, new RegExp(`a hex dump of a CIFAR-10 batch .*'xxd -r -p ${batch} `));
  assert.equal(page.path, batch);
  // the message quotes the first 40 characters and counts every byte
  assert.ok(
    page.message.startsWith(
      `${batch} holds text starting ${JSON.stringify(html.slice(0, 40))} (${html.length} ` +
        `bytes), not CIFAR-10 records; expected records of 3073 bytes`,
    ),
    page.message,
  );
});

test('a folder where a batch file belongs is named as a folder', async (t) => {
  const { folder, cacheDir } = await goodFolder(t);
  const batch = join(folder, 'data_batch_3.bin');
  await rm(batch);
  await mkdir(batch);

  const error = await datasetErrorOf(loadDataset({ dataset: folder, cacheDir }));

  assert.equal(error.path, batch);
  assert.equal(
    error.message,
    `${batch} is a folder, where the file data_batch_3.bin was expected; it is one of the ` +
      `files of cifar-10-batches-bin/ in the official archive cifar-10-binary.tar.gz, so ` +
      `move the folder away and put that file in its place`,
  );
});
