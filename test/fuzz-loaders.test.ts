// Seeded fuzzing of the dataset loaders: small valid IDX pairs, pixel CSVs,
// manifests and images, damaged at random, must each load into a dataset that
// passes checkDataset or be refused with a DatasetError or OptionError naming
// the file; never another error, an unhandled rejection or a hang. The seed is
// printed and $SYNCGRAD_FUZZ_SEED replays it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';

import { valueSymbol } from 'piscina';

import { loadDataset } from '../src/coordinator/data/index.js';
import { listManifest } from '../src/coordinator/data/manifest.js';
import { checkDataset } from '../src/coordinator/dataset.js';
import decodeChunk from '../src/worker/decode-worker.js';
import type { DecodeTask, DecodedChunk } from '../src/worker/decode-worker.js';
import { temporaryFolder } from './data-fixtures.js';
import { pixels, png } from './data-image-files.js';
import {
  Fuzz,
  corrupt,
  csvDamage,
  idxHeaderDamage,
  idxValueDamage,
  imageHeaderDamage,
  kByteDamage,
} from './helpers/corruption.js';
import {
  assertRefusal,
  checkChunk,
  collectRejections,
  fuzzSeed,
  settle,
} from './helpers/fuzz-check.js';
import {
  baseImages,
  idxPair,
  manifestText,
  pixelCsv,
  sameSizeImages,
} from './helpers/fuzz-inputs.js';
import type { BaseImage } from './helpers/fuzz-inputs.js';

const kSeed = fuzzSeed();
console.log(`fuzz seed ${kSeed}; replay with SYNCGRAD_FUZZ_SEED=${kSeed}`);

/** One fuzz stream per test, so each replays alike whatever the others drew. */
const kStreams = { idx: 1, csv: 2, manifest: 3, decode: 4, folders: 5 };

function start(t: TestContext, stream: number) {
  t.diagnostic(`seed ${kSeed}; replay with SYNCGRAD_FUZZ_SEED=${kSeed}`);
  return { fuzz: new Fuzz(kSeed, stream), rejections: collectRejections(t) };
}

/** Which of `names` to damage: each by chance, at least one. */
function damagedOf<T>(names: T[], fuzz: Fuzz): Set<T> {
  const chosen = new Set(names.filter(() => fuzz.chance(0.4)));
  if (chosen.size === 0) chosen.add(fuzz.pick(names));
  return chosen;
}

/** `bytes` damaged for a file that should be gzipped: damaged then packed, or packed then damaged. */
function damage(bytes: Buffer, fuzz: Fuzz, menu: Parameters<typeof corrupt>[2], gzip: boolean) {
  if (!gzip) return corrupt(bytes, fuzz, menu);
  if (fuzz.chance(0.5)) {
    const [damaged, steps] = corrupt(bytes, fuzz, menu);
    return [gzipSync(damaged), [...steps, 'gzipped']] as const;
  }
  const [damaged, steps] = corrupt(gzipSync(bytes), fuzz, kByteDamage);
  return [damaged, ['gzipped', ...steps]] as const;
}

