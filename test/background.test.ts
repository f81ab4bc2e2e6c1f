// trainInWorker runs the coordinator in its own thread: the same run gives the
// same model as train(), callbacks arrive, and aborting reaches the other side.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { trainInWorker } from '../src/coordinator/background.js';
import { train } from '../src/coordinator/trainer.js';
import { OptionError } from '../src/shared/errors.js';
import { syntheticImages } from './helpers/synthetic.js';

const images = syntheticImages(600, 4, 8, 16, 16);

test('trainInWorker trains the same model as train and reports every epoch', async () => {
  const epochs: number[] = [];
  let progressEvents = 0;
  const background = await trainInWorker({
    dataset: images,
    workers: 2,
    epochs: 3,
    onEpoch: (record) => epochs.push(record.epoch),
    onProgress: () => progressEvents++,
  });
  const direct = await train({ dataset: images, workers: 2, epochs: 3 });

  assert.equal(background.paramsDigest, direct.paramsDigest);
  assert.deepEqual(epochs, [1, 2, 3]);
  assert.ok(progressEvents >= 3, `progress events: ${progressEvents}`);
  assert.ok(background.model.parameters instanceof Float32Array);
});

test('aborting the signal stops the run in the background thread', async () => {
  const controller = new AbortController();
  await assert.rejects(
    trainInWorker({
      dataset: images,
      workers: 2,
      epochs: 200,
      signal: controller.signal,
      onEpoch: () => controller.abort(),
    }),
    { name: 'TrainingAbortedError' },
  );
});

test('errors from the background thread keep their class', async () => {
  await assert.rejects(trainInWorker({ dataset: images, workers: 0 }), (error: unknown) => {
    assert.ok(error instanceof OptionError);
    assert.match(error.message, /--workers must be a whole number/);
    return true;
  });
});
