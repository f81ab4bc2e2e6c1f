// The shared-memory all-reduce and optimizer kernels against TensorFlow.js's
// own optimizers fed the same mean gradients, step by step.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { parameterLayout, parameterRange } from '../src/shared/layout.js';
import {
  applyUpdate,
  createModelMemory,
  optimizerConfig,
  parameterView,
  reduceGradients,
  slotView,
} from '../src/shared/optimizers.js';
import type { OptimizerConfig } from '../src/shared/optimizers.js';
import { noise } from './helpers/synthetic.js';

// 16 inputs, 15 hidden units, 1 output: 16·15 + 15 + 15 + 1 = 271 parameters,
// not a whole number of cache lines or vectors, so the padded tail is exercised
const kShape = { inputSize: 16, hiddenSizes: [15], outputSize: 1 };
const kLayout = parameterLayout(kShape);
const kCount = kLayout.count;
const kSteps = 20;

function tfjsOptimizer(config: OptimizerConfig): tf.Optimizer {
  if (config.name === 'adam')
    return tf.train.adam(config.learningRate, config.beta1, config.beta2, config.epsilon);
  if (config.name === 'momentum') return tf.train.momentum(config.learningRate, config.momentum);
  return tf.train.sgd(config.learningRate);
}

for (const name of ['adam', 'sgd', 'momentum']) {
  test(`${name} matches TensorFlow.js's ${name} over ${kSteps} steps within 1e-6`, async () => {
    await tf.setBackend('cpu');
    const config = optimizerConfig(name, name === 'adam' ? 0.0005 : 0.01);
    const next = noise(3);
    const start = Float32Array.from({ length: kCount }, () => next() - 0.5);

    // three workers' slots: the mean gradient is the sum of the slots over 48
    const workers = 3;
    const model = createModelMemory(kLayout, config, workers);
    const parameters = parameterView(model, kCount);
    parameters.set(start);
    const variable = tf.variable(tf.tensor1d(start));
    const optimizer = tfjsOptimizer(config);

    for (let step = 1; step <= kSteps; step++) {
      const mean = new Float32Array(kCount);
      for (let rank = 0; rank < workers; rank++) {
        const slot = Float32Array.from({ length: kCount }, () => (next() - 0.5) * 2);
        slotView(model, rank, kCount).set(slot);
        for (let i = 0; i < kCount; i++) mean[i] += slot[i];
      }
      for (let i = 0; i < kCount; i++) mean[i] /= 48;
      // each worker reduces and updates its own range, as in training
      for (let rank = 0; rank < workers; rank++) {
        const [first, last] = parameterRange(kCount, rank, workers);
        reduceGradients(model, rank, first, last, 1 / 48);
      }
      for (let rank = 0; rank < workers; rank++) {
        const [first, last] = parameterRange(kCount, rank, workers);
        applyUpdate(config, step, model, rank, first, last);
      }
      const gradient = tf.tensor1d(mean);
      optimizer.applyGradients({ [variable.name]: gradient });
      gradient.dispose();
    }

    const expected = variable.dataSync();
    let worst = 0;
    for (let i = 0; i < kCount; i++) worst = Math.max(worst, Math.abs(parameters[i] - expected[i]));
    assert.ok(worst <= 1e-6, `largest parameter difference ${worst}`);
    assert.ok(Math.abs(parameters[0] - start[0]) > 1e-4, 'the parameters must have moved');
    optimizer.dispose();
    variable.dispose();
  });
}

test('an unknown optimizer or a non-positive learning rate is an OptionError naming the flag', () => {
  assert.throws(() => optimizerConfig('adagrad', 0.1), {
    name: 'OptionError',
    message: /--optimizer must be one of adam, sgd, momentum; got 'adagrad'/,
  });
  assert.throws(() => optimizerConfig('adam', 0), {
    name: 'OptionError',
    message: /--lr must be a positive number, got 0/,
  });
});
