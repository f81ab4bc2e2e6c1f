// Images that cannot be used: each kind of bad file stops a load with a
// DatasetError naming it, unless --skip-bad leaves it out and counts it; the
// decoded cache never serves pixels made under other reading options.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';

import { loadDataset } from '../src/coordinator/data/index.js';
import type { LoadProgress, ReadOptions } from '../src/coordinator/data/index.js';
import { datasetErrorOf, noticesOf, temporaryFolder } from './data-fixtures.js';
import { bmp, pixels, png, writeClasses } from './data-image-files.js';

const [kWidth, kHeight] = [6, 5];

/** Two classes of three good PNGs each. */
async function goodTree(t: TestContext): Promise<string> {
  const root = await temporaryFolder(t);
  const images = async (seed: number) =>
    Object.fromEntries(
      await Promise.all(
        [0, 1, 2].map(async (index) => [
          `${index}.png`,
          await png(pixels(seed + index, kWidth, kHeight, 3), kWidth, kHeight, 3),
        ]),
      ),
    ) as Record<string, Buffer>;
  await writeClasses(root, { ant: await images(0), bee: await images(10) });
  return root;
}

async function load(root: string, cacheDir: string, options: ReadOptions = {}) {
  const events: LoadProgress[] = [];
  const { train } = await loadDataset({
    dataset: root,
    cacheDir,
    onProgress: (event) => events.push(event),
    ...options,
  });
  const kinds = events.map((event) => event.kind).filter((kind) => kind !== 'notice');
  return { train, notices: noticesOf(events), cached: kinds.includes('cached') };
}

/** Asserts the load stops on `file` with a DatasetError naming it, the reason and --skip-bad. */
async function rejectsNaming(root: string, file: string, reason: RegExp, t: TestContext) {
  const error = await datasetErrorOf(load(root, await temporaryFolder(t)));
  assert.equal(error.path, file);
  assert.ok(error.message.startsWith(`cannot decode image ${file} (`), error.message);
  assert.match(error.message, reason);
  assert.match(error.message, /pass --skip-bad to leave out such images$/);
}

test('a zero-byte image is named', async (t) => {
  const root = await goodTree(t);
  const empty = join(root, 'ant', 'empty.png');
  await writeFile(empty, Buffer.alloc(0));

  await rejectsNaming(root, empty, /\(the file is empty \(0 bytes\)\)/, t);
});

test('a truncated PNG is named', async (t) => {
  const root = await goodTree(t);
  const cut = join(root, 'bee', 'cut.png');
  const whole = await png(pixels(3, 40, 40, 3), 40, 40, 3);
  await writeFile(cut, whole.subarray(0, whole.length >> 1));

  await rejectsNaming(root, cut, /./, t);
});

test('a truncated BMP is named, with the bytes it lacks', async (t) => {
  const root = await goodTree(t);
  const cut = join(root, 'bee', 'cut.bmp');
  const whole = bmp(pixels(3, kWidth, kHeight, 3), kWidth, kHeight, 24);
  await writeFile(cut, whole.subarray(0, 80));

  // 54 header bytes, then 5 rows of 6 pixels x 3 bytes = 18, padded to 20
  await rejectsNaming(
    root,
    cut,
    /promises 6x5 pixels of 24 bits, 154 bytes in all, but the file has 80/,
    t,
  );
});

test('a file that is not an image under an image name is named', async (t) => {
  const root = await goodTree(t);
  const text = join(root, 'ant', 'notes.gif');
  await writeFile(text, 'these are notes, not a GIF');

  await rejectsNaming(root, text, /unsupported image format/, t);
});

test('a folder whose class folders hold no images is refused', async (t) => {
  const root = await temporaryFolder(t);
  await writeClasses(root, {
    ant: { 'readme.txt': Buffer.from('no images') },
    bee: { 'data.json': Buffer.from('{}') },
  });

  const error = await datasetErrorOf(load(root, await temporaryFolder(t)));

  assert.equal(error.path, root);
  assert.match(error.message, /^class folder\(s\) ant, bee in dataset folder .* have no images; /);
  assert.match(error.message, /expected \.png, \.jpg, \.jpeg, \.gif or \.bmp files/);
});

test('--skip-bad leaves out bad images and counts them, from the cache too', async (t) => {
  const root = await goodTree(t);
  const cacheDir = await temporaryFolder(t);
  const bad = [
    join(root, 'ant', 'a-empty.png'),
    join(root, 'bee', 'b-text.bmp'),
    join(root, 'bee', 'c.jpg'),
  ];
  await writeFile(bad[0], Buffer.alloc(0));
  await writeFile(bad[1], 'BM but nothing else');
  await writeFile(bad[2], 'not a JPEG');
  await writeFile(join(root, 'bee', 'd.jpg'), 'not a JPEG either');

  const first = await load(root, cacheDir, { skipBad: true });
  const second = await load(root, cacheDir, { skipBad: true });

  // 6 good images of 10; the labels of the rest keep their classes
  assert.equal(first.train.count, 6);
  assert.deepEqual(Array.from(first.train.labels), [0, 0, 0, 1, 1, 1]);
  assert.equal(first.notices.length, 1);
  assert.ok(
    first.notices[0].startsWith(
      `left out 4 images of ${root} that cannot be decoded (--skip-bad): `,
    ),
    first.notices[0],
  );
  for (const file of bad) assert.ok(first.notices[0].includes(`${file} (`), file);
  assert.ok(first.notices[0].endsWith(' and 1 more'), first.notices[0]);
  assert.equal(second.cached, true);
  assert.deepEqual(second.notices, first.notices);
  assert.deepEqual(second.train, first.train);
});

test('--skip-bad still refuses a class whose every image is bad, naming it', async (t) => {
  const root = await goodTree(t);
  await writeClasses(root, { cat: { 'a.png': Buffer.alloc(0), 'b.png': Buffer.from('text') } });

  const error = await datasetErrorOf(load(root, await temporaryFolder(t), { skipBad: true }));

  assert.equal(error.path, root);
  assert.match(error.message, new RegExp(`^no image of class cat in ${root} can be decoded`));
  assert.ok(error.message.includes(join(root, 'cat', 'a.png')), error.message);
});

test('the decoded cache is rebuilt whenever an option that changes pixels does', async (t) => {
  const root = await goodTree(t);
  const cacheDir = await temporaryFolder(t);

  const plain = await load(root, cacheDir);
  const again = await load(root, cacheDir);
  const gray = await load(root, cacheDir, { channels: 1 });
  const resized = await load(root, cacheDir, { channels: 1, imageSize: { width: 3, height: 2 } });
  const skipping = await load(root, cacheDir, {
    channels: 1,
    imageSize: { width: 3, height: 2 },
    skipBad: true,
  });
  const back = await load(root, cacheDir);

  assert.deepEqual([plain.cached, again.cached], [false, true]);
  assert.deepEqual([gray.cached, gray.train.channels], [false, 1]);
  assert.deepEqual([resized.cached, resized.train.width, resized.train.height], [false, 3, 2]);
  assert.equal(skipping.cached, false);
  assert.equal(back.cached, false);
  assert.deepEqual(back.train, plain.train);
});
