// Manifests: CSV files of image paths and labels, with or without a header,
// paths relative to the manifest or absolute, class names or numbers, as the
// dataset or the test set; and the errors that name the manifest and its line.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';

import { loadDataset } from '../src/coordinator/data/index.js';
import type { LabelledImages } from '../src/shared/images.js';
import { datasetErrorOf, temporaryFolder } from './data-fixtures.js';
import { bmp, pixels, png } from './data-image-files.js';

const [kWidth, kHeight] = [6, 5];

/** Writes images/0.png .. images/5.png (seeds 0..5) and returns the folder holding them. */
async function writeImages(t: TestContext): Promise<string> {
  const root = await temporaryFolder(t);
  await mkdir(join(root, 'images', 'sub dir'), { recursive: true });
  for (let seed = 0; seed < 6; seed++) {
    const bytes = await png(pixels(seed, kWidth, kHeight, 3), kWidth, kHeight, 3);
    await writeFile(join(root, 'images', seed < 3 ? '' : 'sub dir', `${seed}.png`), bytes);
  }
  return root;
}

function imageOf(train: LabelledImages, index: number): Buffer {
  const bytes = kWidth * kHeight * 3;
  return Buffer.from(train.pixels.subarray(index * bytes, (index + 1) * bytes));
}

test('a manifest with a header lists relative paths and class names', async (t) => {
  const root = await writeImages(t);
  const manifest = join(root, 'train.csv');
  await writeFile(
    manifest,
    'class,filename\n' +
      'zebra,images/0.png\n' +
      'ant,images/1.png\n' +
      'zebra,"images/sub dir/3.png"\n' +
      `ant,${join(root, 'images', 'sub dir', '4.png')}\n`,
  );

  const { train } = await loadDataset({ dataset: manifest, cacheDir: await temporaryFolder(t) });

  assert.deepEqual(train.classNames, ['ant', 'zebra']);
  assert.deepEqual(Array.from(train.labels), [1, 0, 1, 0]);
  assert.equal(train.source, manifest);
  [0, 1, 3, 4].forEach((seed, index) =>
    assert.deepEqual(imageOf(train, index), pixels(seed, kWidth, kHeight, 3)),
  );
});

test('a manifest without a header takes the first two columns, labels as numbers', async (t) => {
  const root = await writeImages(t);
  const manifest = join(root, 'list.csv');
  await writeFile(manifest, 'images/2.png,2\r\nimages/0.png,0\r\nimages/1.png,0\r\n');

  const { train } = await loadDataset({ dataset: manifest, cacheDir: await temporaryFolder(t) });

  // numbers are classes 0 to the largest, as for CSV datasets
  assert.deepEqual(train.classNames, ['0', '1', '2']);
  assert.deepEqual(Array.from(train.labels), [2, 0, 0]);
  assert.deepEqual(imageOf(train, 0), pixels(2, kWidth, kHeight, 3));
});

test('a manifest is a test set beside a folder, and takes --image-size', async (t) => {
  const root = await writeImages(t);
  const train = join(root, 'train');
  for (const name of ['ant', 'bee']) {
    await mkdir(join(train, name), { recursive: true });
    await writeFile(join(train, name, 'a.bmp'), bmp(pixels(9, 4, 4, 3), 4, 4, 24));
  }
  const test = join(root, 'test.csv');
  await writeFile(test, 'path,label\nimages/0.png,bee\nimages/1.png,ant\n');

  const splits = await loadDataset({
    dataset: train,
    test,
    cacheDir: await temporaryFolder(t),
    imageSize: { width: 4, height: 4 },
  });

  assert.equal(splits.test?.source, test);
  assert.deepEqual(Array.from(splits.test?.labels ?? []), [1, 0]);
  assert.deepEqual([splits.test?.width, splits.test?.height], [4, 4]);
});

/** The DatasetError a manifest with `text` gives, which must name it. */
async function manifestError(t: TestContext, text: string) {
  const root = await writeImages(t);
  const manifest = join(root, 'bad.csv');
  await writeFile(manifest, text);
  const error = await datasetErrorOf(
    loadDataset({ dataset: manifest, cacheDir: await temporaryFolder(t) }),
  );
  assert.equal(error.path, manifest);
  return { manifest, root, message: error.message };
}

test('a manifest row naming a missing file is refused with its line', async (t) => {
  const { manifest, root, message } = await manifestError(
    t,
    'path,label\nimages/0.png,a\nimages/1.png,b\nimages/missing.png,b\n',
  );

  assert.ok(
    message.startsWith(
      `manifest ${manifest}, line 4: cannot find the image images/missing.png (ENOENT`,
    ),
    message,
  );
  assert.ok(
    message.endsWith(
      `relative to the manifest's folder ${root}, or an absolute one, ` +
        `so fix the path or remove the line`,
    ),
    message,
  );
});

test('a manifest row with an empty label is refused with its line', async (t) => {
  const { manifest, message } = await manifestError(t, 'images/0.png,a\nimages/1.png,\n');

  assert.equal(
    message,
    `manifest ${manifest}, line 2: the label of images/1.png is empty; expected a class name ` +
      `or number in column 2, so fill it in or remove the line`,
  );
});

test('an empty manifest and a manifest of one class are refused', async (t) => {
  const empty = await manifestError(t, 'path,label\n');
  const single = await manifestError(t, 'images/0.png,cat\nimages/1.png,cat\n');

  assert.match(empty.message, /^manifest .* lists no images after its header; expected one row/);
  assert.equal(
    single.message,
    `manifest ${single.manifest} has 1 class (cat); a classifier needs at least 2, so list ` +
      `images of further classes`,
  );
});
