// How image files become pixels: JPEGs within their encoding error of the
// source, PNGs exact, the channels rule (gray, colour, alpha), the fallback to
// sharp, undecodable files, and many files split over the decoding threads.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import sharp from 'sharp';

import { loadDataset } from '../src/coordinator/data/index.js';
import type { LoadProgress } from '../src/coordinator/data/index.js';
import { datasetErrorOf, loadFolder, temporaryFolder } from './data-fixtures.js';

/**
 * Largest mean absolute error, in 8-bit levels, allowed between a JPEG's
 * decoded pixels and the pixels it was encoded from. At quality 100 without
 * chroma subsampling every quantization step is 1, so what remains is rounding
 * through YCbCr and the DCT: over 50 of these noisy images it measured at most
 * 0.83 with jpeg-js and 0.86 with sharp's own decoder. A decoder that mixed up
 * channels, rows or blocks lands far above it (tens of levels).
 */
const kJpegTolerance = 1.5;

/** Raw pixels of image `seed`, with `channels` interleaved; noisy, distinct per image. */
function pixels(seed: number, width: number, height: number, channels: number): Buffer {
  return Buffer.from(
    Array.from({ length: width * height * channels }, (_, index) => (seed * 31 + index * 11) % 256),
  );
}

/** Encodes raw pixels as a PNG, or as a quality-100 4:4:4 JPEG. */
async function encode(
  raw: Buffer,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
  format: 'png' | 'jpeg' | 'progressive',
): Promise<Buffer> {
  let image = sharp(raw, { raw: { width, height, channels } });
  if (channels <= 2) image = image.toColourspace('b-w'); // else sharp writes gray as RGB
  if (format === 'png') return image.png().toBuffer();
  const progressive = format === 'progressive';
  return image.jpeg({ quality: 100, chromaSubsampling: '4:4:4', progressive }).toBuffer();
}

function meanAbsoluteError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length);
  let sum = 0;
  for (let index = 0; index < actual.length; index++) {
    sum += Math.abs(actual[index] - expected[index]);
  }
  return sum / actual.length;
}

/**
 * A dataset of two class folders that both hold `files` (a classifier needs two
 * classes), loaded with a fresh cache; `first` is the pixels of the first folder.
 */
async function loadFiles(t: TestContext, files: Record<string, Buffer>) {
  const root = await temporaryFolder(t);
  for (const folder of ['first', 'second']) {
    await mkdir(join(root, folder));
    for (const [name, bytes] of Object.entries(files)) {
      await writeFile(join(root, folder, name), bytes);
    }
  }
  const loaded = await loadFolder(root, await temporaryFolder(t));
  const { pixels } = loaded.splits.train;
  return { root, ...loaded, first: pixels.subarray(0, pixels.length / 2) };
}

test('baseline and progressive JPEGs decode within their encoding error', async (t) => {
  const [width, height] = [16, 16];
  const sources = [pixels(1, width, height, 3), pixels(2, width, height, 3)];
  const baseline = await encode(sources[0], width, height, 3, 'jpeg');
  const progressive = await encode(sources[1], width, height, 3, 'progressive');
  assert.equal((await sharp(progressive).metadata()).isProgressive, true);

  const { train } = (await loadFiles(t, { 'a.jpg': baseline, 'b.jpeg': progressive })).splits;

  assert.deepEqual([train.width, train.height, train.channels], [width, height, 3]);
  const imageBytes = width * height * 3;
  sources.forEach((source, image) => {
    const decoded = train.pixels.subarray(image * imageBytes, (image + 1) * imageBytes);
    const error = meanAbsoluteError(decoded, source);
    assert.ok(error <= kJpegTolerance, `image ${image}: mean error ${error.toFixed(2)}`);
  });
});

test('gray JPEGs and PNGs together are stored with one channel', async (t) => {
  const [width, height] = [8, 6];
  const sources = [pixels(3, width, height, 1), pixels(4, width, height, 1)];
  const files = {
    'a.jpg': await encode(sources[0], width, height, 1, 'jpeg'),
    'b.png': await encode(sources[1], width, height, 1, 'png'),
  };

  const { train } = (await loadFiles(t, files)).splits;

  assert.equal(train.channels, 1);
  const imageBytes = width * height;
  const jpeg = train.pixels.subarray(0, imageBytes);
  assert.ok(meanAbsoluteError(jpeg, sources[0]) <= kJpegTolerance);
  assert.deepEqual(Buffer.from(train.pixels.subarray(imageBytes, 2 * imageBytes)), sources[1]);
});

test('gray images among colour ones are stored as RGB, the gray repeated', async (t) => {
  const [width, height] = [4, 3];
  const gray = pixels(5, width, height, 1);
  const colour = pixels(6, width, height, 3);
  const files = {
    'a.png': await encode(gray, width, height, 1, 'png'),
    'b.png': await encode(colour, width, height, 3, 'png'),
  };

  const { train } = (await loadFiles(t, files)).splits;

  assert.equal(train.channels, 3);
  const repeated = Buffer.from(Array.from(gray).flatMap((value) => [value, value, value]));
  assert.deepEqual(Buffer.from(train.pixels.subarray(0, width * height * 3)), repeated);
  const second = train.pixels.subarray(width * height * 3, 2 * width * height * 3);
  assert.deepEqual(Buffer.from(second), colour);
});

