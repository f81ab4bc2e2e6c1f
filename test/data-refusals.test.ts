// What the dataset layer refuses instead of ignoring or misreading: reading
// options that do not apply to the source, a test set of another kind,
// mistyped library arguments, and files that only look like numbers or
// inflate past what they declare. Each is an OptionError or DatasetError that
// names the flag or the data.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { loadDataset } from '../src/coordinator/data/index.js';
import type { LoadOptions } from '../src/coordinator/data/index.js';
import { datasetFromArrays, datasetFromSamples } from '../src/coordinator/dataset-builders.js';
import { checkDataset } from '../src/coordinator/dataset.js';
import { train } from '../src/coordinator/trainer.js';
import { DatasetError, OptionError } from '../src/shared/errors.js';
import { temporaryFolder, writeClassFolders } from './data-fixtures.js';
import { hasStackTrace, runCli } from './helpers/cli.js';
import { idxFileBytes, writeIdxFile } from './helpers/idx-files.js';

async function optionError(action: Promise<unknown> | (() => unknown)): Promise<OptionError> {
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (error) {
    assert.ok(error instanceof OptionError, `expected an OptionError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected an OptionError');
}

async function datasetError(action: Promise<unknown> | (() => unknown)): Promise<DatasetError> {
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (error) {
    assert.ok(error instanceof DatasetError, `expected a DatasetError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a DatasetError');
}

async function sources(t: Parameters<typeof temporaryFolder>[0]) {
  const root = await temporaryFolder(t);
  const csv = join(root, 'rows.csv');
  await writeFile(csv, '0,1,2,3,4\n1,5,6,7,8\n');
  const idx = join(root, 'train-images-idx3-ubyte');
  await writeIdxFile(idx, 'uint8', [2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
  await writeIdxFile(join(root, 'train-labels-idx1-ubyte'), 'uint8', [2], [0, 1]);
  const folder = join(root, 'photos');
  await writeClassFolders(folder, { cats: 2, dogs: 2 });
  return { root, csv, idx, folder };
}

test('image options with a CSV or IDX dataset, and a label column with images, are refused', async (t) => {
  const { csv, idx, folder, root } = await sources(t);
  const cacheDir = join(root, 'cache');
  const cases: [LoadOptions, string, RegExp][] = [
    [
      { dataset: csv, channels: 3 },
      'channels',
      /--channels applies to image folders and manifests only, but --dataset .*rows\.csv is a \.csv file of pixels/,
    ],
    [
      { dataset: idx, imageSize: { width: 4, height: 4 } },
      'image-size',
      /--image-size applies to image folders .* is an IDX file/,
    ],
    [{ dataset: csv, skipBad: true }, 'skip-bad', /--skip-bad applies to image folders/],
    [
      { dataset: folder, labelColumn: 'label', cacheDir },
      'label-column',
      /--label-column applies to a \.csv file of pixels only, but --dataset .* is a folder of images/,
    ],
    [{ dataset: 'mnist', channels: 1 }, 'channels', /is a named dataset/],
  ];
  for (const [options, flag, message] of cases) {
    const error = await optionError(loadDataset(options));
    assert.equal(error.option, flag);
    assert.match(error.message, message);
  }
});

test('a test set of another kind than the dataset is refused, naming both', async (t) => {
  const { csv, idx, folder } = await sources(t);

  const idxForFolder = await optionError(loadDataset({ dataset: folder, test: idx }));
  const folderForCsv = await optionError(loadDataset({ dataset: csv, test: folder }));

  assert.equal(idxForFolder.option, 'test');
  assert.match(
    idxForFolder.message,
    /--test .*train-images-idx3-ubyte is an IDX file, but --dataset .*photos is a folder of images/,
  );
  assert.match(
    folderForCsv.message,
    /--test .*photos is a folder of images, but --dataset .*rows\.csv is a \.csv file of pixels/,
  );
});

test('an empty --test is refused on the command line, not read as the current folder', async (t) => {
  const { folder } = await sources(t);

  const run = await runCli(['train', '--dataset', folder, '--test', '']);

  assert.equal(run.status, 1);
  assert.match(run.stderr, /--test is empty; expected a dataset name/);
  assert.ok(!hasStackTrace(run.stderr), run.stderr);
});

test('mistyped library arguments are OptionErrors or DatasetErrors, not TypeErrors', async () => {
  const options = [
    () => loadDataset(null as unknown as LoadOptions),
    () => loadDataset({ dataset: 42 } as unknown as LoadOptions),
    () => loadDataset({ dataset: 'x.csv', channels: '1' } as unknown as LoadOptions),
    () => loadDataset({ dataset: 'x.csv', imageSize: '4x4' } as unknown as LoadOptions),
    () => loadDataset({ dataset: 'x.csv', labelColumn: {} } as unknown as LoadOptions),
    () => train({ dataset: 42 } as never),
    () => train({ dataset: { foo: 1 } } as never),
  ];
  const messages = [];
  for (const action of options) messages.push((await optionError(action)).message);
  assert.match(messages[2], /got '1' \(a string\)/);
  assert.match(messages[3], /got '4x4' \(a string\)/);

  const data = [
    () => datasetFromArrays(null as never),
    () => datasetFromSamples([], undefined as never),
    () =>
      datasetFromArrays({ pixels: 'abc', labels: [0], height: 1, width: 1, channels: 1 } as never),
    () =>
      datasetFromArrays({
        pixels: new Uint8Array(2),
        labels: [0, 1],
        height: 1,
        width: 1,
        channels: 1,
        classNames: ['a', 'a'],
      }),
  ];
  for (const action of data) await datasetError(action);
});

test('generated samples: plain numbers are 8-bit by default, and floats and bytes do not mix', async () => {
  const shape = { height: 1, width: 2, channels: 1, source: 'gen' };

  const outOfRange = await datasetError(
    datasetFromSamples([{ pixels: [300, 1], label: 0 }], shape),
  );
  const mixed = await datasetError(
    datasetFromSamples(
      [
        { pixels: Float32Array.of(0.5, 1), label: 0 },
        { pixels: Uint8Array.of(200, 1), label: 1 },
      ],
      shape,
    ),
  );
  const badLabel = await datasetError(
    datasetFromSamples([{ pixels: [1, 2], label: Number.NaN }], shape),
  );

  assert.match(
    outOfRange.message,
    /sample 0 of gen has pixel value 300 .* whole numbers 0\.\.255 \(or pixelType float32/,
  );
  assert.match(
    mixed.message,
    /sample 1 of gen has 8-bit pixels \(Uint8Array\), but the dataset holds float pixels/,
  );
  assert.match(badLabel.message, /sample 0 of gen has label NaN/);
});

test('a huge label or a mistyped argument of the builders is refused at once', async () => {
  const shape = { height: 2, width: 2, channels: 1, source: 'gen' };
  const samples = [
    { pixels: new Uint8Array(4), label: 0 },
    { pixels: new Uint8Array(4), label: 1e9 },
  ];

  const huge = await datasetError(datasetFromSamples(samples, shape));
  const hugeArrays = await datasetError(() =>
    datasetFromArrays({
      pixels: new Uint8Array(8),
      labels: [0, 2e9],
      height: 2,
      width: 2,
      channels: 1,
    }),
  );
  const names = await datasetError(
    datasetFromSamples(samples, { ...shape, classNames: 'ab' as never }),
  );
  const notIterable = await datasetError(datasetFromSamples(42 as never, shape));

  // classes are numbered up to the largest label, at most 10,000 of them
  assert.match(huge.message, /image 1 of gen has label 1000000000; .* at most 10000 are allowed/);
  assert.match(hugeArrays.message, /has label 2000000000/);
  assert.match(names.message, /classNames is 'ab' \(a string\); expected an array of strings/);
  assert.match(notIterable.message, /needs an iterable or async iterable/);
});

test('one stray large label is named, not only reported as many empty classes', () => {
  const labels = Int32Array.from([0, 1, 0, 1, 200]);
  const dataset = {
    pixels: new Uint8Array(5),
    labels,
    count: 5,
    height: 1,
    width: 1,
    channels: 1,
    classNames: Array.from({ length: 201 }, (_, index) => String(index)),
    source: 'stray.csv',
  };

  assert.throws(
    () => checkDataset(dataset, 'train'),
    /image 4 of stray\.csv has label 200, and the classes are numbered 0 to the largest label.*--label-column/,
  );
});

test('CSV cells that only Number() reads as whole numbers are refused', async (t) => {
  const root = await temporaryFolder(t);
  for (const cell of ['0x10', '1e2', '+5']) {
    const file = join(root, `cell-${cell}.csv`);
    await writeFile(file, `0,1,2\n1,${cell},3\n`);
    const error = await datasetError(loadDataset({ dataset: file }));
    assert.ok(error.message.includes(`a whole pixel value from 0 to 255, found '${cell}'`));
  }
});

test('a small gzipped IDX file that inflates far past its header is stopped early', async (t) => {
  const root = await temporaryFolder(t);
  const file = join(root, 'bomb-images-idx3-ubyte.gz');
  // a header of 400 values, then 50 MB of zeros, which gzip packs into about 50 KB
  const header = idxFileBytes('uint8', [4, 10, 10], new Array(400).fill(0));
  await writeFile(file, gzipSync(Buffer.concat([header, Buffer.alloc(50 * 2 ** 20)])));

  const error = await datasetError(loadDataset({ dataset: file }));

  // 16 header bytes and 400 values declared; unpacking stops within zlib's first chunks
  assert.match(error.message, /unpacks to more than the 416 bytes its IDX header declares/);
  const stopped = Number(/unpacking stopped after (\d+)/.exec(error.message)?.[1]);
  assert.ok(stopped < 2 ** 20, `unpacked ${stopped} bytes of 50 MB`);
});

test('a manifest listing one image twice, and a CSV with two label columns, are refused', async (t) => {
  const root = await temporaryFolder(t);
  await writeClassFolders(join(root, 'photos'), { a: 1, b: 1 });
  const manifest = join(root, 'photos', 'list.csv');
  await writeFile(manifest, 'path,label\na/0.png,a\nb/0.png,b\na/0.png,b\n');
  const csv = join(root, 'twice.csv');
  await writeFile(csv, 'label,p0,Label\n0,1,1\n1,2,0\n');

  const listedTwice = await datasetError(
    loadDataset({ dataset: manifest, cacheDir: join(root, 'c') }),
  );
  const twoLabels = await optionError(loadDataset({ dataset: csv }));

  assert.match(listedTwice.message, /line 4: a\/0\.png is listed again \(first on line 2\)/);
  assert.match(twoLabels.message, /has two columns named label \(columns 0 and 2/);
});
