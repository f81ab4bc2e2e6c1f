// Small generated CIFAR-10 binary datasets for the tests: batch files of a few
// records with pixels given by a formula, the class-names file, a folder laid
// out like the official cifar-10-batches-bin/, a .tar.gz of it, and the check
// that loaded splits hold exactly those pixels.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { create } from 'tar';

import type { DatasetSplits } from '../src/shared/images.js';

export const kOfficialClassNames = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

/** Records per generated batch: five data batches, then the test batch. */
export const kBatchRecords = [6, 7, 8, 9, 10, 6];

const kImageBytes = 32 * 32 * 3;

/**
 * Value of colour `channel` at `pixel` (0..1023, row by row) of `record` of
 * batch `batch`. Both the file bytes (plane by plane) and the expected
 * interleaved pixels come from this one formula, so a reader that mixes up
 * planes, rows or records gets different numbers.
 */
export function channelValue(batch: number, record: number, pixel: number, channel: number) {
  return (batch * 53 + record * 31 + channel * 101 + pixel * 7) % 256;
}

export function labelOf(batch: number, record: number): number {
  return (batch * 3 + record) % 10;
}

/** One batch file's bytes: per record a label byte, then the red, green and blue planes. */
export function batchBytes(batch: number, records: number): Buffer {
  const bytes = Buffer.alloc(records * (1 + kImageBytes));
  for (let record = 0; record < records; record++) {
    const start = record * (1 + kImageBytes);
    bytes[start] = labelOf(batch, record);
    for (let channel = 0; channel < 3; channel++) {
      for (let pixel = 0; pixel < 1024; pixel++) {
        bytes[start + 1 + channel * 1024 + pixel] = channelValue(batch, record, pixel, channel);
      }
    }
  }
  return bytes;
}

export interface ExpectedSplit {
  count: number;
  /** Interleaved: each pixel's red, green and blue side by side. */
  pixels: Uint8Array;
  labels: Int32Array;
}

/** What reading `batches` (indexes into kBatchRecords) one after another must give. */
export function expectedSplit(batches: number[]): ExpectedSplit {
  const count = batches.reduce((sum, batch) => sum + kBatchRecords[batch], 0);
  const pixels = new Uint8Array(count * kImageBytes);
  const labels = new Int32Array(count);
  let image = 0;
  for (const batch of batches) {
    for (let record = 0; record < kBatchRecords[batch]; record++, image++) {
      labels[image] = labelOf(batch, record);
      for (let pixel = 0; pixel < 1024; pixel++) {
        for (let channel = 0; channel < 3; channel++) {
          pixels[image * kImageBytes + pixel * 3 + channel] = channelValue(
            batch,
            record,
            pixel,
            channel,
          );
        }
      }
    }
  }
  return { count, pixels, labels };
}

export const kTrain = expectedSplit([0, 1, 2, 3, 4]);
export const kTest = expectedSplit([5]);

/** Asserts `splits` are the generated folder's: every pixel, label and class name. */
export function assertCifarSplits(splits: DatasetSplits) {
  const { train, test } = splits;
  assert.ok(test);
  for (const [actual, expected] of [
    [train, kTrain],
    [test, kTest],
  ] as const) {
    assert.deepEqual(
      [actual.count, actual.height, actual.width, actual.channels],
      [expected.count, 32, 32, 3],
    );
    assert.deepEqual(actual.pixels, expected.pixels);
    assert.deepEqual(actual.labels, expected.labels);
    assert.deepEqual(actual.classNames, kOfficialClassNames);
  }
}

/**
 * Writes the six batch files and batches.meta.txt into `folder` (created),
 * the names file ending in blank lines as the official one does.
 */
export async function writeCifarFolder(folder: string): Promise<void> {
  await mkdir(folder, { recursive: true });
  const names = [1, 2, 3, 4, 5].map((number) => `data_batch_${number}.bin`);
  for (const [batch, name] of [...names, 'test_batch.bin'].entries()) {
    await writeFile(join(folder, name), batchBytes(batch, kBatchRecords[batch]));
  }
  await writeFile(join(folder, 'batches.meta.txt'), `${kOfficialClassNames.join('\n')}\n\n`);
}

/**
 * Packs `root`'s subfolder `entry` (by default cifar-10-batches-bin) into the
 * gzipped tar `archive` with node-tar, and returns the archive's MD5.
 */
export async function packArchive(
  root: string,
  archive: string,
  entry = 'cifar-10-batches-bin',
): Promise<string> {
  await create({ gzip: true, file: archive, cwd: root }, [entry]);
  return createHash('md5')
    .update(await readFile(archive))
    .digest('hex');
}
