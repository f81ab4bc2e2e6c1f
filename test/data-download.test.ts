// Downloading named datasets, against a real HTTP server on 127.0.0.1 serving
// small generated IDX files: success, wrong checksum, 404, a connection cut
// midway, a server that cannot be reached, and a file that cannot be written.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { loadDataset } from '../src/coordinator/data/index.js';
import type { LoadProgress } from '../src/coordinator/data/index.js';
import { downloadNamedDataset } from '../src/coordinator/data/named.js';
import type { Checksums } from '../src/coordinator/data/named.js';
import {
  datasetErrorOf,
  namedDatasetFiles,
  temporaryFolder,
  withoutDataDirVariable,
} from './data-fixtures.js';

const generated = namedDatasetFiles(true);

/** MD5 of each served file, keyed as the published checksums are (without `.gz`). */
const checksums = Object.fromEntries(
  Object.entries(generated.files).map(([name, bytes]) => [
    name.replace(/\.gz$/, ''),
    createHash('md5').update(bytes).digest('hex'),
  ]),
) as Checksums;

/*
 * Paths: /ok/<file> serves it, /cut/<file> announces the full length and then
 * drops the connection halfway, anything else answers 404.
 */
const server = createServer((request, response) => {
  const [, mode, file] = (request.url ?? '').split('/');
  const body = generated.files[file];
  if (body === undefined || (mode !== 'ok' && mode !== 'cut')) {
    response.writeHead(404, 'Not Found').end();
    return;
  }
  response.writeHead(200, { 'content-length': body.length });
  if (mode === 'ok') {
    response.end(body);
    return;
  }
  response.write(body.subarray(0, body.length >> 1), () => response.socket?.destroy());
});
let baseUrl = '';

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

/** The files a failed download left in the cache folder of mnist: there should be none. */
async function leftovers(cacheDir: string): Promise<string[]> {
  return readdir(join(cacheDir, 'mnist')).catch(() => []);
}

/** Fails when a failed download left `<cache>/mnist/` behind, even empty. */
function assertNoFolderLeft(cacheDir: string) {
  assert.equal(existsSync(join(cacheDir, 'mnist')), false, 'an empty mnist/ folder was left');
}

test('a download with the right checksums lands in the cache and loads', async (t) => {
  withoutDataDirVariable(t);
  const cacheDir = await temporaryFolder(t);
  const events: LoadProgress[] = [];

  await downloadNamedDataset('mnist', {
    cacheDir,
    baseUrl: `${baseUrl}/ok/`,
    checksums,
    onProgress: (event) => events.push(event),
  });

  assert.deepEqual((await leftovers(cacheDir)).sort(), Object.keys(generated.files).sort());
  const finished = events.filter((event) => event.kind === 'download' && event.finished);
  assert.deepEqual(
    finished.map((event) => event.kind === 'download' && [event.file, event.receivedBytes]),
    Object.entries(generated.files).map(([name, bytes]) => [name, bytes.length]),
  );
  const splits = await loadDataset({ dataset: 'mnist', cacheDir, download: false });
  assert.deepEqual(splits.train.pixels, generated.train.pixels);
  assert.deepEqual(splits.test?.labels, Int32Array.from(generated.test.labels));
});

test('a checksum mismatch deletes the file and says expected and got', async (t) => {
  withoutDataDirVariable(t);
  const cacheDir = await temporaryFolder(t);

  // the official checksums cannot match the generated files
  const { message } = await datasetErrorOf(
    loadDataset({ dataset: 'mnist', cacheDir, baseUrl: `${baseUrl}/ok/` }),
  );

  const served = checksums['train-images-idx3-ubyte'];
  assert.match(message, /^MNIST was not found/);
  const expected =
    `downloading ${baseUrl}/ok/train-images-idx3-ubyte.gz gave a file with the wrong ` +
    `checksum: expected md5 f68b3c2dcbeaaa9fbdd348bbdeb94873, got md5 ${served}`;
  assert.ok(message.includes(expected), message);
  assertNoFolderLeft(cacheDir);
});

test('a 404 answer is reported with its status and leaves nothing behind', async (t) => {
  const cacheDir = await temporaryFolder(t);

  const { message } = await datasetErrorOf(
    downloadNamedDataset('mnist', { cacheDir, baseUrl: `${baseUrl}/gone/`, checksums }),
  );

  assert.equal(
    message,
    `downloading ${baseUrl}/gone/train-images-idx3-ubyte.gz failed: the server answered ` +
      `404 Not Found`,
  );
  assertNoFolderLeft(cacheDir);
});

test('a connection cut mid-body leaves no file that looks complete', async (t) => {
  const cacheDir = await temporaryFolder(t);
  const events: LoadProgress[] = [];

  const { message } = await datasetErrorOf(
    downloadNamedDataset('mnist', {
      cacheDir,
      baseUrl: `${baseUrl}/cut/`,
      checksums,
      onProgress: (event) => events.push(event),
    }),
  );

  assert.match(message, /failed: the transfer broke off after \d+ of \d+ bytes/);
  assertNoFolderLeft(cacheDir);
  // a progress bar drawn for the file is told it is over, and that it failed
  const last = events.at(-1);
  assert.ok(last?.kind === 'download' && last.finished && last.failed, JSON.stringify(last));
  const earlier = events.slice(0, -1);
  assert.ok(earlier.every((event) => event.kind === 'download' && !event.failed));
});

test('an unreachable server gives the not-found error with the reason', async (t) => {
  withoutDataDirVariable(t);
  const cacheDir = await temporaryFolder(t);
  // a port that was just free: nothing listens there
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));

  const { message } = await datasetErrorOf(
    loadDataset({ dataset: 'mnist', cacheDir, baseUrl: `http://127.0.0.1:${port}/` }),
  );

  assert.match(message, /^MNIST was not found\. Looked for/);
  assert.match(message, /failed: the server could not be reached \(fetch failed.*\)/);
  assert.match(message, /run again once http:\/\/127\.0\.0\.1:\d+\/ can be reached/);
  // the not-found list said "(no such folder)" for the cache, and that stays true
  assert.ok(message.includes(`  - ${join(cacheDir, 'mnist')} (no such folder)\n`), message);
  assertNoFolderLeft(cacheDir);
});

test('a download that cannot be written is reported as such, not as not found', async (t) => {
  withoutDataDirVariable(t);
  const cacheDir = await temporaryFolder(t);
  // a folder where the part file goes: opening it for writing fails
  const part = join(cacheDir, 'mnist', 'train-images-idx3-ubyte.gz.part');
  await mkdir(part, { recursive: true });

  const error = await datasetErrorOf(
    loadDataset({ dataset: 'mnist', cacheDir, baseUrl: `${baseUrl}/ok/` }),
  );

  assert.equal(error.path, part);
  assert.match(
    error.message,
    new RegExp(`^cannot write the download ${part} \\(EISDIR: [^)]*\\); expected a cache folder`),
  );
  assert.match(error.message, /--cache-dir$/);
});
