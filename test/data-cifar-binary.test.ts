// Loading CIFAR-10's binary version from generated batch files: by path (a
// folder or an archive), by name from the data folder, the cache or a download
// from a real HTTP server on 127.0.0.1, and one training run of the real CLI.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { loadCifar10 } from '../src/coordinator/data/cifar10.js';
import { loadDataset } from '../src/coordinator/data/index.js';
import type { LoadProgress } from '../src/coordinator/data/index.js';
import {
  assertCifarSplits,
  kOfficialClassNames,
  packArchive,
  writeCifarFolder,
} from './cifar-fixtures.js';
import {
  datasetErrorOf,
  optionErrorOf,
  temporaryFolder,
  withoutDataDirVariable,
} from './data-fixtures.js';
import { lastJsonLine, runCli, shortTrainArgs } from './helpers/cli.js';

/* The server's archive, built once: GET /ok/cifar-10-binary.tar.gz serves it, anything else 404. */
let archiveBytes = Buffer.alloc(0);
let archiveMd5 = '';
let baseUrl = '';
const server = createServer((request, response) => {
  if (request.url !== '/ok/cifar-10-binary.tar.gz') {
    response.writeHead(404, 'Not Found').end();
    return;
  }
  response.writeHead(200, { 'content-length': archiveBytes.length }).end(archiveBytes);
});

