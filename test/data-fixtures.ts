// Small generated datasets for the dataset-layer tests (IDX files in the
// layout of MNIST, folders of class subfolders), temporary folders removed
// after each test, a folder load that records its progress, and a way to
// catch the DatasetError or OptionError a load throws.
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';

import { loadDataset } from '../src/coordinator/data/index.js';
import type { LoadProgress } from '../src/coordinator/data/index.js';
import { DatasetError, OptionError } from '../src/shared/errors.js';

/** A fresh empty folder, deleted when the test ends. */
export async function temporaryFolder(t: TestContext): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'syncgrad-data-'));
  t.after(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

/**
 * Loads a folder dataset with a progress log, so tests can tell decoding from a
 * cache hit; `kinds` lists the kinds of event in the order they first came.
 */
export async function loadFolder(folder: string, cacheDir: string, test?: string) {
  const events: LoadProgress[] = [];
  const splits = await loadDataset({
    dataset: folder,
    test,
    cacheDir,
    onProgress: (event) => events.push(event),
  });
  const kinds = [...new Set(events.map((event) => event.kind))];
  return { splits, events, kinds, notices: noticesOf(events) };
}

/** The messages of the notice events among `events`. */
export function noticesOf(events: LoadProgress[]): string[] {
  return events.flatMap((event) => (event.kind === 'notice' ? [event.message] : []));
}

/**
 * Writes a small image-folder dataset: for each class of `layout`, a subfolder
 * with that many 2x2 RGB PNGs (`0.png`, `1.png`, ...), each of its own colour.
 */
export async function writeClassFolders(root: string, layout: Record<string, number>) {
  let seed = 0;
  for (const [name, count] of Object.entries(layout)) {
    await mkdir(join(root, name), { recursive: true });
    for (let image = 0; image < count; image++) {
      const pixels = Buffer.alloc(2 * 2 * 3, (seed++ * 37) % 256);
      const png = await sharp(pixels, { raw: { width: 2, height: 2, channels: 3 } })
        .png()
        .toBuffer();
      await writeFile(join(root, name, `${image}.png`), png);
    }
  }
}

/** An IDX file of unsigned bytes: magic 00 00 08 rank, big-endian sizes, values. */
export function idxBytes(dimensions: number[], values: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dimensions.length);
  header[2] = 0x08;
  header[3] = dimensions.length;
  dimensions.forEach((size, axis) => header.writeUInt32BE(size, 4 + 4 * axis));
  return Buffer.concat([header, values]);
}

/** Pixel `index` of a generated image set, so tests can predict every value. */
export function pixelValue(index: number): number {
  return (index * 7 + 3) % 256;
}

export interface GeneratedSplit {
  count: number;
  height: number;
  width: number;
  pixels: Uint8Array;
  labels: number[];
}

/** `count` images of 3x2 pixels with labels cycling through 0..9. */
export function generatedSplit(count: number, labelOffset = 0): GeneratedSplit {
  const height = 3;
  const width = 2;
  const pixels = Uint8Array.from({ length: count * height * width }, (_, index) =>
    pixelValue(index),
  );
  const labels = Array.from({ length: count }, (_, index) => (index + labelOffset) % 10);
  return { count, height, width, pixels, labels };
}

export const kNamedFiles = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};

/** The four files of a named dataset as `{ name.gz or name: bytes }`, gzipped or raw. */
export function namedDatasetFiles(gzip: boolean): {
  files: Record<string, Buffer>;
  train: GeneratedSplit;
  test: GeneratedSplit;
} {
  const train = generatedSplit(6);
  const test = generatedSplit(4, 3);
  const raw: Record<string, Buffer> = {
    [kNamedFiles.trainImages]: idxBytes([6, 3, 2], train.pixels),
    [kNamedFiles.trainLabels]: idxBytes([6], Uint8Array.from(train.labels)),
    [kNamedFiles.testImages]: idxBytes([4, 3, 2], test.pixels),
    [kNamedFiles.testLabels]: idxBytes([4], Uint8Array.from(test.labels)),
  };
  const files: Record<string, Buffer> = {};
  for (const [name, bytes] of Object.entries(raw)) {
    files[gzip ? `${name}.gz` : name] = gzip ? gzipSync(bytes) : bytes;
  }
  return { files, train, test };
}

/** Writes the generated files of a named dataset into `folder`. */
export async function writeNamedDataset(folder: string, gzip: boolean) {
  const generated = namedDatasetFiles(gzip);
  await mkdir(folder, { recursive: true });
  for (const [name, bytes] of Object.entries(generated.files)) {
    await writeFile(join(folder, name), bytes);
  }
  return generated;
}

/** Clears $SYNCGRAD_DATA_DIR for one test, so a developer's setting cannot leak in. */
export function withoutDataDirVariable(t: TestContext) {
  const saved = process.env.SYNCGRAD_DATA_DIR;
  delete process.env.SYNCGRAD_DATA_DIR;
  t.after(() => {
    if (saved === undefined) delete process.env.SYNCGRAD_DATA_DIR;
    else process.env.SYNCGRAD_DATA_DIR = saved;
  });
}

/** The DatasetError `promise` rejects with; fails the test when it resolves or throws another. */
export async function datasetErrorOf(promise: Promise<unknown>): Promise<DatasetError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DatasetError, `expected a DatasetError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a DatasetError, but loading succeeded');
}

/** The OptionError `promise` rejects with; fails the test when it resolves or throws another. */
export async function optionErrorOf(promise: Promise<unknown>): Promise<OptionError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof OptionError, `expected an OptionError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected an OptionError, but loading succeeded');
}
