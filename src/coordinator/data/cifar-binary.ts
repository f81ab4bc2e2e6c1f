// Reads the binary version of CIFAR-10 from a folder of its batch files: five
// training batches, one test batch and the class names, each record a label
// byte and a 32x32 image stored plane by plane, turned into interleaved RGB.
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DatasetError } from '../../shared/errors.js';
import { sharedPixels } from '../../shared/images.js';
import type { DatasetSplits, LabelledImages } from '../../shared/images.js';
import { describe, errorCode } from './common.js';
import { describeBytes, isText, rejectSavedText } from './saved-text.js';

export const kCifarTrainBatches = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
] as const;
export const kCifarTestBatch = 'test_batch.bin';
/** The class names, one per line, in label order. */
export const kCifarMetaFile = 'batches.meta.txt';
/** Every file a complete CIFAR-10 binary folder holds. */
export const kCifarFiles = [...kCifarTrainBatches, kCifarTestBatch, kCifarMetaFile];

const kSide = 32;
const kChannels = 3;
/** Pixels of one colour plane: a 32x32 image, row by row. */
const kPlaneBytes = kSide * kSide;
const kImageBytes = kPlaneBytes * kChannels;
/** A record: one label byte, then the red, the green and the blue plane. */
const kRecordBytes = 1 + kImageBytes;
const kClassCount = 10;

/** How messages about a text file saved in place of a batch speak of the batch. */
const kBatchKind = { data: 'CIFAR-10 records', file: 'a CIFAR-10 batch', restored: 'out.bin' };
const kNamesKind = { data: 'the class names', file: 'the class names', restored: kCifarMetaFile };
/** Enough of a file to tell text from records: the first record's label and pixels. */
const kTextSniffBytes = 512;

/** The files of `kCifarFiles` that `folder` lacks. */
export function missingCifarFiles(folder: string): string[] {
  return kCifarFiles.filter((file) => !existsSync(join(folder, file)));
}

/**
 * Reads the training set (the five data batches, in order) and the test set
 * of the CIFAR-10 binary folder `folder`. A missing file, a batch that is not
 * whole records, a label past 9 or too few class names is a DatasetError
 * naming the file.
 */
export async function readCifarFolder(folder: string): Promise<DatasetSplits> {
  await checkComplete(folder);
  const classNames = await readClassNames(join(folder, kCifarMetaFile));
  const [train, test] = await Promise.all([
    readBatches(
      kCifarTrainBatches.map((file) => join(folder, file)),
      join(folder, 'data_batch_[1-5].bin'),
      classNames,
    ),
    readBatches([join(folder, kCifarTestBatch)], join(folder, kCifarTestBatch), classNames),
  ]);
  return { train, test };
}

async function checkComplete(folder: string): Promise<void> {
  const missing = missingCifarFiles(folder);
  if (missing.length === 0) return;
  const present = kCifarFiles.filter((file) => !missing.includes(file));
  const entries = await readdir(folder).catch(() => [] as string[]);
  const others = entries.filter((entry) => !present.includes(entry)).length;
  const holds =
    present.length === 0
      ? 'none of them'
      : `only ${present.join(', ')}${others > 0 ? ` (and ${others} other entries)` : ''}`;
  throw new DatasetError(
    join(folder, missing[0]),
    `the CIFAR-10 folder ${folder} lacks ${missing.join(', ')}; it holds ${holds}. Expected ` +
      `${kCifarFiles.join(', ')}, as in cifar-10-batches-bin/ of the official archive ` +
      `cifar-10-binary.tar.gz, so copy the missing files in or unpack the archive again`,
  );
}

/** The first ten non-empty lines of the names file; the official one ends in blank lines. */
async function readClassNames(path: string): Promise<string[]> {
  const bytes = await readBytes(path);
  rejectSavedText(bytes, path, kNamesKind);
  const text = bytes.toString('utf8');
  const names = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (names.length < kClassCount) {
    const found = names.length === 0 ? 'none' : `${names.length} (${names.join(', ')})`;
    throw new DatasetError(
      path,
      `${path} names ${found} classes; expected ${kClassCount} class names, one per line, ` +
        `as in the official batches.meta.txt (airplane, automobile, ... truck), so restore ` +
        `that file from the archive`,
    );
  }
  return names.slice(0, kClassCount);
}

/**
 * Reads `paths` one after another into one set of interleaved images. The
 * sizes come first, so the pixels are allocated once and each batch is
 * converted and dropped before the next is read: the load never holds more
 * than one raw batch beside the result.
 */
