// A saved model loads with tf.loadLayersModel and reproduces the accuracy the
// training run reported, predicted independently by tfjs-layers.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { evaluateLoadedModel, useFastestLocalBackend } from '../src/coordinator/evaluate-model.js';
import { loadModel, saveModel } from '../src/coordinator/model-io.js';
import { train } from '../src/coordinator/trainer.js';
import { syntheticImages } from './helpers/synthetic.js';

test('a saved model reloads with tf.loadLayersModel and reproduces the reported test accuracy', async () => {
  const trainImages = syntheticImages(1500, 5, 21, 12, 10);
  const testImages = syntheticImages(400, 5, 22, 12, 10);
  const summary = await train({
    dataset: { train: trainImages, test: testImages },
    workers: 2,
    epochs: 2,
    hiddenSizes: [16],
  });
  assert.ok(summary.test);
  const directory = await mkdtemp(join(tmpdir(), 'syncgrad-model-'));
  try {
    await saveModel(summary.model, directory, { 'history.json': summary.history });

    const model = await loadModel(directory);
    await useFastestLocalBackend();
    const report = evaluateLoadedModel(model, testImages);

    assert.deepEqual(model.classNames, trainImages.classNames);
    assert.deepEqual(model.inputShape, [12, 10, 1]);
    assert.equal(report.accuracy, summary.test.accuracy);
    assert.ok(
      Math.abs(report.loss - summary.test.loss) < 1e-4,
      `loss ${report.loss} vs ${summary.test.loss}`,
    );
    const history = JSON.parse(await readFile(join(directory, 'history.json'), 'utf8'));
    assert.equal(history.length, 2);
    model.layers.dispose();
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('loading a folder without a model is a ModelFileError naming the file', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'syncgrad-model-'));
  try {
    await assert.rejects(loadModel(directory), (error: Error) => {
      assert.equal(error.name, 'ModelFileError');
      assert.ok(error.message.includes(join(directory, 'model.json')));
      return true;
    });
    await writeFile(join(directory, 'model.json'), '{ not json');
    await assert.rejects(loadModel(directory), { name: 'ModelFileError' });
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