test('damaged IDX images and labels load or are refused naming a file', async (t) => {
  const { fuzz, rejections } = start(t, kStreams.idx);
  const root = await temporaryFolder(t);
  const menu = [
    ...kByteDamage,
    ...Array(4).fill(idxHeaderDamage),
    ...Array(6).fill(idxValueDamage),
  ];
  const tally = { loaded: 0, refused: 0 };

  for (let index = 0; index < 450; index++) {
    const folder = join(root, `idx-${index}`);
    await mkdir(folder);
    const gzip = fuzz.chance(0.25);
    const suffix = gzip ? '.gz' : '';
    const train = idxPair(fuzz);
    const withTest = fuzz.chance(0.2);
    const testPair = withTest ? idxPair(fuzz) : undefined;
    const files = new Map<string, Buffer>([
      [join(folder, `train-images-idx3-ubyte${suffix}`), train.images],
      [join(folder, `train-labels-idx1-ubyte${suffix}`), train.labels],
    ]);
    if (testPair) {
      files.set(join(folder, `t10k-images-idx3-ubyte${suffix}`), testPair.images);
      files.set(join(folder, `t10k-labels-idx1-ubyte${suffix}`), testPair.labels);
    }

    // damage some of the files, then write them all
    const paths = [...files.keys()];
    const steps: string[] = [`idx case ${index} (${train.layout}, gzip ${gzip})`];
    const damaged = damagedOf(paths, fuzz);
    for (const path of damaged) {
      const [bytes, said] = damage(files.get(path)!, fuzz, menu, gzip);
      files.set(path, bytes);
      steps.push(`${path}: ${said.join(', ')}`);
    }
    for (const [path, bytes] of files) {
      await writeFile(path, gzip && !damaged.has(path) ? gzipSync(bytes) : bytes);
    }

    const [imagesPath, labelsPath, testPath] = paths;
    const what = `seed ${kSeed}, ${steps.join('; ')}`;
    const options = {
      dataset: imagesPath,
      labels: fuzz.chance(0.3) ? labelsPath : undefined,
      test: testPath,
      cacheDir: join(folder, 'cache'),
    };
    const settled = await settle(() => loadDataset(options), what, rejections);
    if (settled.loaded) {
      tally.loaded++;
      assert.equal(settled.value.train.source, imagesPath, what);
      checkDataset(settled.value.train);
      if (testPath !== undefined) checkDataset(settled.value.test!);
    } else {
      tally.refused++;
      assertRefusal(settled.error, paths, what);
    }
  }
  t.diagnostic(`IDX: ${tally.loaded} loaded, ${tally.refused} refused`);
  assert.ok(tally.loaded > 0 && tally.refused > 0, JSON.stringify(tally));
});

test('damaged CSV files of pixels load or are refused naming the file', async (t) => {
  const { fuzz, rejections } = start(t, kStreams.csv);
  const root = await temporaryFolder(t);
  const menu = [...kByteDamage, ...Array(12).fill(csvDamage)];
  const tally = { loaded: 0, refused: 0 };

  for (let index = 0; index < 300; index++) {
    const folder = join(root, `csv-${index}`);
    await mkdir(folder);
    const files = new Map([[join(folder, 'train.csv'), pixelCsv(fuzz)]]);
    if (fuzz.chance(0.2)) files.set(join(folder, 'test.csv'), pixelCsv(fuzz));
    const paths = [...files.keys()];
    const steps = [`csv case ${index}`];
    for (const path of damagedOf(paths, fuzz)) {
      const [bytes, said] = corrupt(files.get(path)!, fuzz, menu);
      files.set(path, bytes);
      steps.push(`${path}: ${said.join(', ')}`);
    }
    for (const [path, bytes] of files) await writeFile(path, bytes);

    const what = `seed ${kSeed}, ${steps.join('; ')}`;
    const options = { dataset: paths[0], test: paths[1], cacheDir: join(folder, 'cache') };
    const settled = await settle(() => loadDataset(options), what, rejections);
    if (settled.loaded) {
      tally.loaded++;
      checkDataset(settled.value.train);
      if (paths[1] !== undefined) checkDataset(settled.value.test!);
    } else {
      tally.refused++;
      assertRefusal(settled.error, paths, what);
    }
  }
  t.diagnostic(`CSV: ${tally.loaded} loaded, ${tally.refused} refused`);
  assert.ok(tally.loaded > 0 && tally.refused > 0, JSON.stringify(tally));
});

