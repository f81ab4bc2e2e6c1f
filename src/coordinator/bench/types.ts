// The results of a benchmark run: one row per measured or predicted
// configuration, and the peers measured beside them.

export type BenchEngine = 'onnx' | 'tfjs';

/** Where one step's time goes, in milliseconds per step, averaged over workers. */
export interface StepBreakdown {
  /** Copying the shard's samples from the shared training set. */
  gather: number;
  /** The engine's forward and backward pass over the shard. */
  compute: number;
  /** Waiting at the first barrier for the slowest worker's gradients. */
  wait: number;
  /**
   * The all-reduce: publishing gradients to shared memory, summing the
   * worker's parameter range over all slots, and waiting for every range to be
   * updated and reading the new parameters back.
   */
  allReduce: number;
  /** The optimizer's update of the worker's parameter range. */
  update: number;
  /** Wall time per step not spent in the worker loop: task dispatch, progress. */
  overhead: number;
}

/** One syncgrad configuration, measured or predicted by the cost model. */
export interface BenchRow {
  kind: 'measured' | 'predicted';
  engine: BenchEngine;
  inputSize: number;
  globalBatch: number;
  workers: number;
  samplesPerSecond: number;
  /** samplesPerSecond over the 1-worker rate of the same engine, input size and batch. */
  speedup: number;
  /** speedup / workers. */
  efficiency: number;
  /** Measured rows only. */
  breakdown?: StepBreakdown;
  /** Achieved GFLOP/s of the whole training step (forward + backward). */
  gflops?: number;
  /** gflops over workers × the engine's single-core matrix-multiply rate. */
  fractionOfPeak?: number;
}

/** A peer framework measured on the same model, batch and optimizer. */
export interface PeerRow {
  peer: string;
  /**
   * How the peer ran: 'model.fit, 1 thread', '2 threads',
   * 'torch.distributed gloo, 2 processes'.
   */
  configuration: string;
  inputSize: number;
  globalBatch: number;
  samplesPerSecond: number;
}
