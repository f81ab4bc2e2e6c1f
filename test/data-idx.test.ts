// Reading IDX files, raw and gzipped, and the error each kind of damage gives.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { readIdxImages, readIdxLabels } from '../src/coordinator/data/idx.js';
import { datasetErrorOf, generatedSplit, idxBytes, temporaryFolder } from './data-fixtures.js';

/** Asserts `promise` rejects with a DatasetError that names `file` and matches `pattern`. */
async function rejectsNaming(promise: Promise<unknown>, file: string, pattern: RegExp) {
  const error = await datasetErrorOf(promise);
  assert.equal(error.path, file);
  assert.ok(error.message.includes(file), `message does not name ${file}: ${error.message}`);
  assert.match(error.message, pattern);
}

for (const gzip of [false, true]) {
  test(`images and labels round-trip through ${gzip ? 'gzipped' : 'raw'} IDX files`, async (t) => {
    const folder = await temporaryFolder(t);
    const split = generatedSplit(5);
    const encode = (bytes: Buffer) => (gzip ? gzipSync(bytes) : bytes);
    // the names say nothing about compression: the gzip magic bytes decide
    const imagesFile = join(folder, 'images.idx');
    const labelsFile = join(folder, 'labels.idx');
    await writeFile(imagesFile, encode(idxBytes([5, 3, 2], split.pixels)));
    await writeFile(labelsFile, encode(idxBytes([5], Uint8Array.from(split.labels))));

    const images = await readIdxImages(imagesFile);
    const labels = await readIdxLabels(labelsFile, images.count, imagesFile, 10);

    assert.deepEqual([images.count, images.height, images.width], [5, 3, 2]);
    assert.deepEqual(images.pixels, split.pixels);
    assert.equal(images.pixels.byteOffset, 0);
    assert.equal(images.pixels.buffer.byteLength, 5 * 3 * 2);
    assert.deepEqual(labels, Int32Array.from(split.labels));
  });
}

test('a wrong magic number names the file and the bytes found', async (t) => {
  const file = join(await temporaryFolder(t), 'train-images-idx3-ubyte');
  const bytes = idxBytes([2, 2, 2], new Uint8Array(8));
  bytes[1] = 0x42; // not the two zero bytes every IDX file starts with
  await writeFile(file, bytes);

  await rejectsNaming(readIdxImages(file), file, /expected magic 00 00 08 03, found 00 42 08 03/);
});

test('an IDX file of another element type says which type it holds', async (t) => {
  const file = join(await temporaryFolder(t), 'train-images-idx3-ubyte');
  const bytes = idxBytes([2, 2, 2], new Uint8Array(32));
  bytes[2] = 0x0d; // 32-bit floats instead of unsigned bytes
  await writeFile(file, bytes);

  await rejectsNaming(readIdxImages(file), file, /IDX file of 32-bit floats \(type 0d\)/);
});

test('an empty file says it is empty', async (t) => {
  const file = join(await temporaryFolder(t), 'train-labels-idx1-ubyte');
  await writeFile(file, '');

  await rejectsNaming(readIdxLabels(file, 0, 'images', 10), file, /is empty \(0 bytes\)/);
});

test('a Git LFS pointer in place of the data says so and how to fetch the file', async (t) => {
  const file = join(await temporaryFolder(t), 'train-images-idx3-ubyte.gz');
  await writeFile(
    file,
    'version https://git-lfs.github.com/spec/v1\n' +
      'oid sha256:8d4fb7e6c68d591d4c3dfef9ec88bf0d\nsize 26421880\n',
  );

  await rejectsNaming(readIdxImages(file), file, /Git LFS pointer .*git lfs pull/);
});

test('a text hex dump saved under an IDX name is recognized, plain or in xxd format', async (t) => {
  const folder = await temporaryFolder(t);
  const binary = idxBytes([2, 2, 2], new Uint8Array(8));
  const plain = join(folder, 'plain-images-idx3-ubyte');
  await writeFile(plain, binary.toString('hex').replace(/(.{8})/g, '$1 ') + '\n');
  await rejectsNaming(readIdxImages(plain), plain, /hex dump .*'xxd -r -p /);

  const xxd = join(folder, 'xxd-images.idx3-ubyte');
  await writeFile(xxd, '00000000: 0000 0803 0000 0002 0000 0002 0000 0002  ................\n');
  await rejectsNaming(readIdxImages(xxd), xxd, /hex dump .*'xxd -r /);
});

test('a labels file read as images reports the rank mismatch', async (t) => {
  const file = join(await temporaryFolder(t), 'labels');
  await writeFile(file, idxBytes([4], new Uint8Array(4)));

  await rejectsNaming(readIdxImages(file), file, /3 dimension\(s\).*found 00 00 08 01/);
});

test('a truncated file says how many bytes were declared and found', async (t) => {
  const file = join(await temporaryFolder(t), 'train-images-idx3-ubyte');
  const bytes = idxBytes([3, 2, 2], new Uint8Array(12));
  await writeFile(file, bytes.subarray(0, bytes.length - 5));

  await rejectsNaming(
    readIdxImages(file),
    file,
    /is truncated: its header declares 3x2x2 = 12 values, found 7 bytes after the header; re-/,
  );
});

test('a file cut inside its header is reported as truncated', async (t) => {
  const file = join(await temporaryFolder(t), 'images');
  await writeFile(file, idxBytes([3, 2, 2], new Uint8Array(12)).subarray(0, 9));

  await rejectsNaming(readIdxImages(file), file, /truncated: expected a 16-byte header, found 9/);
});

test('label and image counts must match', async (t) => {
  const folder = await temporaryFolder(t);
  const imagesFile = join(folder, 'images');
  const labelsFile = join(folder, 'labels');
  await writeFile(imagesFile, idxBytes([3, 1, 1], new Uint8Array(3)));
  await writeFile(labelsFile, idxBytes([4], new Uint8Array(4)));

  const images = await readIdxImages(imagesFile);
  await rejectsNaming(
    readIdxLabels(labelsFile, images.count, imagesFile, 10),
    labelsFile,
    /has 4 labels but .*images has 3 images/,
  );
});

test('a label outside the class range is rejected', async (t) => {
  const file = join(await temporaryFolder(t), 'labels');
  await writeFile(file, idxBytes([3], Uint8Array.from([1, 12, 0])));

  await rejectsNaming(readIdxLabels(file, 3, 'images', 10), file, /label 12 at position 1/);
});

test('a truncated gzip file gets a DatasetError, not a raw zlib error', async (t) => {
  const file = join(await temporaryFolder(t), 'train-images-idx3-ubyte.gz');
  const packed = gzipSync(idxBytes([10, 4, 4], new Uint8Array(160).fill(9)));
  await writeFile(file, packed.subarray(0, Math.floor(packed.length / 2)));

  await rejectsNaming(readIdxImages(file), file, /cannot be unpacked .*truncated or damaged/);
});

test('a missing file is a DatasetError naming it', async (t) => {
  const file = join(await temporaryFolder(t), 'absent');

  await rejectsNaming(readIdxImages(file), file, /cannot read IDX file/);
});