test('damaged manifests list their images or are refused naming the manifest', async (t) => {
  const { fuzz, rejections } = start(t, kStreams.manifest);
  const root = await temporaryFolder(t);
  await mkdir(join(root, 'images'));
  const names = Array.from({ length: 6 }, (_, index) => `images/${index}.png`);
  for (const [index, name] of names.entries()) {
    await writeFile(join(root, name), await png(pixels(index, 2, 2, 3), 2, 2, 3));
  }
  const menu = [...kByteDamage, ...Array(12).fill(csvDamage)];
  const tally = { listed: 0, refused: 0 };

  for (let index = 0; index < 150; index++) {
    const manifest = join(root, `list-${index}.csv`);
    const absolute = fuzz.chance(0.3);
    const listed = absolute ? names.map((name) => join(root, name)) : names;
    const [bytes, said] = corrupt(manifestText(listed, fuzz), fuzz, menu);
    await writeFile(manifest, bytes);

    const what = `seed ${kSeed}, manifest case ${index} (absolute ${absolute}): ${said.join(', ')}`;
    const settled = await settle(async () => listManifest(manifest, '--dataset'), what, rejections);
    if (settled.loaded) {
      tally.listed++;
      const { files, labels, classNames } = settled.value;
      assert.ok(files.length > 0 && files.length === labels.length, what);
      assert.ok(
        files.every((file) => existsSync(file)),
        what,
      );
      assert.ok(
        labels.every((label) => label >= 0 && label < classNames.length),
        what,
      );
      assert.equal(new Set(classNames).size, classNames.length, what);
    } else {
      tally.refused++;
      assertRefusal(settled.error, [manifest], what);
    }
  }
  t.diagnostic(`manifests: ${tally.listed} listed, ${tally.refused} refused`);
  assert.ok(tally.listed > 0 && tally.refused > 0, JSON.stringify(tally));
});

test('the decoding thread reports each damaged image as a failure of one line', async (t) => {
  const { fuzz, rejections } = start(t, kStreams.decode);
  const root = await temporaryFolder(t);
  const bases = await baseImages();
  const extensions = ['png', 'jpg', 'jpeg', 'gif', 'bmp', 'JPG'];
  const tally = { decoded: 0, failed: 0 };

  for (let batch = 0; batch < 16; batch++) {
    const folder = join(root, `decode-${batch}`);
    await mkdir(folder);
    const files: string[] = [];
    const steps: string[] = [];
    const intact = new Map<number, BaseImage>();
    for (let index = 0; index < 25; index++) {
      const base = fuzz.pick(bases);
      const extension = fuzz.chance(0.85) ? base.extension : fuzz.pick(extensions);
      const file = join(folder, `${index}.${extension}`);
      let bytes = base.bytes;
      let said = ['intact'];
      if (fuzz.chance(0.1)) {
        intact.set(index, base);
      } else {
        const menu = [...kByteDamage, ...Array(6).fill(imageHeaderDamage(base.format))];
        [bytes, said] = corrupt(base.bytes, fuzz, menu);
      }
      await writeFile(file, bytes);
      files.push(file);
      steps.push(`${file} (${base.kind}, ${said.join(', ')})`);
    }

    const imageSize = fuzz.chance(0.25) ? { width: 3, height: 2 } : undefined;
    const task: DecodeTask = { files, imageSize, keepGoing: true };
    const what = `seed ${kSeed}, decode batch ${batch}${imageSize ? ' resized to 3x2' : ''}`;
    const settled = await settle(() => decodeChunk(task), what, rejections);
    if (!settled.loaded) assert.fail(`${what}: decodeChunk threw ${String(settled.error)}`);
    const chunk = (settled.value as unknown as Record<symbol, DecodedChunk>)[valueSymbol];
    const failed = checkChunk(chunk, imageSize, steps, what);
    for (const [index, base] of intact) {
      assert.ok(!failed.has(index), `${what}: intact file ${steps[index]} fails`);
      const size = imageSize ?? { width: base.width, height: base.height };
      const decoded = { width: chunk.widths[index], height: chunk.heights[index] };
      assert.deepEqual(decoded, size, `${what}: intact file ${steps[index]}`);
    }
    tally.failed += failed.size;
    tally.decoded += files.length - failed.size;
  }
  t.diagnostic(`images: ${tally.decoded} decoded, ${tally.failed} reported as failures`);
  assert.ok(tally.decoded > 0 && tally.failed > 0, JSON.stringify(tally));
});

