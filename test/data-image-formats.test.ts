// Lossless image formats arrive pixel for pixel: PNGs of every colour type and
// depth, the first frame of a GIF, BMPs of 8, 24 and 32 bits; names with
// spaces, brackets and accents, extensions in any case; and the --channels
// conversions and --image-size output shape applied to them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';

import { loadDataset } from '../src/coordinator/data/index.js';
import type { ReadOptions } from '../src/coordinator/data/index.js';
import { temporaryFolder } from './data-fixtures.js';
import {
  bmp,
  fewColours,
  gif,
  palettePng,
  pixels,
  png,
  png16,
  writeClasses,
} from './data-image-files.js';

const [kWidth, kHeight] = [6, 5];

/** Loads a dataset of two classes, `first` and `second`, with the given files. */
async function loadTwo(
  t: TestContext,
  first: Record<string, Buffer>,
  second: Record<string, Buffer>,
  options: ReadOptions = {},
) {
  const root = await temporaryFolder(t);
  await writeClasses(root, { first, second });
  const { train } = await loadDataset({
    dataset: root,
    cacheDir: await temporaryFolder(t),
    ...options,
  });
  const bytes = train.height * train.width * train.channels;
  const image = (index: number) =>
    Buffer.from(train.pixels.subarray(index * bytes, (index + 1) * bytes));
  return { root, train, image };
}

/** `raw` without its last channel of every `channels`. */
function withoutAlpha(raw: Buffer, channels: number): Buffer {
  return Buffer.from(raw.filter((_, index) => index % channels !== channels - 1));
}

test('PNGs of every colour type and 16-bit PNGs arrive exactly as RGB', async (t) => {
  const gray = pixels(1, kWidth, kHeight, 1);
  const grayAlpha = pixels(2, kWidth, kHeight, 2);
  const rgb = pixels(3, kWidth, kHeight, 3);
  const rgba = pixels(4, kWidth, kHeight, 4);
  const palette = fewColours(1, kWidth, kHeight);
  // 16-bit samples where keeping the high byte (libvips' cast) and rounding differ: 511 → 1, not 2
  const samples = Uint16Array.from(
    { length: kWidth * kHeight * 3 },
    (_, index) => 511 + index * 2000,
  );
  const files = {
    'a gray.png': await png(gray, kWidth, kHeight, 1),
    'b gray alpha.png': await png(grayAlpha, kWidth, kHeight, 2),
    'c rgb.png': await png(rgb, kWidth, kHeight, 3),
    'd rgba.png': await png(rgba, kWidth, kHeight, 4),
    'e palette.png': await palettePng(palette, kWidth, kHeight),
    'f deep.png': await png16(samples, kWidth, kHeight),
  };

  const { train, image } = await loadTwo(t, files, { 'x.png': await png(rgb, kWidth, kHeight, 3) });

  assert.deepEqual([train.count, train.width, train.height, train.channels], [7, 6, 5, 3]);
  const repeat = (values: Buffer) =>
    Buffer.from([...values].flatMap((value) => [value, value, value]));
  assert.deepEqual(image(0), repeat(gray));
  assert.deepEqual(image(1), repeat(withoutAlpha(grayAlpha, 2)));
  assert.deepEqual(image(2), rgb);
  assert.deepEqual(image(3), withoutAlpha(rgba, 4));
  assert.deepEqual(image(4), palette);
  assert.deepEqual(image(5), Buffer.from(Array.from(samples, (sample) => sample >> 8)));
});

test('a GIF gives its first frame exactly', async (t) => {
  const frames = [fewColours(0, kWidth, kHeight), fewColours(2, kWidth, kHeight)];

  const { train, image } = await loadTwo(
    t,
    { 'anim.gif': await gif(frames, kWidth, kHeight) },
    { 'still.GIF': await gif([frames[1]], kWidth, kHeight) },
  );

  assert.deepEqual([train.count, train.width, train.height, train.channels], [2, 6, 5, 3]);
  assert.deepEqual(image(0), frames[0]);
  assert.deepEqual(image(1), frames[1]);
});