test('alpha is dropped: RGBA PNGs become RGB, gray-with-alpha PNGs gray', async (t) => {
  const [width, height] = [4, 3];
  const rgba = pixels(7, width, height, 4);
  const grayAlpha = pixels(8, width, height, 2);
  const withoutAlpha = (raw: Buffer, channels: number) =>
    Buffer.from(raw.filter((_, index) => index % channels !== channels - 1));

  const colour = await loadFiles(t, { 'a.png': await encode(rgba, width, height, 4, 'png') });
  const gray = await loadFiles(t, { 'a.png': await encode(grayAlpha, width, height, 2, 'png') });

  assert.equal(colour.splits.train.channels, 3);
  assert.deepEqual(Buffer.from(colour.first), withoutAlpha(rgba, 4));
  assert.equal(gray.splits.train.channels, 1);
  assert.deepEqual(Buffer.from(gray.first), withoutAlpha(grayAlpha, 2));
});

test('a PNG named .jpg is decoded by sharp, exactly', async (t) => {
  const [width, height] = [4, 3];
  const source = pixels(9, width, height, 3);

  const { first } = await loadFiles(t, { 'a.jpg': await encode(source, width, height, 3, 'png') });

  assert.deepEqual(Buffer.from(first), source);
});

test('a truncated JPEG is named, and decode progress finishes as failed', async (t) => {
  const root = await temporaryFolder(t);
  await mkdir(join(root, 'only'));
  await mkdir(join(root, 'whole'));
  const whole = await encode(pixels(10, 16, 16, 3), 16, 16, 3, 'jpeg');
  await writeFile(join(root, 'only', 'a.jpg'), whole);
  await writeFile(join(root, 'whole', 'a.jpg'), whole);
  const broken = join(root, 'only', 'b.jpg');
  await writeFile(broken, whole.subarray(0, Math.floor(whole.length * 0.6)));
  const events: LoadProgress[] = [];
  const loading = loadDataset({
    dataset: root,
    cacheDir: await temporaryFolder(t),
    onProgress: (event) => events.push(event),
  });

  const error = await datasetErrorOf(loading);

  assert.match(error.message, new RegExp(`^cannot decode image ${broken} \\(.+\\); expected`));
  assert.equal(error.path, broken);
  // b.jpg was not decoded, so the last event cannot claim every image
  const last = events.at(-1);
  assert.ok(last?.kind === 'decode', JSON.stringify(last));
  assert.deepEqual([last.folder, last.total, last.finished, last.failed], [root, 3, true, true]);
  assert.ok(last.done < last.total, `done ${last.done} of ${last.total}`);
});

test("a decoder's message of many lines is quoted by its first line", async (t) => {
  const root = await temporaryFolder(t);
  const whole = await encode(pixels(11, 16, 16, 3), 16, 16, 3, 'jpeg');
  for (const folder of ['ant', 'bee']) {
    await mkdir(join(root, folder));
    await writeFile(join(root, folder, 'a.jpg'), whole);
  }
  // cut inside the header: libvips then adds a line per warning, repeated
  const cut = whole.subarray(0, 20);
  const broken = join(root, 'bee', 'b.jpg');
  await writeFile(broken, cut);
  const raw = await sharp(cut)
    .raw()
    .toBuffer()
    .then(
      () => '',
      (error: Error) => error.message,
    );
  assert.ok(raw.split('\n').length >= 3, `sharp's own message: ${JSON.stringify(raw)}`);

  const { message } = await datasetErrorOf(loadFolder(root, await temporaryFolder(t)));

  assert.equal(
    message,
    `cannot decode image ${broken} (Input buffer has corrupt header: premature end of JPEG ` +
      `image); expected a readable PNG, JPEG, GIF or BMP file, so replace or remove it, or ` +
      `pass --skip-bad to leave out such images`,
  );
});

test('files spread over the decoding threads land in file order, with progress', async (t) => {
  // more files than one task takes, so there are several chunks and threads
  const count = 1_200;
  const root = await temporaryFolder(t);
  await mkdir(join(root, 'only'));
  await mkdir(join(root, 'second'));
  await writeFile(join(root, 'second', 'x.png'), await encode(Buffer.alloc(6), 2, 1, 3, 'png'));
  const sources = Array.from({ length: count }, (_, image) =>
    Buffer.from([image & 0xff, image >> 8, 7, 1, 2, 3]),
  );
  for (const [image, source] of sources.entries()) {
    const name = `${String(image).padStart(4, '0')}.png`;
    await writeFile(join(root, 'only', name), await encode(source, 2, 1, 3, 'png'));
  }

  const { splits, events } = await loadFolder(root, await temporaryFolder(t));

  assert.deepEqual(Buffer.from(splits.train.pixels), Buffer.concat([...sources, Buffer.alloc(6)]));
  const decodes = events.flatMap((event) => (event.kind === 'decode' ? [event] : []));
  assert.ok(decodes.length >= 3, `expected progress between chunks, got ${decodes.length} events`);
  const done = decodes.map((event) => event.done);
  assert.ok(
    done.every((value, index) => index === 0 || value > done[index - 1]),
    `${done}`,
  );
  assert.deepEqual(decodes.at(-1), {
    kind: 'decode',
    folder: root,
    done: count + 1,
    total: count + 1,
    finished: true,
  });
  assert.ok(decodes.slice(0, -1).every((event) => !event.finished));
});
