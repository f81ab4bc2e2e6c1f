// Stopping a run through its AbortSignal, and failures that must surface as
// clear errors instead of hanging the workers at a barrier.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { DataSummary } from '../src/coordinator/prepare-data.js';
import { train } from '../src/coordinator/trainer.js';
import { syntheticImages } from './helpers/synthetic.js';

const images = syntheticImages(2000, 10, 3);

test('aborting mid-epoch stops the workers and rejects with TrainingAbortedError', async () => {
  const controller = new AbortController();
  let lastStep = 0;
  const started = Date.now();
  await assert.rejects(
    train({
      dataset: images,
      workers: 2,
      epochs: 50,
      signal: controller.signal,
      onProgress: (progress) => {
        lastStep = progress.step;
        if (progress.step >= 5) controller.abort();
      },
    }),
    { name: 'TrainingAbortedError' },
  );
  assert.ok(lastStep >= 5);
  assert.ok(Date.now() - started < 30_000, 'the abort must not wait for the 50 epochs');
});

test('an already aborted signal trains nothing', async () => {
  const controller = new AbortController();
  controller.abort();
  let epochs = 0;
  await assert.rejects(
    train({ dataset: images, workers: 2, signal: controller.signal, onEpoch: () => epochs++ }),
    { name: 'TrainingAbortedError' },
  );
  assert.equal(epochs, 0);
});

test('a backend that cannot load fails before training with a BackendError', async () => {
  // @tensorflow/tfjs-node is an optional package this project never installs
  await assert.rejects(
    train({ dataset: images, workers: 2, backend: 'tensorflow' }),
    (error: Error) => {
      assert.equal(error.name, 'BackendError');
      assert.match(error.message, /@tensorflow\/tfjs-node/);
      return true;
    },
  );
});

test('option values that cannot work are OptionErrors naming the flag', async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ workers: 0 }, /--workers must be a whole number of at least 1, got 0/],
    [{ workers: 4, batchSize: 2 }, /--batch-size 2 is smaller than --workers 4/],
    [{ epochs: 1.5 }, /--epochs must be a whole number of at least 1, got 1.5/],
    [{ hiddenSizes: [200, 0] }, /--hidden must list positive whole layer widths/],
    [{ validationSplit: 1 }, /--validation-split must be at least 0 and below 1, got 1/],
    [{ learningRate: -1 }, /--lr must be a positive number, got -1/],
    [{ backend: 'gpu' }, /--backend must be one of wasm, cpu, tensorflow; got 'gpu'/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(train({ dataset: images, ...options }), { name: 'OptionError', message });
  }
});

test('when the onnx engine cannot load, auto falls back to tfjs with a one-line notice', async () => {
  process.env.SYNCGRAD_TEST_FAULT = 'onnx-unavailable';
  try {
    const notices: string[] = [];
    const summary = await train({
      dataset: images,
      workers: 2,
      maxSteps: 5,
      onNotice: (message) => notices.push(message),
    });
    assert.equal(summary.engine, 'tfjs');
    assert.equal(summary.backend, 'wasm');
    assert.deepEqual(notices, [
      'the onnx engine could not load (onnxruntime-node is switched off by ' +
        'SYNCGRAD_TEST_FAULT=onnx-unavailable); training with the slower tfjs engine',
    ]);

    // asked for by name, onnx is not replaced behind the caller's back
    await assert.rejects(train({ dataset: images, workers: 2, maxSteps: 5, engine: 'onnx' }), {
      name: 'EngineError',
      message: /switched off by SYNCGRAD_TEST_FAULT=onnx-unavailable\. Use --engine tfjs/,
    });
  } finally {
    delete process.env.SYNCGRAD_TEST_FAULT;
  }
});

test('by default the onnx engine trains, and the summary says so', async () => {
  const summary = await train({ dataset: images, workers: 2, maxSteps: 5 });
  assert.equal(summary.engine, 'onnx');
  assert.equal(summary.backend, 'native');
});