test('BMPs of 24 and 32 bits and 8-bit palette BMPs arrive exactly, alpha dropped', async (t) => {
  const rgb = pixels(5, kWidth, kHeight, 3);
  const other = pixels(6, kWidth, kHeight, 3);
  const few = fewColours(3, kWidth, kHeight);

  const { train, image } = await loadTwo(
    t,
    { '24.bmp': bmp(rgb, kWidth, kHeight, 24), '32.BMP': bmp(other, kWidth, kHeight, 32) },
    { '8.bmp': bmp(few, kWidth, kHeight, 8) },
  );

  assert.deepEqual([train.count, train.width, train.height, train.channels], [3, 6, 5, 3]);
  assert.deepEqual(image(0), rgb);
  assert.deepEqual(image(1), other);
  assert.deepEqual(image(2), few);
});

test('odd file names and extensions in any case are read literally', async (t) => {
  const names = [
    'with space (1).png',
    '[set] {a,b}.PNG',
    'ünïcödé 名前.Png',
    '*.jpeg.png',
    'x.Bmp',
  ];
  const files = Object.fromEntries(
    await Promise.all(
      names.map(async (name, seed) => {
        const rgb = pixels(seed, kWidth, kHeight, 3);
        const bytes = name.endsWith('Bmp')
          ? bmp(rgb, kWidth, kHeight, 24)
          : await png(rgb, kWidth, kHeight, 3);
        return [name, bytes] as const;
      }),
    ),
  );

  const { train, image } = await loadTwo(t, files, { 'plain.png': files['x.Bmp'] });

  assert.equal(train.count, 6);
  // code-point order: '*' < '[' < 'w' < 'x' < 'ü'
  const order = [
    '*.jpeg.png',
    '[set] {a,b}.PNG',
    'with space (1).png',
    'x.Bmp',
    'ünïcödé 名前.Png',
  ];
  order.forEach((name, index) =>
    assert.deepEqual(image(index), pixels(names.indexOf(name), kWidth, kHeight, 3), name),
  );
});

test('--channels 1 stores the Rec. 601 luma, --channels 3 repeats gray', async (t) => {
  // three pixels whose luma is worked out by hand: (299 R + 587 G + 114 B) / 1000
  const colour = Buffer.from([255, 0, 0, 0, 255, 0, 10, 20, 200]);
  const gray = Buffer.from([7, 130, 255]);
  const files = { 'a.png': await png(colour, 3, 1, 3) };
  const grayFiles = { 'g.bmp': bmp(Buffer.from([...gray].flatMap((v) => [v, v, v])), 3, 1, 24) };

  const one = await loadTwo(t, files, grayFiles, { channels: 1 });
  const three = await loadTwo(t, { 'g.png': await png(gray, 3, 1, 1) }, grayFiles, { channels: 3 });

  assert.equal(one.train.channels, 1);
  // 299*255/1000 = 76.2 → 76; 587*255/1000 = 149.7 → 150; (2990 + 11740 + 22800) / 1000 = 37.53 → 38
  assert.deepEqual(one.image(0), Buffer.from([76, 150, 38]));
  assert.deepEqual(one.image(1), gray);
  assert.equal(three.train.channels, 3);
  assert.deepEqual(three.image(0), Buffer.from([7, 7, 7, 130, 130, 130, 255, 255, 255]));
});

test('--image-size resizes images of every size and format to one shape', async (t) => {
  const first = {
    'big.png': await png(pixels(1, 12, 10, 3), 12, 10, 3),
    'small.bmp': bmp(pixels(2, 3, 2, 3), 3, 2, 24),
  };
  const second = { 'wide.gif': await gif([fewColours(1, 9, 4)], 9, 4) };

  const { train } = await loadTwo(t, first, second, { imageSize: { width: 8, height: 7 } });

  assert.deepEqual([train.count, train.width, train.height, train.channels], [3, 8, 7, 3]);
  assert.equal(train.pixels.length, 3 * 8 * 7 * 3);
});
