// Allocation of a training session's shared memory and the initial weights.

import { randomUUID } from 'node:crypto';
import { totalmem } from 'node:os';

import { OptionError } from '../shared/errors.js';

import {
  kControlSlots,
  kStatsSlotsPerWorker,
  kWasmPageBytes,
  modelMemoryLayout,
  parameterLayout,
} from '../shared/layout.js';
import type { ModelShape } from '../shared/layout.js';
import type { SessionMemory, SharedSamples } from '../shared/messages.js';
import { optimizerStateSize } from '../shared/optimizers.js';
import type { OptimizerConfig } from '../shared/optimizers.js';
import { randomStream, kStreamInitialization, uniform } from './random.js';

/** 4 GiB, the most a 32-bit WebAssembly memory can address. */
const kMaxWasmPages = 65536;

/** Allocates every shared buffer of a session; the parameters start at zero. */
export function allocateSession(
  shape: ModelShape,
  workers: number,
  optimizer: OptimizerConfig,
  train: SharedSamples,
): SessionMemory {
  const layout = parameterLayout(shape);
  const model = modelMemoryLayout(layout, optimizerStateSize(optimizer), workers);
  const gigabytes = (model.pages * kWasmPageBytes) / 2 ** 30;
  // a model too large for memory should say so, not fail inside an allocation
  if (model.pages > kMaxWasmPages) {
    throw new OptionError(
      'hidden',
      `a model of ${layout.count.toLocaleString('en-US')} parameters trained by ${workers} ` +
        `workers needs ${gigabytes.toFixed(1)} GB for its parameters, optimizer state and ` +
        `gradients, more than the 4 GB a WebAssembly memory can hold; use smaller --hidden ` +
        `layers or fewer --workers.`,
    );
  }
  if (gigabytes > 0.75 * (totalmem() / 2 ** 30)) {
    throw new OptionError(
      'hidden',
      `a model of ${layout.count.toLocaleString('en-US')} parameters trained by ${workers} ` +
        `workers needs ${gigabytes.toFixed(1)} GB of shared memory, more than this machine ` +
        `can spare (${(totalmem() / 2 ** 30).toFixed(0)} GB in all); use smaller --hidden layers.`,
    );
  }
  return {
    id: randomUUID(),
    shape,
    workers,
    optimizer,
    model: new WebAssembly.Memory({ initial: model.pages, maximum: model.pages, shared: true }),
    control: new SharedArrayBuffer(kControlSlots * Int32Array.BYTES_PER_ELEMENT),
    stats: new SharedArrayBuffer(workers * kStatsSlotsPerWorker * Float64Array.BYTES_PER_ELEMENT),
    order: new SharedArrayBuffer(train.count * Int32Array.BYTES_PER_ELEMENT),
    train,
  };
}

/**
 * Glorot-uniform kernels and zero biases, as Keras initializes a Dense layer:
 * each kernel entry uniform in ±sqrt(6 / (fanIn + fanOut)).
 */
export function initializeParameters(
  shape: ModelShape,
  seed: number,
  parameters: Float32Array,
): void {
  const random = randomStream(seed, kStreamInitialization);
  parameters.fill(0);
  for (const layer of parameterLayout(shape).layers) {
    const limit = Math.sqrt(6 / (layer.inputSize + layer.outputSize));
    for (let i = layer.kernelOffset; i < layer.biasOffset; i++) {
      parameters[i] = uniform(random, -limit, limit);
    }
  }
}
