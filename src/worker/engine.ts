// What a worker needs from a gradient engine: the summed loss and gradients of
// one shard, and a forward pass for evaluation. Two engines implement it:
// TensorFlow.js (tfjs-engine.ts) and onnxruntime's native CPU build
// (onnx-engine.ts). Calls are asynchronous because onnxruntime-node's are.

/** A shard of samples gathered into contiguous rows. */
export interface ShardRows {
  /**
   * At least `count × inputSize` pixels: 8-bit values the engine divides by
   * 255, or floats it uses as they are.
   */
  inputs: Uint8Array | Float32Array;
  /** Float32, at least `count × outputSize` values, one-hot. */
  targets: Float32Array;
  count: number;
}

export interface ShardLoss {
  /** Cross-entropy summed (not averaged) over the shard's samples. */
  lossSum: number;
  /** Samples whose most probable class is the target class. */
  correct: number;
  /**
   * Milliseconds of the call spent copying parameters in from shared memory
   * and gradients out to it, for an engine that cannot work on shared memory
   * in place; zero otherwise. The worker counts them as all-reduce time.
   */
  copyMilliseconds: number;
}

export interface GradientEngine {
  /**
   * Writes into `gradients` (laid out like the parameters) the gradient of the
   * shard's summed loss with respect to `parameters`. Summing rather than
   * averaging lets the all-reduce divide once by the global batch size, so
   * uneven shards weigh their samples correctly.
   */
  gradients(rows: ShardRows, parameters: Float32Array, gradients: Float32Array): Promise<ShardLoss>;

  /** Forward pass only; writes each sample's predicted class into `predictions`. */
  evaluate(rows: ShardRows, parameters: Float32Array, predictions: Int32Array): Promise<ShardLoss>;

  /** Tensors the engine holds between calls (zero when nothing leaks). */
  liveTensors(): number;

  /** Releases native resources; the engine is unusable afterwards. */
  dispose(): Promise<void>;
}
