// How long loading an image-folder dataset takes, first without and then with
// the decoded cache, what happens to the cache when files change or it is
// damaged, and how much shared memory a loaded dataset takes against its raw
// pixel bytes. Every load runs in a fresh process, so none profits from
// another's warm heap; the file system's page cache is warm for all of them,
// as the unpacking just read every file.
//
// usage: node dist/scripts/bench-load.js [--archive ../shared/datasets/cifar10-jpg.tar.gz]
//        [--folder DIR (an unpacked tree with train/ and test/)] [--rounds 2]
//        [--dataset fashion-mnist (also measured for memory when found)]

import { spawnSync } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  rmSync,
  utimesSync,
  openSync,
  readSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { extract } from 'tar';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

import { loadDataset } from '../src/coordinator/data/index.js';
import type { LoadProgress } from '../src/coordinator/data/index.js';
import { imageCacheFile } from '../src/coordinator/data/image-cache.js';
import { resolveOptions } from '../src/coordinator/options.js';
import { prepareData } from '../src/coordinator/prepare-data.js';
import type { DatasetSplits } from '../src/shared/images.js';
import type { SharedSamples } from '../src/shared/messages.js';

const argv = await yargs(hideBin(process.argv))
  .option('archive', {
    type: 'string',
    default: fileURLToPath(new URL('../../../shared/datasets/cifar10-jpg.tar.gz', import.meta.url)),
    describe: 'A .tar.gz of train/<class>/*.jpg and test/<class>/*.jpg',
  })
  .option('folder', { type: 'string', describe: 'An unpacked tree instead of the archive' })
  .option('rounds', { type: 'number', default: 2, describe: 'Cold and cached loads each' })
  .option('dataset', { type: 'string', default: 'fashion-mnist' })
  .option('child', { type: 'string', hidden: true, describe: 'JSON of one load to run' })
  .strict()
  .parseAsync();

/** What one load in a child process reports. */
interface LoadResult {
  seconds: number;
  /** Folders decoded rather than read from the cache. */
  decoded: string[];
  cached: string[];
  images: number;
  rawPixelBytes: number;
  sharedBytes: number;
  rssBytes: number;
}

interface LoadRequest {
  dataset: string;
  test?: string;
  cacheDir: string;
}

if (argv.child !== undefined) {
  process.stdout.write(JSON.stringify(await measureLoad(JSON.parse(argv.child))) + '\n');
} else {
  await main();
}

async function measureLoad(request: LoadRequest): Promise<LoadResult> {
  const decoded = new Set<string>();
  const cached: string[] = [];
  const onProgress = (event: LoadProgress) => {
    if (event.kind === 'decode') decoded.add(event.folder);
    if (event.kind === 'cached') cached.push(event.folder);
  };
  const started = performance.now();
  const splits = await loadDataset({ ...request, download: false, onProgress });
  const seconds = (performance.now() - started) / 1000;
  const { rawPixelBytes, sharedBytes, images } = memoryOf(splits);
  return {
    seconds,
    decoded: [...decoded],
    cached,
    images,
    rawPixelBytes,
    sharedBytes,
    rssBytes: process.memoryUsage().rss,
  };
}

/** Raw pixel bytes of the sets against the shared memory training puts them in. */
function memoryOf(splits: DatasetSplits) {
  const sets = splits.test ? [splits.train, splits.test] : [splits.train];
  const rawPixelBytes = sets.reduce((sum, set) => sum + set.pixels.byteLength, 0);
  const images = sets.reduce((sum, set) => sum + set.count, 0);
  const prepared = prepareData(splits, resolveOptions({ dataset: 'in memory' }));
  const buffers = new Set<SharedArrayBuffer>();
  const add = (samples: SharedSamples | undefined) => {
    if (!samples) return;
    for (const buffer of [samples.pixels, samples.labels, samples.indices]) {
      if (buffer) buffers.add(buffer);
    }
  };
  add(prepared.train);
  add(prepared.validation?.samples);
  add(prepared.test?.samples);
  const sharedBytes = [...buffers].reduce((sum, buffer) => sum + buffer.byteLength, 0);
  return { rawPixelBytes, sharedBytes, images };
}