test('when the default wasm backend cannot load, the tfjs engine falls back to cpu with a notice', async () => {
  process.env.SYNCGRAD_TEST_FAULT = 'wasm-unavailable';
  try {
    const notices: string[] = [];
    const summary = await train({
      dataset: images,
      workers: 2,
      maxSteps: 5,
      engine: 'tfjs',
      onNotice: (message) => notices.push(message),
    });
    assert.equal(summary.engine, 'tfjs');
    assert.equal(summary.backend, 'cpu');
    assert.equal(notices.length, 1);
    assert.match(notices[0], /wasm backend failed to load .* cpu backend/);

    // asked for by name, wasm is not replaced behind the caller's back
    await assert.rejects(train({ dataset: images, workers: 2, maxSteps: 5, backend: 'wasm' }), {
      name: 'BackendError',
    });
  } finally {
    delete process.env.SYNCGRAD_TEST_FAULT;
  }
});

test('a model too large for memory is an OptionError naming --hidden and the size', async () => {
  await assert.rejects(train({ dataset: images, workers: 2, hiddenSizes: [1_000_000_000] }), {
    name: 'OptionError',
    message: /model of [\d,]+ parameters .* needs [\d.]+ GB .* WebAssembly memory .*--hidden/,
  });
});

test('a dataset of one class is a DatasetError: a classifier needs two', async () => {
  const oneClass = { ...syntheticImages(50, 1, 2), classNames: ['only'] };
  await assert.rejects(train({ dataset: oneClass, workers: 1 }), {
    name: 'DatasetError',
    message: /has 1 class \(only\); a classifier needs at least 2/,
  });
});

test('the data summary names every set before training starts', async () => {
  const reports: DataSummary[] = [];
  const summary = await train({
    dataset: images,
    workers: 2,
    maxSteps: 3,
    onData: (data) => reports.push(data),
  });
  assert.equal(reports.length, 1);
  assert.deepEqual(reports[0], summary.data);
  // 10% of each class is held out, rounded per class
  assert.equal(summary.data.train.count + summary.data.validation!.count, 2000);
  assert.ok(Math.abs(summary.data.validation!.count - 200) <= 5);
  assert.match(summary.data.validation!.source, /validation split/);
});

test('the validation split holds out the same fraction of every class', async () => {
  const { validationSplit } = await import('../src/coordinator/samples.js');
  const labels = Int32Array.from({ length: 1000 }, (_, index) =>
    index < 900 ? 0 : 1 + (index % 2),
  );
  const { train: kept, validation } = validationSplit(labels, 3, 0.1, 7);
  const count = (indices: Int32Array, label: number) =>
    indices.filter((index) => labels[index] === label).length;
  assert.deepEqual(
    [0, 1, 2].map((label) => count(validation, label)),
    [90, 5, 5],
  );
  assert.equal(kept.length + validation.length, 1000);
  assert.deepEqual(validationSplit(labels, 3, 0.1, 7).validation, validation);
});

test('the workers report where each step went, within the time the steps took', async () => {
  const summary = await train({ dataset: images, workers: 2, epochs: 1 });
  const time = summary.stepTime;
  for (const [part, milliseconds] of Object.entries(time)) {
    assert.ok(milliseconds >= 0 && Number.isFinite(milliseconds), `${part}: ${milliseconds}`);
  }
  assert.ok(time.computeMilliseconds > 0 && time.updateMilliseconds > 0);
  assert.ok(time.gatherMilliseconds > 0 && time.allReduceMilliseconds > 0);
  // the parts are consecutive within a step, so they add up to its wall time
  const parts = Object.values(time).reduce((sum, milliseconds) => sum + milliseconds, 0);
  const wall = (summary.history[0].seconds * 1000) / summary.steps;
  assert.ok(Math.abs(parts - wall) <= 0.01 * wall, `${parts} ms in parts, ${wall} ms per step`);
});