before(async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'syncgrad-cifar-served-'));
  await writeCifarFolder(join(scratch, 'cifar-10-batches-bin'));
  archiveMd5 = await packArchive(scratch, join(scratch, 'served.tar.gz'));
  archiveBytes = await readFile(join(scratch, 'served.tar.gz'));
  await rm(scratch, { recursive: true, force: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

test('a cifar-10-batches-bin folder, or the folder holding it, loads as --dataset', async (t) => {
  const root = await temporaryFolder(t);
  const folder = join(root, 'cifar-10-batches-bin');
  await writeCifarFolder(folder);
  const cacheDir = await temporaryFolder(t);

  const direct = await loadDataset({ dataset: folder, cacheDir });
  const parent = await loadDataset({ dataset: root, cacheDir });

  assertCifarSplits(direct);
  assertCifarSplits(parent);
  assert.equal(direct.train.source, join(folder, 'data_batch_[1-5].bin'));
  assert.equal(direct.test?.source, join(folder, 'test_batch.bin'));
});

test('cifar10 and cifar-10 are found in the data folder, directly or in a subfolder', async (t) => {
  withoutDataDirVariable(t);
  const cacheDir = await temporaryFolder(t);
  for (const subfolder of ['', 'cifar-10-batches-bin', 'cifar10']) {
    const dataDir = await temporaryFolder(t);
    await writeCifarFolder(join(dataDir, subfolder));

    const splits = await loadDataset({ dataset: 'cifar10', dataDir, cacheDir, download: false });
    const alias = await loadDataset({ dataset: 'cifar-10', dataDir, cacheDir, download: false });

    assertCifarSplits(splits);
    assert.equal(alias.test?.source, join(dataDir, subfolder, 'test_batch.bin'));
  }
});

test('an archive in the data folder is checked, unpacked into the cache, then found there', async (t) => {
  withoutDataDirVariable(t);
  const dataDir = await temporaryFolder(t);
  await writeCifarFolder(join(dataDir, 'build', 'cifar-10-batches-bin'));
  const md5 = await packArchive(join(dataDir, 'build'), join(dataDir, 'cifar-10-binary.tar.gz'));
  await rm(join(dataDir, 'build'), { recursive: true });
  const cacheDir = await temporaryFolder(t);
  const events: LoadProgress[] = [];

  const splits = await loadCifar10({
    dataDir,
    cacheDir,
    download: false,
    archiveMd5: md5,
    onProgress: (event) => events.push(event),
  });
  const again = await loadDataset({ dataset: 'cifar10', cacheDir, download: false });

  assertCifarSplits(splits);
  const unpacked = join(cacheDir, 'cifar10', 'cifar-10-batches-bin');
  assert.equal(splits.test?.source, join(unpacked, 'test_batch.bin'));
  assert.equal(again.test?.source, join(unpacked, 'test_batch.bin'));
  // no scratch folder of the unpack is left beside it
  assert.deepEqual(await readdir(join(cacheDir, 'cifar10')), ['cifar-10-batches-bin']);
  assert.deepEqual(events, [
    {
      kind: 'notice',
      message: `unpacking ${join(dataDir, 'cifar-10-binary.tar.gz')} into ${unpacked}`,
    },
  ]);
});

test('an archive given as --dataset loads, and a --test beside it is an option error', async (t) => {
  const root = await temporaryFolder(t);
  await writeCifarFolder(join(root, 'cifar-10-batches-bin'));
  const archive = join(root, 'cifar-10-binary.tar.gz');
  await packArchive(root, archive);
  const cacheDir = await temporaryFolder(t);

  const splits = await loadDataset({ dataset: archive, cacheDir });
  const error = await optionErrorOf(loadDataset({ dataset: archive, test: root, cacheDir }));

  assertCifarSplits(splits);
  assert.equal(error.option, 'test');
  assert.match(error.message, /which brings its own test set/);
});

test('a download with the right MD5 is unpacked into the cache and the archive deleted', async (t) => {
  withoutDataDirVariable(t);
  const cacheDir = await temporaryFolder(t);
  const events: LoadProgress[] = [];

  const splits = await loadCifar10({
    cacheDir,
    download: true,
    baseUrl: `${baseUrl}/ok/`,
    archiveMd5,
    onProgress: (event) => events.push(event),
  });

  assertCifarSplits(splits);
  assert.deepEqual(await readdir(join(cacheDir, 'cifar10')), ['cifar-10-batches-bin']);
  const downloads = events.filter((event) => event.kind === 'download');
  const last = downloads.at(-1);
  assert.ok(last?.kind === 'download' && last.finished && !last.failed, JSON.stringify(last));
  assert.equal(last.url, `${baseUrl}/ok/cifar-10-binary.tar.gz`);
  assert.equal(last.receivedBytes, archiveBytes.length);
  assert.equal(last.totalBytes, archiveBytes.length);
  // a later run finds the unpacked folder without the server
  const again = await loadDataset({ dataset: 'cifar10', cacheDir, download: false });
  assertCifarSplits(again);
});

test('a download whose MD5 is not the published one is deleted and reported', async (t) => {
  withoutDataDirVariable(t);
  const cacheDir = await temporaryFolder(t);

  // the generated archive cannot have the official archive's MD5
  const { message } = await datasetErrorOf(
    loadDataset({ dataset: 'cifar10', cacheDir, baseUrl: `${baseUrl}/ok/` }),
  );

  assert.match(message, /^CIFAR-10 was not found\. Looked for/);
  const expected =
    `downloading ${baseUrl}/ok/cifar-10-binary.tar.gz gave a file with the wrong checksum: ` +
    `expected md5 c32a1d4ab5d03f1284b67883e8d87530, got md5 ${archiveMd5}`;
  assert.ok(message.includes(expected), message);
  assert.equal(existsSync(join(cacheDir, 'cifar10')), false, 'a cifar10/ cache folder was left');
});

test('with downloads turned off, the error lists every place looked and how to fix it', async (t) => {
  withoutDataDirVariable(t);
  const dataDir = await temporaryFolder(t);
  const cacheDir = await temporaryFolder(t);

  const error = await datasetErrorOf(
    loadDataset({ dataset: 'cifar10', dataDir, cacheDir, download: false }),
  );

  const cache = join(cacheDir, 'cifar10');
  assert.equal(error.path, cache);
  const lines = error.message.split('\n');
  assert.match(lines[0], /^CIFAR-10 was not found\. Looked for data_batch_1\.bin, .*batches\.meta/);
  assert.deepEqual(lines.slice(1, -2), [
    `  - ${dataDir} (none of the files)`,
    `  - ${join(dataDir, 'cifar-10-batches-bin')} (no such folder)`,
    `  - ${join(dataDir, 'cifar10')} (no such folder)`,
    `  - ${join(dataDir, 'cifar10', 'cifar-10-batches-bin')} (no such folder)`,
    `  - ${join(cache, 'cifar-10-batches-bin')} (no such folder)`,
    `  - ${join(dataDir, 'cifar-10-binary.tar.gz')} (no such file)`,
    `  - ${join(dataDir, 'cifar10', 'cifar-10-binary.tar.gz')} (no such file)`,
    `  - ${join(cache, 'cifar-10-binary.tar.gz')} (no such file)`,
  ]);
  assert.equal(lines.at(-2), 'and could not download it: downloading is turned off.');
  assert.match(
    lines.at(-1) ?? '',
    /--data-dir .*allow the download of https:\/\/www\.cs\.toronto\.edu\/~kriz\/cifar-10-binary/,
  );
});

test('the CLI trains one epoch on a CIFAR-10 folder and reports it as JSON', async (t) => {
  const root = await temporaryFolder(t);
  const folder = join(root, 'cifar-10-batches-bin');
  await writeCifarFolder(folder);
  const cacheDir = await temporaryFolder(t);

  const run = await runCli(shortTrainArgs(folder), { SYNCGRAD_CACHE_DIR: cacheDir });

  assert.equal(run.status, 0, run.stderr);
  const report = lastJsonLine(run.stdout);
  assert.equal(report.workers, 2);
  assert.equal(report.epochs, 1);
  assert.equal(report.globalBatch, 8);
  // 40 training records (6 + 7 + 8 + 9 + 10) in batches of 8; the test batch is no validation
  assert.equal(report.steps, 5);
  assert.equal(report.testSource, 'test');
  // the test batch's labels are labelOf(5, record) for records 0..5: 5, 6, 7, 8, 9, 0
  const perClass = report.perClass as { className: string; total: number }[];
  assert.deepEqual(
    perClass.map((entry) => [entry.className, entry.total]),
    kOfficialClassNames.map((name, label) => [name, [0, 5, 6, 7, 8, 9].includes(label) ? 1 : 0]),
  );
  assert.ok(Number.isFinite(report.testLoss), `test loss ${report.testLoss}`);
  assert.match(run.stderr, /train\s+40 images from .*data_batch_\[1-5\]\.bin/);
  assert.match(run.stderr, /images 32x32x3, 10 classes/);
});
