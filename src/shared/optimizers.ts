// Parameter updates applied in place to a range of the shared parameter vector.
// Each worker runs them on its own range after the all-reduce, so the update
// of one step is spread over all workers instead of serialized on one thread.
// The formulas follow TensorFlow.js's optimizers so that results match them.

import { OptionError } from './errors.js';

export type OptimizerName = 'adam' | 'sgd' | 'momentum';

export interface AdamConfig {
  name: 'adam';
  learningRate: number;
  /** Decay of the first-moment average. Default 0.9 (Keras and TensorFlow.js). */
  beta1: number;
  /** Decay of the second-moment average. Default 0.999. */
  beta2: number;
  /** Added to the root of the second moment. Default 1e-7, TensorFlow.js's float32 epsilon. */
  epsilon: number;
}

export interface SgdConfig {
  name: 'sgd';
  learningRate: number;
}

export interface MomentumConfig {
  name: 'momentum';
  learningRate: number;
  /** Fraction of the previous velocity kept each step. Default 0.9. */
  momentum: number;
}

export type OptimizerConfig = AdamConfig | SgdConfig | MomentumConfig;

/** How many floats of state per parameter each optimizer keeps. */
export function optimizerStateSize(config: OptimizerConfig): number {
  if (config.name === 'adam') return 2;
  if (config.name === 'momentum') return 1;
  return 0;
}

/** Fills in the defaults for an optimizer given by name and learning rate. */
export function optimizerConfig(
  name: string,
  learningRate: number,
  momentum = 0.9,
): OptimizerConfig {
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) {
    throw new OptionError(
      'lr',
      `--lr must be a positive number, got ${learningRate}. Try --lr 0.0005 for Adam or ` +
        `0.01 for SGD.`,
    );
  }
  if (name === 'adam') return { name, learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
  if (name === 'sgd') return { name, learningRate };
  if (name === 'momentum') {
    if (!(momentum >= 0 && momentum < 1)) {
      throw new OptionError('momentum', `--momentum must be in [0, 1), got ${momentum}.`);
    }
    return { name, learningRate, momentum };
  }
  throw new OptionError(
    'optimizer',
    `--optimizer must be one of adam, sgd, momentum; got '${name}'.`,
  );
}

/**
 * Gradients as the workers left them: `slots` per-worker sums of `stride`
 * floats each, one after another. The mean gradient of parameter i is
 * `scale × Σ values[slot × stride + i]`, with scale = 1 / global batch.
 */
export interface GradientSlots {
  values: Float32Array;
  slots: number;
  stride: number;
  scale: number;
}

/**
 * The mean gradient of parameter `i`. The sum is rounded to float32, the
 * precision in which one thread would have accumulated the whole batch, so
 * worker counts differ only in the order of float32 additions.
 */
function meanGradient(
  values: Float32Array,
  slots: number,
  stride: number,
  scale: number,
  i: number,
): number {
  let sum = values[i];
  for (let slot = 1; slot < slots; slot++) sum += values[slot * stride + i];
  return Math.fround(sum) * scale;
}

/**
 * Applies one update to `parameters[start, end)`. The all-reduce is fused
 * into the same loop: each parameter's gradient is summed over the worker
 * slots right where it is used, so the update reads every slot once and
 * writes no intermediate mean. `state` holds the optimizer's per-parameter
 * state, one block of `parameters.length` floats per kind, and `step` counts
 * updates from 1, as Adam's bias correction needs.
 */
export function applyUpdate(
  config: OptimizerConfig,
  step: number,
  parameters: Float32Array,
  state: Float32Array,
  gradients: GradientSlots,
  start: number,
  end: number,
): void {
  const count = parameters.length;
  const rate = config.learningRate;
  const { values, slots, stride, scale } = gradients;
  const gradient = (i: number): number => meanGradient(values, slots, stride, scale, i);

  if (config.name === 'sgd') {
    for (let i = start; i < end; i++) parameters[i] -= rate * gradient(i);
    return;
  }

  if (config.name === 'momentum') {
    const keep = config.momentum;
    for (let i = start; i < end; i++) {
      const velocity = keep * state[i] + gradient(i);
      state[i] = velocity;
      parameters[i] -= rate * velocity;
    }
    return;
  }

  // Adam: moments in the first and second `count` floats of the state
  const { beta1, beta2, epsilon } = config;
  const firstCorrection = 1 / (1 - Math.pow(beta1, step));
  const secondCorrection = 1 / (1 - Math.pow(beta2, step));
  for (let i = start; i < end; i++) {
    const g = meanGradient(values, slots, stride, scale, i);
    const firstMoment = beta1 * state[i] + (1 - beta1) * g;
    const secondMoment = beta2 * state[count + i] + (1 - beta2) * g * g;
    state[i] = firstMoment;
    state[count + i] = secondMoment;
    const biasCorrectedFirstMoment = firstMoment * firstCorrection;
    const biasCorrectedSecondMoment = secondMoment * secondCorrection;
    parameters[i] -=
      (rate * biasCorrectedFirstMoment) / (Math.sqrt(biasCorrectedSecondMoment) + epsilon);
  }
}
