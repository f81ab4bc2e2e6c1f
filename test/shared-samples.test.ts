// Datasets in shared memory: 8-bit pixels stay 8-bit (the shared copy is the
// size of the raw data, and a validation split shares it), both engines give
// 8-bit rows exactly the gradients of the same rows divided by 255, and a run
// on 8-bit images ends with the parameters of the same run on those floats.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { loadDataset } from '../src/coordinator/data/index.js';
import { saveModel } from '../src/coordinator/model-io.js';
import { subset, toSharedSamples } from '../src/coordinator/samples.js';
import { train } from '../src/coordinator/trainer.js';
import type { LabelledImages } from '../src/shared/images.js';
import { parameterLayout } from '../src/shared/layout.js';
import type { ModelShape } from '../src/shared/layout.js';
import { loadBackend } from '../src/worker/backend.js';
import type { GradientEngine, ShardRows } from '../src/worker/engine.js';
import { OnnxEngine } from '../src/worker/onnx-engine.js';
import { TfjsEngine } from '../src/worker/tfjs-engine.js';
import { temporaryFolder, writeClassFolders } from './data-fixtures.js';
import { writeIdxFile } from './helpers/idx-files.js';
import { noise, randomParameters, syntheticImages } from './helpers/synthetic.js';

test('8-bit pixels are shared as they are, and a split indexes into the same memory', () => {
  const images = syntheticImages(50, 3, 1, 6, 5);

  const stored = toSharedSamples(images);
  const part = subset(stored, Int32Array.from([4, 9, 2]));

  // one byte per pixel and four per label: the raw data, nothing normalized
  assert.equal(stored.pixelType, 'uint8');
  assert.equal(stored.pixels.byteLength, 50 * 6 * 5);
  assert.equal(stored.labels.byteLength, 50 * 4);
  assert.deepEqual(new Uint8Array(stored.pixels), images.pixels);
  assert.equal(part.pixels, stored.pixels);
  assert.equal(part.count, 3);
  assert.deepEqual([...new Int32Array(part.indices!)], [4, 9, 2]);
});

test('float pixels are shared as floats, unscaled', () => {
  const images = floatImages(syntheticImages(8, 2, 2, 3, 3));

  const stored = toSharedSamples(images);

  assert.equal(stored.pixelType, 'float32');
  assert.deepEqual(new Float32Array(stored.pixels), images.pixels);
});

test('the loaders read 8-bit pixels into shared memory, which training then uses in place', async (t) => {
  const root = await temporaryFolder(t);
  const cacheDir = join(root, 'cache');
  await writeClassFolders(join(root, 'photos'), { cats: 3, dogs: 2 });
  const idxImages = join(root, 'train-images-idx3-ubyte');
  await writeIdxFile(
    idxImages,
    'uint8',
    [4, 2, 2],
    Array.from({ length: 16 }, (_, i) => i),
  );
  await writeIdxFile(join(root, 'train-labels-idx1-ubyte'), 'uint8', [4], [0, 1, 0, 1]);
  await writeFile(join(root, 'rows.csv'), '0,1,2\n1,3,4\n');

  // decoded, then from the decoded cache, then IDX and CSV
  const loaded = [];
  for (const dataset of [
    join(root, 'photos'),
    join(root, 'photos'),
    idxImages,
    join(root, 'rows.csv'),
  ]) {
    loaded.push((await loadDataset({ dataset, cacheDir })).train);
  }

  for (const images of loaded) {
    assert.ok(images.pixels.buffer instanceof SharedArrayBuffer, images.source);
    assert.equal(toSharedSamples(images).pixels, images.pixels.buffer, images.source);
  }
});

const kShape: ModelShape = { inputSize: 30, hiddenSizes: [7, 5], outputSize: 3 };

const kEngines: { name: string; create: () => Promise<GradientEngine> }[] = [
  { name: 'onnx', create: () => OnnxEngine.create(kShape, parameterLayout(kShape), 'uint8') },
  {
    name: 'tfjs',
    create: async () => new TfjsEngine(await loadBackend('wasm'), parameterLayout(kShape)),
  },
];

for (const { name, create } of kEngines) {
  test(`${name} engine: 8-bit rows give the gradients of the rows divided by 255, exactly`, async () => {
    const layout = parameterLayout(kShape);
    const parameters = randomParameters(layout, 3);
    const next = noise(4);
    const count = 11;
    const bytes = Uint8Array.from({ length: count * kShape.inputSize }, () => next() * 256);
    const targets = new Float32Array(count * kShape.outputSize);
    for (let row = 0; row < count; row++) targets[row * kShape.outputSize + (row % 3)] = 1;
    const eightBit: ShardRows = { inputs: bytes, targets, count };
    const floats: ShardRows = {
      inputs: Float32Array.from(bytes, (value) => value / 255),
      targets,
      count,
    };
    const engine = await create();

    const fromBytes = new Float32Array(layout.count);
    const fromFloats = new Float32Array(layout.count);
    const byteLoss = await engine.gradients(eightBit, parameters, fromBytes);
    const floatLoss = await engine.gradients(floats, parameters, fromFloats);
    const byteClasses = new Int32Array(count);
    const floatClasses = new Int32Array(count);
    const byteEvaluation = await engine.evaluate(eightBit, parameters, byteClasses);
    const floatEvaluation = await engine.evaluate(floats, parameters, floatClasses);
    await engine.dispose();

    assert.deepEqual(fromBytes, fromFloats);
    assert.equal(byteLoss.lossSum, floatLoss.lossSum);
    assert.equal(byteEvaluation.lossSum, floatEvaluation.lossSum);
    assert.deepEqual(byteClasses, floatClasses);
  });

  test(`${name} engine: a run on 8-bit images ends where the same run on their floats does`, async () => {
    const images = syntheticImages(120, 3, 5, 6, 5);
    const testImages = syntheticImages(30, 3, 6, 6, 5);
    const settings = {
      workers: 2,
      epochs: 2,
      batchSize: 16,
      hiddenSizes: [8],
      engine: name as 'onnx' | 'tfjs',
    };

    const eightBit = await train({ ...settings, dataset: { train: images, test: testImages } });
    const floats = await train({
      ...settings,
      dataset: { train: floatImages(images), test: floatImages(testImages) },
    });
    // a float test set beside 8-bit training images meets the model on the same scale
    const mixed = await train({
      ...settings,
      dataset: { train: images, test: floatImages(testImages) },
    });

    assert.equal(eightBit.paramsDigest, floats.paramsDigest);
    assert.equal(eightBit.test!.loss, floats.test!.loss);
    assert.equal(mixed.test!.loss, eightBit.test!.loss);
    assert.equal(eightBit.model.pixelType, 'uint8');
    assert.equal(floats.model.pixelType, 'float32');
  });
}

test('a saved model says how its input pixels are scaled', async (t) => {
  const folder = await temporaryFolder(t);
  const images = syntheticImages(40, 2, 7, 4, 4);
  const settings = { workers: 1, epochs: 1, batchSize: 8, hiddenSizes: [4] };

  const scales = [];
  for (const dataset of [images, floatImages(images)]) {
    const summary = await train({ ...settings, dataset });
    const directory = join(folder, summary.model.pixelType);
    await saveModel(summary.model, directory);
    const saved = JSON.parse(await readFile(join(directory, 'model.json'), 'utf8'));
    scales.push(saved.userDefinedMetadata.inputScale);
  }

  assert.deepEqual(scales, ['1/255', '1']);
});

function floatImages(images: LabelledImages): LabelledImages {
  return { ...images, pixels: Float32Array.from(images.pixels, (value) => value / 255) };
}
