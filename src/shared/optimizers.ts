// The all-reduce and the parameter update of a step, applied in place to one
// range of the shared model memory. Each worker runs them on its own range, so
// both are spread over all workers instead of serialized on one thread. The
// arithmetic runs in the SIMD kernels of update-kernels.wat; the formulas
// follow TensorFlow.js's optimizers so that results match them.

import { OptionError } from './errors.js';
import { modelMemoryLayout } from './layout.js';
import type { ModelMemoryLayout, ParameterLayout } from './layout.js';
import { updateKernels } from './update-kernels.js';

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

/** How many vectors of state, one float per parameter each, an optimizer keeps. */
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

/** A session's model memory as the update kernels see it; see layout.ts. */
export interface ModelMemory {
  memory: WebAssembly.Memory;
  layout: ModelMemoryLayout;
  /** Gradient slots written this step, one per worker. */
  slots: number;
}

const kFloatBytes = Float32Array.BYTES_PER_ELEMENT;

/** `[start, end)` widened to whole 4-float vectors, as the kernels take it. */
function vectorCount(start: number, end: number): number {
  return Math.ceil((end - start) / 4) * 4;
}

/**
 * The reduce-scatter half of the all-reduce: the mean gradient of
 * `[start, end)`, `scale × Σ` over all slots in slot order, each sum rounded
 * to float32 as one thread accumulating the whole batch would round it. The
 * mean is written into the same range of slot `rank`: every worker reads only
 * its own range of the other slots, so no one else reads that range of slot
 * `rank` this step, and the slot is not rewritten before the next step.
 */
export function reduceGradients(
  model: ModelMemory,
  rank: number,
  start: number,
  end: number,
  scale: number,
): void {
  if (end <= start) return;
  const { layout, slots } = model;
  const offset = start * kFloatBytes;
  updateKernels(model.memory).reduce(
    layout.gradientsByteOffset + rank * layout.slotBytes + offset,
    layout.gradientsByteOffset + offset,
    layout.slotBytes,
    slots,
    vectorCount(start, end),
    scale,
  );
}

/**
 * Whether every gradient in worker `rank`'s slot is finite: a SIMD pass over
 * the slot, its zero padding included, that costs a few hundredths of a
 * millisecond for the textbook model.
 */
export function slotIsFinite(model: ModelMemory, rank: number): boolean {
  const { layout } = model;
  const floats = layout.slotBytes / kFloatBytes;
  const start = layout.gradientsByteOffset + rank * layout.slotBytes;
  return updateKernels(model.memory).allFinite(start, floats) === 1;
}

/**
 * Applies one update to parameters `[start, end)` from the mean gradient that
 * `reduceGradients` left in slot `rank`. `step` counts updates from 1, as
 * Adam's bias correction needs. Ranges start on cache lines (parameterRange).
 */
export function applyUpdate(
  config: OptimizerConfig,
  step: number,
  model: ModelMemory,
  rank: number,
  start: number,
  end: number,
): void {
  if (end <= start) return;
  const { layout } = model;
  const kernels = updateKernels(model.memory);
  const offset = start * kFloatBytes;
  const parameters = layout.parametersByteOffset + offset;
  const state = (block: number) => layout.stateByteOffset + block * layout.slotBytes + offset;
  const mean = layout.gradientsByteOffset + rank * layout.slotBytes + offset;
  const count = vectorCount(start, end);
  const rate = config.learningRate;

  if (config.name === 'sgd') {
    kernels.sgd(parameters, mean, count, rate);
  } else if (config.name === 'momentum') {
    kernels.momentum(parameters, state(0), mean, count, rate, config.momentum);
  } else {
    // Adam, with both bias corrections folded into two scalars
    const { beta1, beta2, epsilon } = config;
    const stepSize = rate / (1 - Math.pow(beta1, step));
    const secondCorrection = 1 / (1 - Math.pow(beta2, step));
    kernels.adam(
      parameters,
      state(0),
      state(1),
      mean,
      count,
      beta1,
      beta2,
      stepSize,
      secondCorrection,
      epsilon,
    );
  }
}

/** A zeroed model memory for `layout`, as a session of `workers` uses it. */
export function createModelMemory(
  layout: ParameterLayout,
  config: OptimizerConfig,
  workers: number,
): ModelMemory {
  const memoryLayout = modelMemoryLayout(layout, optimizerStateSize(config), workers);
  const pages = memoryLayout.pages;
  return {
    memory: new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }),
    layout: memoryLayout,
    slots: workers,
  };
}

/** The first `count` floats of the parameters, as a view. */
export function parameterView(model: ModelMemory, count: number): Float32Array {
  return new Float32Array(model.memory.buffer, model.layout.parametersByteOffset, count);
}

/** The first `count` floats of worker `rank`'s gradient slot, as a view. */
export function slotView(model: ModelMemory, rank: number, count: number): Float32Array {
  const offset = model.layout.gradientsByteOffset + rank * model.layout.slotBytes;
  return new Float32Array(model.memory.buffer, offset, count);
}