function load(request: LoadRequest): LoadResult {
  const script = fileURLToPath(import.meta.url);
  const child = spawnSync(process.execPath, [script, '--child', JSON.stringify(request)], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`a load of ${request.dataset} failed:\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as LoadResult;
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'syncgrad-bench-load-'));
  try {
    let root = argv.folder;
    if (root === undefined) {
      const started = performance.now();
      root = join(scratch, 'tree');
      rmSync(root, { recursive: true, force: true });
      await import('node:fs/promises').then((fs) => fs.mkdir(root!, { recursive: true }));
      await extract({ file: argv.archive, cwd: root });
      const unpacked = readdirSync(root);
      if (unpacked.length === 1 && !['train', 'test'].includes(unpacked[0])) {
        root = join(root, unpacked[0]);
      }
      console.log(`unpacked ${argv.archive} in ${seconds(performance.now() - started)}`);
    }
    const request = (cacheDir: string): LoadRequest => ({
      dataset: join(root!, 'train'),
      test: join(root!, 'test'),
      cacheDir,
    });

    // cold: an empty cache each round; cached: the cache the last cold round left
    const cold: LoadResult[] = [];
    let cacheDir = '';
    for (let round = 0; round < argv.rounds; round++) {
      cacheDir = mkdtempSync(join(scratch, 'cache-'));
      cold.push(load(request(cacheDir)));
    }
    const cached = Array.from({ length: argv.rounds }, () => load(request(cacheDir)));

    // a changed file invalidates its folder's cache only
    const trainFolder = join(root, 'train');
    const firstClass = readdirSync(trainFolder).sort()[0];
    const someFile = join(trainFolder, firstClass, readdirSync(join(trainFolder, firstClass))[0]);
    const later = new Date(Date.now() + 5000);
    utimesSync(someFile, later, later);
    const changed = load(request(cacheDir));

    // a damaged cache file is rebuilt, never trusted
    const cacheFile = imageCacheFile(cacheDir, trainFolder);
    flipByte(cacheFile, 4096);
    const damaged = load(request(cacheDir));
    const afterRepair = load(request(cacheDir));

    const best = (results: LoadResult[]) => Math.min(...results.map((result) => result.seconds));
    const all = (results: LoadResult[]) =>
      results.map((result) => result.seconds.toFixed(2)).join(', ');
    const summary = cold[0];
    console.log(`\n${summary.images.toLocaleString('en-US')} images from ${root}`);
    console.log(
      `cold load (no decoded cache)   best ${best(cold).toFixed(2)} s   (rounds: ${all(cold)})   ` +
        `target <= 15 s: ${best(cold) <= 15 ? 'met' : 'missed'}`,
    );
    console.log(
      `cached load                    best ${best(cached).toFixed(2)} s   (rounds: ${all(cached)})   ` +
        `target <= 2 s: ${best(cached) <= 2 ? 'met' : 'missed'}`,
    );
    console.log(`cold / cached                  ${(best(cold) / best(cached)).toFixed(1)}x`);
    console.log(
      `one file touched               ${changed.seconds.toFixed(2)} s, decoded ` +
        `${describeFolders(changed.decoded)}, cached ${describeFolders(changed.cached)}`,
    );
    console.log(
      `cache file damaged             ${damaged.seconds.toFixed(2)} s, decoded ` +
        `${describeFolders(damaged.decoded)}; next load ${afterRepair.seconds.toFixed(2)} s ` +
        `from the cache: ${afterRepair.decoded.length === 0 ? 'yes' : 'no'}`,
    );
    reportMemory(`image folders`, summary);
    if (argv.dataset) {
      try {
        reportMemory(argv.dataset, load({ dataset: argv.dataset, cacheDir }));
      } catch (error) {
        console.log(`${argv.dataset}: not measured (${String(error).split('\n')[0]})`);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function reportMemory(name: string, result: LoadResult): void {
  const ratio = result.sharedBytes / result.rawPixelBytes;
  console.log(
    `shared memory, ${name.padEnd(14)} ${megabytes(result.sharedBytes)} for ` +
      `${megabytes(result.rawPixelBytes)} of raw pixels: ${ratio.toFixed(3)}x   ` +
      `target <= 1.05x: ${ratio <= 1.05 ? 'met' : 'missed'}   (process RSS ` +
      `${megabytes(result.rssBytes)})`,
  );
}

function describeFolders(folders: string[]): string {
  return folders.length === 0
    ? 'none'
    : folders.map((folder) => folder.split('/').at(-1)).join(' and ');
}

function flipByte(file: string, position: number): void {
  const handle = openSync(file, 'r+');
  const byte = Buffer.alloc(1);
  readSync(handle, byte, 0, 1, position);
  byte[0] ^= 0xff;
  writeSync(handle, byte, 0, 1, position);
  closeSync(handle);
}

function seconds(milliseconds: number): string {
  return `${(milliseconds / 1000).toFixed(1)} s`;
}

function megabytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}
