// The shared-memory optimizers against TensorFlow.js's own optimizers fed the
// same gradients, step by step.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { applyUpdate, optimizerConfig, optimizerStateSize } from '../src/shared/optimizers.js';
import type { OptimizerConfig } from '../src/shared/optimizers.js';
import { noise } from './helpers/synthetic.js';

const kCount = 257;
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

    const parameters = start.slice();
    const state = new Float32Array(Math.max(1, optimizerStateSize(config) * kCount));
    const variable = tf.variable(tf.tensor1d(start));
    const optimizer = tfjsOptimizer(config);

    for (let step = 1; step <= kSteps; step++) {
      const gradients = Float32Array.from({ length: kCount }, () => (next() - 0.5) * 2);
      // split the update in two ranges, as two workers would apply it
      const slots = { values: gradients, slots: 1, stride: kCount, scale: 1 };
      applyUpdate(config, step, parameters, state, slots, 0, 100);
      applyUpdate(config, step, parameters, state, slots, 100, kCount);
      const gradient = tf.tensor1d(gradients);
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
