// Image datasets trained end to end through the real CLI: a folder mixing every
// format and variant read, mixed sizes with --image-size, --channels and
// --skip-bad, and manifests as the dataset and the test set.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { temporaryFolder } from './data-fixtures.js';
import {
  bmp,
  fewColours,
  gif,
  jpeg,
  palettePng,
  pixels,
  png,
  png16,
  writeClasses,
} from './data-image-files.js';
import { lastJsonLine, runCli, shortTrainArgs } from './helpers/cli.js';

const [kWidth, kHeight] = [6, 5];

/** One file of every format and variant, of class seed `seed`. */
async function everyFormat(seed: number): Promise<Record<string, Buffer>> {
  const rgb = (offset: number) => pixels(seed * 20 + offset, kWidth, kHeight, 3);
  const few = fewColours(seed, kWidth, kHeight);
  const samples = Uint16Array.from({ length: kWidth * kHeight * 3 }, (_, index) => index * 700);
  return {
    'gray.png': await png(pixels(seed, kWidth, kHeight, 1), kWidth, kHeight, 1),
    'gray alpha.png': await png(pixels(seed, kWidth, kHeight, 2), kWidth, kHeight, 2),
    'rgb (1).PNG': await png(rgb(1), kWidth, kHeight, 3),
    'rgba.png': await png(pixels(seed, kWidth, kHeight, 4), kWidth, kHeight, 4),
    'palette.png': await palettePng(few, kWidth, kHeight),
    'deep.png': await png16(samples, kWidth, kHeight),
    'baseline.jpg': await jpeg(rgb(2), kWidth, kHeight),
    'progressive.JPEG': await jpeg(rgb(3), kWidth, kHeight, true),
    'frames.gif': await gif([few, fewColours(seed + 1, kWidth, kHeight)], kWidth, kHeight),
    '24 bits.bmp': bmp(rgb(4), kWidth, kHeight, 24),
    '32 bits.BMP': bmp(rgb(5), kWidth, kHeight, 32),
    'palette 8.bmp': bmp(few, kWidth, kHeight, 8),
    'ünïcödé.png': await png(rgb(6), kWidth, kHeight, 3),
  };
}

test('a folder of every image format trains', async (t) => {
  const root = await temporaryFolder(t);
  await writeClasses(root, {
    ant: await everyFormat(0),
    bee: await everyFormat(1),
    cat: await everyFormat(2),
  });

  const run = await runCli(shortTrainArgs(root, '--cache-dir', await temporaryFolder(t)));

  assert.equal(run.status, 0, run.stderr);
  const report = lastJsonLine(run.stdout);
  // 3 classes x 13 files, one step per global batch
  assert.equal(report.epochs, 1);
  assert.equal(report.steps, Math.ceil(39 / (report.globalBatch as number)));
});

test('mixed sizes train with --image-size, --channels 1 and --skip-bad', async (t) => {
  const root = await temporaryFolder(t);
  const sized = async (seed: number) => {
    const files: Record<string, Buffer> = {};
    for (let index = 0; index < 8; index++) {
      const [width, height] = [3 + index, 2 + ((index * 3) % 7)];
      files[`${index}.png`] = await png(pixels(seed + index, width, height, 3), width, height, 3);
    }
    return files;
  };
  await writeClasses(root, { ant: await sized(0), bee: await sized(10), cat: await sized(20) });
  await writeFile(join(root, 'ant', 'empty.png'), Buffer.alloc(0));
  await writeFile(join(root, 'cat', 'text.gif'), 'not a GIF');
  const cacheDir = await temporaryFolder(t);

  const refused = await runCli(shortTrainArgs(root, '--cache-dir', cacheDir));
  const run = await runCli(
    shortTrainArgs(
      root,
      '--cache-dir',
      cacheDir,
      '--image-size',
      '8x8',
      '--channels',
      '1',
      '--skip-bad',
    ),
  );

  assert.notEqual(refused.status, 0);
  // chunks decode in parallel, so either bad file may be the one reported
  const bad = [join(root, 'ant', 'empty.png'), join(root, 'cat', 'text.gif')];
  assert.match(refused.stderr, new RegExp(`cannot decode image (${bad.join('|')}) \\(`));
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, new RegExp(`left out 2 images of ${root} that cannot be decoded`));
  // the 24 good images only: 2 bad ones would make 26
  const report = lastJsonLine(run.stdout);
  assert.equal(report.steps, Math.ceil(24 / (report.globalBatch as number)));
});

test('manifests train as the dataset and as the test set', async (t) => {
  const root = await temporaryFolder(t);
  const rows = ['image,label'];
  const testRows: string[] = [];
  for (let index = 0; index < 16; index++) {
    const name = `image ${index}.png`;
    await writeFile(
      join(root, name),
      await png(pixels(index, kWidth, kHeight, 3), kWidth, kHeight, 3),
    );
    rows.push(`${name},${index % 2 === 0 ? 'even' : 'odd'}`);
    if (index < 4) testRows.push(`${join(root, name)},${index % 2 === 0 ? 'even' : 'odd'}`);
  }
  const manifest = join(root, 'train.csv');
  const testManifest = join(root, 'test.csv');
  await writeFile(manifest, `${rows.join('\n')}\n`);
  await writeFile(testManifest, `${testRows.join('\n')}\n`);

  const run = await runCli(
    shortTrainArgs(manifest, '--test', testManifest, '--cache-dir', await temporaryFolder(t)),
  );

  assert.equal(run.status, 0, run.stderr);
  const report = lastJsonLine(run.stdout);
  assert.equal(typeof report.testAccuracy, 'number');
  assert.equal(report.steps, Math.ceil(16 / (report.globalBatch as number)));
  assert.equal((report.perClass as unknown[]).length, 2);
});
