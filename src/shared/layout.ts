// The one definition of how a model's parameters and a training session's
// shared memory are laid out. The coordinator allocates from it and every
// worker builds its views from it, so both sides always agree on offsets.

/** The shape of a multilayer perceptron: inputs, hidden widths, classes. */
export interface ModelShape {
  inputSize: number;
  hiddenSizes: number[];
  outputSize: number;
}

/** Where one dense layer's kernel and bias sit in the flat parameter vector. */
export interface DenseLayerLayout {
  inputSize: number;
  outputSize: number;
  /**
   * Offset of the kernel: `outputSize` rows of `inputSize` floats, one row per
   * output unit (the transpose of the Keras kernel, PyTorch's Linear layout).
   */
  kernelOffset: number;
  /** Offset of the bias, `outputSize` floats, right after the kernel. */
  biasOffset: number;
}

export interface ParameterLayout {
  layers: DenseLayerLayout[];
  /** Number of parameters, the length of the flat vector. */
  count: number;
  /**
   * Floats between the starts of two workers' gradient slots: `count` rounded up
   * to a whole number of 64-byte cache lines, so that one worker writing the end
   * of its slot never shares a cache line with the next worker's slot.
   */
  slotStride: number;
}

const kFloatsPerCacheLine = 16;

/**
 * The parameters of all layers in one flat vector, layer after layer, each
 * layer's kernel followed by its bias, in the order of
 * `tf.LayersModel.getWeights()`. Kernels are stored output-major because the
 * engines' matrix products then take the large weight matrix as their left
 * operand, which XNNPACK (behind the wasm backend) streams as it is, while a
 * right operand is repacked into blocks on every call; see tfjs-engine.ts.
 * Saving a model transposes each kernel back to the Keras order.
 */
export function parameterLayout(shape: ModelShape): ParameterLayout {
  const widths = [shape.inputSize, ...shape.hiddenSizes, shape.outputSize];
  const layers: DenseLayerLayout[] = [];
  let offset = 0;
  for (let index = 0; index + 1 < widths.length; index++) {
    const inputSize = widths[index];
    const outputSize = widths[index + 1];
    const kernelOffset = offset;
    const biasOffset = kernelOffset + inputSize * outputSize;
    offset = biasOffset + outputSize;
    layers.push({ inputSize, outputSize, kernelOffset, biasOffset });
  }
  const slotStride = Math.ceil(offset / kFloatsPerCacheLine) * kFloatsPerCacheLine;
  return { layers, count: offset, slotStride };
}

/**
 * The half-open range of parameters worker `rank` of `workers` reduces and
 * updates. Ranges are contiguous, cover the vector exactly once, and start on
 * cache-line boundaries so two workers never write the same line.
 */
export function parameterRange(count: number, rank: number, workers: number): [number, number] {
  const lines = Math.ceil(count / kFloatsPerCacheLine);
  const start = Math.floor((lines * rank) / workers) * kFloatsPerCacheLine;
  const end = Math.floor((lines * (rank + 1)) / workers) * kFloatsPerCacheLine;
  return [Math.min(start, count), Math.min(end, count)];
}

/**
 * The model block of a session: one shared WebAssembly.Memory holding the
 * parameters, then the optimizer's state (`stateBlocks` vectors: Adam's two
 * moments, momentum's velocity), then one gradient slot per worker. Every
 * region is `slotStride` floats and starts on a cache line. They share one
 * WebAssembly memory so the SIMD update kernels (update-kernels.wat) can work
 * on them in place; the padding after `count` floats stays zero, which lets
 * the kernels round a range up to whole 4-float vectors.
 */
export interface ModelMemoryLayout {
  parametersByteOffset: number;
  /** Start of state block `b` is `stateByteOffset + b × slotBytes`. */
  stateByteOffset: number;
  /** Start of worker `rank`'s slot is `gradientsByteOffset + rank × slotBytes`. */
  gradientsByteOffset: number;
  slotBytes: number;
  /** WebAssembly pages of 64 KiB the memory needs. */
  pages: number;
}

export const kWasmPageBytes = 65536;

export function modelMemoryLayout(
  layout: ParameterLayout,
  stateBlocks: number,
  workers: number,
): ModelMemoryLayout {
  const slotBytes = layout.slotStride * Float32Array.BYTES_PER_ELEMENT;
  const stateByteOffset = slotBytes;
  const gradientsByteOffset = stateByteOffset + stateBlocks * slotBytes;
  const byteLength = gradientsByteOffset + workers * slotBytes;
  return {
    parametersByteOffset: 0,
    stateByteOffset,
    gradientsByteOffset,
    slotBytes,
    pages: Math.max(1, Math.ceil(byteLength / kWasmPageBytes)),
  };
}

/**
 * The half-open range of a global batch of `batchSize` samples that worker
 * `rank` computes: contiguous shards whose sizes differ by at most one. A shard
 * can be empty when the batch (the last of an epoch) has fewer samples than
 * there are workers.
 */
export function shardRange(batchSize: number, rank: number, workers: number): [number, number] {
  const start = Math.floor((batchSize * rank) / workers);
  const end = Math.floor((batchSize * (rank + 1)) / workers);
  return [start, end];
}

// Control block: one Int32Array on its own SharedArrayBuffer, shared by all
// workers of a session and the coordinator. Each slot is named after what it
// holds; slots used with Atomics.wait must be Int32.

/** Workers that have arrived at the current barrier. */
export const kBarrierArrivals = 0;
/** Incremented each time a barrier opens; waiters sleep on this slot. */
export const kBarrierGeneration = 1;
/**
 * Non-zero once a worker of the phase failed, so the others leave their
 * barrier instead of waiting for it (a stop asked for by the caller waits for
 * the phase to end instead, see run-epochs.ts).
 */
export const kStopRequest = 2;
/** Steps of the current epoch completed (parameters updated), for progress. */
export const kStepsDone = 3;
/**
 * The update number of a step whose loss was not finite, set by the worker
 * that saw it before the first barrier, so every worker reads the same value
 * after it and all skip (or stop at) that step together; 0 when none.
 */
export const kNonFiniteStep = 4;
/**
 * Test-only: the thread id of a worker that the fault switch parks at a step
 * (waiting in JavaScript, never inside an engine's native code) for the
 * coordinator to terminate it; 0 when none.
 */
export const kParkedThread = 5;
export const kControlSlots = 6;

/**
 * Live statistics of the current epoch, one Float64Array of slots per worker,
 * read by the coordinator for its progress display and its timing report:
 * loss summed over the worker's samples so far, samples predicted correctly,
 * and milliseconds spent in each part of its steps: gathering shards,
 * computing gradients, waiting at the first barrier for the slowest worker,
 * the all-reduce (copies to and from shared memory, the reduce-scatter, and
 * the second barrier), and the optimizer update.
 */
export const kStatsLossSum = 0;
export const kStatsCorrect = 1;
export const kStatsGatherMilliseconds = 2;
export const kStatsComputeMilliseconds = 3;
export const kStatsWaitMilliseconds = 4;
export const kStatsAllReduceMilliseconds = 5;
export const kStatsUpdateMilliseconds = 6;
/** Tensors the worker's engine holds after its last task, a leak check (zero for onnx). */
export const kStatsLiveTensors = 7;
export const kStatsSlotsPerWorker = 8;
