// The thread that measures the tfjs-layers `model.fit` peer of `syncgrad bench`:
// it trains the MLP syncgrad saves with model.fit on synthetic data and posts
// back the training throughput of the timed batches. It runs in a thread of its
// own so that the caller's TensorFlow.js backend and tensors are never touched.

import { parentPort } from 'node:worker_threads';

import * as tf from '@tensorflow/tfjs';

import { parameterLayout } from '../../shared/layout.js';
import { buildLayersModel } from '../model-io.js';
import { initializeParameters } from '../session.js';
import type { FitPeerOptions } from './fit-peer.js';

/** What the main thread posts: the options of one measurement, checked, defaults filled in. */
export type FitPeerRequest = Required<FitPeerOptions>;

/** What model.fit achieved over the timed batches. */
export interface FitPeerResult {
  samplesPerSecond: number;
  /** Timed batches, after the warm-up. */
  steps: number;
  /** Length of the timed run, in seconds. */
  seconds: number;
  /** The TensorFlow.js backend model.fit ran on. */
  backend: string;
  /** Loss of the very first batch, before any update. */
  firstLoss: number;
  /** Loss of the last timed batch. */
  lastLoss: number;
}

/** The one message this thread posts back. */
export type FitPeerReply =
  { kind: 'result'; result: FitPeerResult } | { kind: 'failed'; message: string };

/**
 * Batches before the clock starts: the first ones compile kernels, allocate
 * the optimizer's moments and grow the wasm heap, and are far slower.
 */
const kWarmupBatches = 3;

/** Batches of synthetic data; model.fit walks them all once per call. */
const kDataBatches = 20;

/** Seed of the initial parameters and the synthetic data. */
const kSeed = 42;

async function measure(request: FitPeerRequest): Promise<FitPeerResult> {
  // PROD before the first tensor: it silences the cpu backend's advice to
  // install tfjs-node, since only the coordinator prints
  tf.env().set('PROD', true);
  if (request.backend === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // one thread, like one syncgrad worker
    wasm.setThreadsCount(1);
  }
  if (!(await tf.setBackend(request.backend))) {
    throw new Error(`the TensorFlow.js backend '${request.backend}' failed to initialize`);
  }
  await tf.ready();

  // the model and initialization syncgrad trains; Flatten needs a rank of at
  // least 3, so the flat input is given as a 1×1 image with inputSize channels
  const shape = {
    inputSize: request.inputSize,
    hiddenSizes: request.hiddenSizes,
    outputSize: request.outputSize,
  };
  const parameters = new Float32Array(parameterLayout(shape).count);
  initializeParameters(shape, kSeed, parameters);
  const model = buildLayersModel({
    shape,
    inputShape: [1, 1, shape.inputSize],
    classNames: Array.from({ length: shape.outputSize }, (_, index) => `class_${index}`),
    parameters,
  });
  const optimizer = tf.train.adam(request.learningRate, 0.9, 0.999, 1e-7);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });

  // learnable data, like images of classes: each row is half its class's
  // fixed random prototype and half uniform noise, all in [0, 1), so the loss
  // falls within a few batches once training works
  const rows = kDataBatches * request.globalBatch;
  const labels = tf.randomUniformInt([rows], 0, shape.outputSize, kSeed);
  const x = tf.tidy(() => {
    const prototypes = tf.randomUniform(
      [shape.outputSize, shape.inputSize],
      0,
      1,
      'float32',
      kSeed,
    );
    const noise = tf.randomUniform([rows, shape.inputSize], 0, 1, 'float32', kSeed + 1);
    return prototypes.gather(labels).add(noise).mul(0.5).reshape([rows, 1, 1, shape.inputSize]);
  });
  const y = tf.oneHot(labels, shape.outputSize);
  labels.dispose();

  // the clock starts at the end of the last warm-up batch; every later batch
  // end is one timed step, so the gaps between fit calls are timed too
  let batches = 0;
  let timedFrom = 0;
  let timedUntil = 0;
  let firstLoss = Number.NaN;
  let lastLoss = Number.NaN;
  let finished = false;
  const onBatchEnd = (_batch: number, logs?: tf.Logs): void => {
    const now = performance.now();
    const loss = Number(logs?.loss);
    batches++;
    if (batches === 1) firstLoss = loss;
    lastLoss = loss;
    if (batches === kWarmupBatches) timedFrom = now;
    if (batches <= kWarmupBatches) return;
    timedUntil = now;
    if (timedUntil - timedFrom >= request.seconds * 1000) {
      finished = true;
      model.stopTraining = true;
    }
  };

  // fit resets stopTraining on every call, hence the finished flag
  try {
    while (!finished) {
      await model.fit(x, y, {
        epochs: 1,
        batchSize: request.globalBatch,
        shuffle: false,
        verbose: 0,
        callbacks: { onBatchEnd },
      });
    }
  } finally {
    tf.dispose([x, y]);
    model.dispose();
    optimizer.dispose();
  }

  const steps = batches - kWarmupBatches;
  const seconds = (timedUntil - timedFrom) / 1000;
  return {
    samplesPerSecond: (steps * request.globalBatch) / seconds,
    steps,
    seconds,
    backend: tf.getBackend(),
    firstLoss,
    lastLoss,
  };
}

parentPort!.once('message', (request: FitPeerRequest) => {
  measure(request).then(
    (result) => parentPort!.postMessage({ kind: 'result', result } satisfies FitPeerReply),
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      parentPort!.postMessage({ kind: 'failed', message } satisfies FitPeerReply);
    },
  );
});
