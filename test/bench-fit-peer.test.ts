// The model.fit peer of `syncgrad bench` trains for real in a thread of its
// own, leaves the caller's TensorFlow.js backend alone, and rejects options that
// cannot work with an error naming the option.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { measureModelFit, type FitPeerOptions } from '../src/coordinator/bench/fit-peer.js';
import { OptionError, SyncgradError } from '../src/shared/errors.js';

const mnistSized: FitPeerOptions = {
  inputSize: 784,
  hiddenSizes: [200, 150],
  outputSize: 10,
  globalBatch: 32,
  learningRate: 0.001,
  seconds: 0.5,
};

test('a short run of model.fit on wasm reports its rate and a falling loss', async () => {
  const result = await measureModelFit(mnistSized);

  assert.equal(result.backend, 'wasm');
  assert.ok(result.samplesPerSecond > 0, `samplesPerSecond ${result.samplesPerSecond}`);
  assert.ok(result.steps >= 3, `steps ${result.steps}`);
  assert.ok(result.seconds >= 0.5, `seconds ${result.seconds}`);
  // each class's rows share a prototype, so the loss falls from its start
  // near ln 10 within the three warm-up and three timed batches at least
  assert.ok(
    result.lastLoss < result.firstLoss,
    `loss went from ${result.firstLoss} to ${result.lastLoss} in ${result.steps} steps`,
  );
});

test("the caller's backend is untouched by the measuring thread", async () => {
  // undefined when nothing has run here yet; asking for tf.memory() would
  // initialize a backend, so the backend's name alone is compared
  const backendBefore = tf.getBackend();

  const result = await measureModelFit({ ...mnistSized, hiddenSizes: [16], seconds: 0.2 });

  assert.equal(result.backend, 'wasm');
  assert.equal(tf.getBackend(), backendBefore);
  assert.equal(tf.findBackend('wasm'), null);
});

test('a batch of 0 rejects with an error naming globalBatch', async () => {
  await assert.rejects(measureModelFit({ ...mnistSized, globalBatch: 0 }), (error: unknown) => {
    assert.ok(error instanceof SyncgradError);
    assert.ok(error instanceof OptionError);
    assert.equal(error.option, 'globalBatch');
    assert.equal(error.message, 'globalBatch must be a whole number of at least 1, got 0.');
    return true;
  });
});
