// The coordinator's side of the worker threads: a Piscina pool of exactly one
// thread per worker, and the fan-out of each phase (training steps,
// evaluation) to all of them.
//
// A training phase is one long task per worker rather than one task per step.
// Inside it the workers meet at Atomics barriers twice a step, so the
// coordinator's event loop is off the per-step path entirely: a step costs two
// futex wake-ups instead of 2×W message round trips, which matters once a step
// takes only a few milliseconds. The price is that all W tasks must run at the
// same time, so the pool has exactly W threads, each taking one task at a time.

import { fileURLToPath } from 'node:url';

import { Piscina } from 'piscina';

import { BackendError, EngineError } from '../shared/errors.js';
import { kBarrierGeneration, kStopRequest } from '../shared/layout.js';
import type {
  BackendName,
  EngineName,
  EvaluateResult,
  MatMulResult,
  MatMulTask,
  ProbeResult,
  SessionMemory,
  SharedSamples,
  TrainStepsResult,
  WorkerTask,
} from '../shared/messages.js';
import { kStopMessage } from '../shared/messages.js';

const workerFile = fileURLToPath(new URL('../worker/worker.js', import.meta.url));

export class WorkerPool {
  private readonly pool: Piscina<WorkerTask, unknown>;

  constructor(
    readonly workers: number,
    readonly engine: EngineName,
    readonly backend: BackendName,
  ) {
    this.pool = new Piscina({
      filename: workerFile,
      minThreads: workers,
      maxThreads: workers,
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.MAX_SAFE_INTEGER,
    });
  }

  /** Loads the engine on every thread, so a failure surfaces before any data moves. */
  async probe(): Promise<ProbeResult[]> {
    const tasks = Array.from({ length: this.workers }, () =>
      this.pool.run({ kind: 'probe', engine: this.engine, backend: this.backend }),
    );
    try {
      return (await Promise.all(tasks)) as ProbeResult[];
    } catch (error) {
      // errors lose their class on the way out of a thread; the message stays
      const message = error instanceof Error ? error.message : String(error);
      throw this.engine === 'onnx' ? new EngineError(message) : new BackendError(message);
    }
  }

  /**
   * The engine's matrix-multiply rate on [m, k]·[k, n], in GFLOP/s summed over
   * `threads` workers multiplying at the same time: with 1, the single-core
   * rate; with all of them, what the machine's cores deliver together.
   */
  async matMulRate(m: number, k: number, n: number, seconds: number, threads = 1): Promise<number> {
    const task: MatMulTask = {
      kind: 'matmul',
      engine: this.engine,
      backend: this.backend,
      m,
      k,
      n,
      seconds,
    };
    const runs = Array.from({ length: threads }, () => this.pool.run(task));
    const results = (await Promise.all(runs)) as MatMulResult[];
    return results.reduce((sum, result) => sum + result.gflops, 0);
  }

  /** What the workers run, as reports print it: 'onnx' or 'tfjs (wasm)'. */
  get description(): string {
    return this.engine === 'onnx' ? 'onnx' : `tfjs (${this.backend})`;
  }

  /**
   * Runs steps `[fromStep, toStep)` of the current epoch on all workers and
   * returns their per-step results in rank order. If one worker fails, the
   * others are released from their barrier and the first error is thrown.
   */
  async trainSteps(
    session: SessionMemory,
    globalBatch: number,
    fromStep: number,
    toStep: number,
    updatesBefore: number,
    attempt = 0,
    onNonFinite: 'stop' | 'skip' = 'stop',
  ): Promise<TrainStepsResult[]> {
    const control = new Int32Array(session.control);
    const tasks = Array.from({ length: this.workers }, (_, rank) =>
      this.pool
        .run({
          kind: 'train',
          engine: this.engine,
          backend: this.backend,
          session,
          rank,
          globalBatch,
          fromStep,
          toStep,
          updatesBefore,
          attempt,
          onNonFinite,
        })
        .catch((error: unknown) => {
          releaseWorkers(control);
          throw error;
        }),
    );
    return (await settleAll(tasks)) as TrainStepsResult[];
  }

  /** Forward pass over a whole sample set, split evenly across the workers. */
  async evaluate(session: SessionMemory, samples: SharedSamples): Promise<EvaluateResult> {
    const tasks = Array.from({ length: this.workers }, (_, rank) => {
      const start = Math.floor((samples.count * rank) / this.workers);
      const end = Math.floor((samples.count * (rank + 1)) / this.workers);
      return this.pool.run({
        kind: 'evaluate',
        engine: this.engine,
        backend: this.backend,
        session,
        samples,
        start,
        end,
      });
    });
    const parts = (await settleAll(tasks)) as EvaluateResult[];
    const predictions = new Int32Array(samples.count);
    let offset = 0;
    for (const part of parts) {
      predictions.set(part.predictions, offset);
      offset += part.predictions.length;
    }
    return {
      lossSum: parts.reduce((sum, part) => sum + part.lossSum, 0),
      correct: parts.reduce((sum, part) => sum + part.correct, 0),
      predictions,
    };
  }

  /**
   * Terminates the worker thread `threadId` from outside, as a crash would;
   * its task fails and Piscina starts a fresh thread in its place.
   */
  async terminateThread(threadId: number): Promise<void> {
    await this.pool.threads.find((thread) => thread.threadId === threadId)?.terminate();
  }

  async close(): Promise<void> {
    await this.pool.close({ force: true });
  }
}

/**
 * After a worker failed, asks the others to leave at their next barrier;
 * waiters are woken so they see it now rather than at their next periodic
 * check.
 */
function releaseWorkers(control: Int32Array): void {
  Atomics.store(control, kStopRequest, 1);
  Atomics.notify(control, kBarrierGeneration);
}

/** Like Promise.all, but waits for every task to settle before rejecting. */
async function settleAll<T>(tasks: Promise<T>[]): Promise<T[]> {
  const outcomes = await Promise.allSettled(tasks);
  const failures = outcomes.filter((outcome) => outcome.status === 'rejected');
  if (failures.length > 0) {
    // a worker's own error beats the stop notices it caused in the others
    const reasons = failures.map((failure) => (failure as PromiseRejectedResult).reason);
    throw reasons.find((reason) => !isStopNotice(reason)) ?? reasons[0];
  }
  return outcomes.map((outcome) => (outcome as PromiseFulfilledResult<T>).value);
}

function isStopNotice(reason: unknown): boolean {
  return (
    reason instanceof Error && (reason.name === 'StopRequested' || reason.message === kStopMessage)
  );
}