test('damaged image folders and manifests load or are refused naming a file', async (t) => {
  const { fuzz, rejections } = start(t, kStreams.folders);
  const root = await temporaryFolder(t);
  const tally = { loaded: 0, refused: 0 };

  for (let index = 0; index < 20; index++) {
    const folder = join(root, `images-${index}`);
    const useManifest = index % 2 === 1;
    const images = await sameSizeImages(index);
    const steps = [`${useManifest ? 'manifest' : 'folder'} case ${index}`];

    // two classes of two images, some of them damaged
    const names: string[] = [];
    for (const [place, className] of ['ant', 'ant', 'bee', 'bee'].entries()) {
      await mkdir(join(folder, className), { recursive: true });
      const [extension, format, valid] = fuzz.pick(images);
      const name = `${className}/${place}.${extension}`;
      let bytes = valid;
      if (fuzz.chance(useManifest ? 0.2 : 0.4)) {
        const menu = [...kByteDamage, ...Array(6).fill(imageHeaderDamage(format))];
        const [damaged, said] = corrupt(valid, fuzz, menu);
        bytes = damaged;
        steps.push(`${name}: ${said.join(', ')}`);
      }
      await writeFile(join(folder, name), bytes);
      names.push(name);
    }
    let dataset = folder;
    if (useManifest) {
      dataset = join(folder, 'list.csv');
      let bytes = manifestText(names, fuzz);
      if (fuzz.chance(0.7)) {
        const menu = [...kByteDamage, ...Array(12).fill(csvDamage)];
        const [damaged, said] = corrupt(bytes, fuzz, menu);
        bytes = damaged;
        steps.push(`list.csv: ${said.join(', ')}`);
      }
      await writeFile(dataset, bytes);
    }

    const skipBad = fuzz.chance(0.5);
    const what = `seed ${kSeed}, ${steps.join('; ')}, skip bad ${skipBad}`;
    const options = { dataset, cacheDir: join(root, `cache-${index}`), skipBad };
    const settled = await settle(() => loadDataset(options), what, rejections);
    if (settled.loaded) {
      tally.loaded++;
      checkDataset(settled.value.train);
    } else {
      tally.refused++;
      assertRefusal(settled.error, [dataset, folder], what);
    }
  }
  t.diagnostic(`image datasets: ${tally.loaded} loaded, ${tally.refused} refused`);
  assert.ok(tally.loaded > 0 && tally.refused > 0, JSON.stringify(tally));
});

test('cells holding blank lines are refused in one paragraph that shows them', async (t) => {
  const root = await temporaryFolder(t);
  await mkdir(join(root, 'images'));
  for (const index of [0, 1, 2]) {
    await writeFile(join(root, `images/${index}.png`), await png(pixels(index, 2, 2, 3), 2, 2, 3));
  }

  // a CRLF manifest with one line ended by LF LF: a path and the next path make one cell
  const manifest = join(root, 'mixed.csv');
  await writeFile(manifest, 'images/0.png,cat\r\nimages/1.png\n\nimages/2.png,dog\r\n');
  const listing = await settle(async () => listManifest(manifest, '--dataset'), manifest, []);
  assert.ok(!listing.loaded);
  assertRefusal(listing.error, [manifest], manifest);
  assert.match(
    String(listing.error),
    /line 4: the cell "images\/1\.png\\n\\nimages\/2\.png" holds a line break; .*one kind of line ending/,
  );

  // a quoted pixel cell spanning a blank line
  const pixelFile = join(root, 'quoted.csv');
  await writeFile(pixelFile, '1,2,3,4\r\n0,"5\n\n6",7,8\r\n');
  const loaded = await settle(() => loadDataset({ dataset: pixelFile }), pixelFile, []);
  assert.ok(!loaded.loaded);
  assertRefusal(loaded.error, [pixelFile], pixelFile);
  assert.match(
    String(loaded.error),
    /column 2: expected a whole pixel value .*, found "5\\n\\n6";/,
  );
});
