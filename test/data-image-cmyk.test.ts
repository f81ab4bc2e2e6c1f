// CMYK JPEGs (as print workflows save them) are decoded by sharp, with its
// colour management, rather than by jpeg-js, whose plain ink inversion makes
// them far too dark; the colours must match sharp's own decoding exactly.

import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { decode as decodeJpeg } from 'jpeg-js';
import sharp from 'sharp';

import { loadDataset } from '../src/coordinator/data/index.js';
import { jpegComponents } from '../src/worker/decode-worker.js';
import { temporaryFolder } from './data-fixtures.js';

test('a CMYK JPEG arrives in the colours sharp gives it', async (t) => {
  const root = await temporaryFolder(t);
  const [width, height] = [4, 3];
  const rgb = Buffer.alloc(width * height * 3);
  for (let index = 0; index < rgb.length; index += 3) rgb.set([63, 66, 69], index);
  const cmyk = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .toColourspace('cmyk')
    .jpeg({ quality: 100 })
    .toBuffer();
  for (const name of ['ink', 'paper']) {
    await mkdir(join(root, 'photos', name), { recursive: true });
    await writeFile(join(root, 'photos', name, 'scan.jpg'), cmyk);
  }
  const reference = await sharp(cmyk).removeAlpha().raw().toBuffer();
  const naive = decodeJpeg(cmyk, { useTArray: true, formatAsRGBA: false });

  const { train } = await loadDataset({
    dataset: join(root, 'photos'),
    cacheDir: join(root, 'cache'),
  });

  assert.equal(jpegComponents(cmyk), 4);
  assert.equal(train.channels, 3);
  assert.deepEqual(Buffer.from(train.pixels.subarray(0, reference.length)), reference);
  // what jpeg-js alone gives is far off, which is why it is not used for CMYK
  assert.ok(Math.abs(naive.data[0] - reference[0]) > 10, `jpeg-js red ${naive.data[0]}`);
});
