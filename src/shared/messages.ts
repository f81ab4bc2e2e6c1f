// The tasks the coordinator hands to pool workers and what they send back.
// Everything bulky travels as SharedArrayBuffers, which postMessage shares
// rather than copies; the rest of a task is a few numbers.

import type { ModelShape } from './layout.js';
import type { OptimizerConfig } from './optimizers.js';

/**
 * The message of the error a worker throws when the coordinator stops its
 * session. Errors cross threads as plain Error objects, so the coordinator
 * recognizes this one by its message.
 */
export const kStopMessage = 'session stopped by the coordinator';

export type BackendName = 'wasm' | 'cpu' | 'tensorflow';

/**
 * The gradient engine of the workers: onnxruntime's native CPU build, or
 * TensorFlow.js on `BackendName`.
 */
export type EngineName = 'onnx' | 'tfjs';

/**
 * How a sample set's pixels are kept in shared memory: 8-bit values, scaled to
 * 0..1 as each batch is gathered (a quarter of the memory of floats), or
 * 32-bit floats used as they are.
 */
export type PixelType = 'uint8' | 'float32';

/**
 * A set of samples in shared memory, written once by the coordinator and read
 * in place by every worker. Pixels and labels are stored as loaded; a worker
 * normalizes the rows it gathers and one-hot encodes their labels itself, so
 * the shared copy stays the size of the raw data. A validation split is the
 * same stored images with its own `indices`, never a second copy.
 */
export interface SharedSamples {
  /** The stored samples' pixels, `inputSize` of `pixelType` each. */
  pixels: SharedArrayBuffer;
  pixelType: PixelType;
  /** Int32, the class of each stored sample. */
  labels: SharedArrayBuffer;
  /**
   * Int32, the stored samples that make up this set, in order; absent when
   * the set is every stored sample.
   */
  indices?: SharedArrayBuffer;
  /** Samples in the set: the length of `indices`, else every stored sample. */
  count: number;
}

/** All shared memory of one training session; see layout.ts for the layouts. */
export interface SessionMemory {
  /** Distinguishes sessions so workers can keep their views between tasks. */
  id: string;
  shape: ModelShape;
  workers: number;
  optimizer: OptimizerConfig;
  /**
   * Shared WebAssembly memory with the parameters, the optimizer state and
   * the gradient slots, laid out by `modelMemoryLayout` (layout.ts).
   */
  model: WebAssembly.Memory;
  /** Int32, the control block. */
  control: SharedArrayBuffer;
  /** Float64, live statistics per worker. */
  stats: SharedArrayBuffer;
  /**
   * Int32, the current epoch's sample order: a permutation of the training
   * set's samples, as indices into its stored samples.
   */
  order: SharedArrayBuffer;
  train: SharedSamples;
}

interface TaskBase {
  engine: EngineName;
  /** TensorFlow.js backend; used by the tfjs engine only. */
  backend: BackendName;
  session: SessionMemory;
}

/** Runs steps `fromStep` to `toStep` (exclusive) of the current epoch as worker `rank`. */
export interface TrainTask extends TaskBase {
  kind: 'train';
  rank: number;
  globalBatch: number;
  fromStep: number;
  toStep: number;
  /** Updates applied before `fromStep`, over all epochs: Adam's step counter. */
  updatesBefore: number;
  /** 0 the first time these steps run, then 1, 2, ... when they are recomputed after a failure. */
  attempt: number;
  /** What to do at a step whose loss is not finite: skip its update, or stop before it. */
  onNonFinite: 'stop' | 'skip';
}

export interface TrainStepsResult {
  /** Loss summed over this worker's samples, per step. */
  lossSums: Float64Array;
  /** Samples this worker predicted correctly, per step. */
  correct: Float64Array;
  /** Update numbers of steps skipped for a non-finite loss. */
  skipped: number[];
  /** The update the phase stopped before, for a non-finite loss; 0 when it ran to the end. */
  stoppedAt: number;
}

/** Forward pass over samples `[start, end)` of a shared sample set. */
export interface EvaluateTask extends TaskBase {
  kind: 'evaluate';
  samples: SharedSamples;
  start: number;
  end: number;
}

export interface EvaluateResult {
  lossSum: number;
  correct: number;
  /** Predicted class of each sample in the range. */
  predictions: Int32Array;
}

/** Loads the engine and reports what runs, so failures surface before training. */
export interface ProbeTask {
  kind: 'probe';
  engine: EngineName;
  backend: BackendName;
}

export interface ProbeResult {
  engine: EngineName;
  /** The TensorFlow.js backend in use, or 'native' for the onnx engine. */
  backend: string;
  threadId: number;
}

/**
 * Times one untransposed product [m, k]·[k, n] with the engine's own matrix
 * multiply, repeated for about `seconds`: the single-core rate the engine's
 * training steps are compared with.
 */
export interface MatMulTask {
  kind: 'matmul';
  engine: EngineName;
  backend: BackendName;
  m: number;
  k: number;
  n: number;
  seconds: number;
}

export interface MatMulResult {
  gflops: number;
  repeats: number;
}

export type WorkerTask = TrainTask | EvaluateTask | ProbeTask | MatMulTask;