async function readBatches(
  paths: string[],
  source: string,
  classNames: string[],
): Promise<LabelledImages> {
  const sizes = await Promise.all(paths.map(fileSize));
  const count = sizes.reduce((sum, size) => sum + Math.floor(size / kRecordBytes), 0);
  const pixels = sharedPixels(count * kImageBytes);
  const labels = new Int32Array(count);

  let image = 0;
  for (const path of paths) {
    const batch = checkBatch(path, await readBytes(path));
    if (image + batch.length / kRecordBytes > count) {
      throw new DatasetError(path, `${path} grew while it was read; load it again`);
    }
    for (let record = 0; record < batch.length / kRecordBytes; record++, image++) {
      const start = record * kRecordBytes;
      labels[image] = batch[start];
      // the planes R, G, B become pixels R G B, R G B, ... of the same order
      const planes = start + 1;
      const out = image * kImageBytes;
      for (let pixel = 0; pixel < kPlaneBytes; pixel++) {
        pixels[out + pixel * kChannels] = batch[planes + pixel];
        pixels[out + pixel * kChannels + 1] = batch[planes + kPlaneBytes + pixel];
        pixels[out + pixel * kChannels + 2] = batch[planes + 2 * kPlaneBytes + pixel];
      }
    }
  }
  const shape = { height: kSide, width: kSide, channels: kChannels };
  return { pixels, labels, count, ...shape, classNames: [...classNames], source };
}

async function fileSize(path: string): Promise<number> {
  let stats;
  try {
    stats = await stat(path);
  } catch (error) {
    throw unreadable(path, error);
  }
  if (stats.isDirectory()) throw folderInPlace(path);
  return stats.size;
}

/** Returns `bytes` when they are whole records with labels 0..9, else throws naming `path`. */
function checkBatch(path: string, bytes: Buffer): Buffer {
  const layout = `records of ${kRecordBytes} bytes (a label byte, then 3072 pixel bytes)`;
  if (bytes.length === 0) {
    throw new DatasetError(
      path,
      `${path} is empty (0 bytes); expected ${layout}, usually 10000 of them. The copy or ` +
        `unpack that wrote it probably failed, so unpack cifar-10-binary.tar.gz again`,
    );
  }
  // a batch starts with a label byte 0..9, which no text file starts with
  // (9 is a tab), so only such a file is looked at as text
  if (bytes[0] >= kClassCount) {
    rejectSavedText(bytes, path, kBatchKind);
    if (isText(bytes.subarray(0, kTextSniffBytes))) {
      throw new DatasetError(
        path,
        `${path} holds ${describeBytes(bytes)} (${bytes.length} bytes), not CIFAR-10 ` +
          `records; expected ${layout}. Some other file was saved under its name, so ` +
          `unpack cifar-10-binary.tar.gz again`,
      );
    }
  }
  const leftover = bytes.length % kRecordBytes;
  if (leftover !== 0) {
    const wholeEnd = bytes.length - leftover;
    throw new DatasetError(
      path,
      `${path} is ${bytes.length} bytes, not a whole number of ${layout}: the last whole ` +
        `record ends at byte offset ${wholeEnd}, and ${leftover} bytes follow it. The file ` +
        `is cut short or not a CIFAR-10 batch, so unpack cifar-10-binary.tar.gz again`,
    );
  }
  for (let record = 0; record * kRecordBytes < bytes.length; record++) {
    const label = bytes[record * kRecordBytes];
    if (label >= kClassCount) {
      throw new DatasetError(
        path,
        `${path}: record ${record} (byte offset ${record * kRecordBytes}) has label ` +
          `${label}; expected a label 0..9. The file is damaged or not a CIFAR-10 batch ` +
          `(CIFAR-100 records have two label bytes), so unpack cifar-10-binary.tar.gz again`,
      );
    }
  }
  return bytes;
}

async function readBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw unreadable(path, error);
  }
}

function unreadable(path: string, error: unknown): DatasetError {
  if (errorCode(error) === 'EISDIR') return folderInPlace(path);
  return new DatasetError(path, `cannot read ${path} (${describe(error)}); check its permissions`);
}

function folderInPlace(path: string): DatasetError {
  return new DatasetError(
    path,
    `${path} is a folder, where the file ${basename(path)} was expected; it is one of the ` +
      `files of cifar-10-batches-bin/ in the official archive cifar-10-binary.tar.gz, so ` +
      `move the folder away and put that file in its place`,
  );
}
