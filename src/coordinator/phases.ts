// One training phase (a run of steps inside an epoch) on the pool, made to
// survive a worker that throws, exits or is killed: the model bytes are
// snapshot before the phase, and after a failure they are restored and the
// phase recomputed, so the run ends exactly as if nothing had happened.

import { TrainingFailedError } from '../shared/errors.js';
import {
  kBarrierArrivals,
  kNonFiniteStep,
  kParkedThread,
  kStepsDone,
  kStopRequest,
  modelMemoryLayout,
  parameterLayout,
} from '../shared/layout.js';
import type { SessionMemory, TrainStepsResult } from '../shared/messages.js';
import { optimizerStateSize } from '../shared/optimizers.js';
import { injectedFault } from '../shared/faults.js';
import type { WorkerPool } from './pool.js';

/** Attempts of one phase before the run stops: the first and two recomputations. */
export const kAttempts = 3;

/** The bytes of the model block that make a run's state: parameters and optimizer state. */
export function modelBytes(session: SessionMemory): Uint8Array {
  const layout = modelMemoryLayout(
    parameterLayout(session.shape),
    optimizerStateSize(session.optimizer),
    session.workers,
  );
  return new Uint8Array(session.model.buffer, 0, layout.gradientsByteOffset);
}

export interface PhaseRequest {
  session: SessionMemory;
  globalBatch: number;
  fromStep: number;
  toStep: number;
  /** Updates applied before the phase; step `fromStep` is update `updatesBefore + 1`. */
  updatesBefore: number;
  onNonFinite: 'stop' | 'skip';
  onNotice?: (message: string) => void;
}

/**
 * Runs a phase, recomputing it from the snapshot when a worker fails; after
 * `kAttempts` failures the model is left as it was before the phase and a
 * TrainingFailedError says which step failed and why.
 */
export async function runPhase(
  pool: WorkerPool,
  request: PhaseRequest,
): Promise<TrainStepsResult[]> {
  const { session, fromStep, updatesBefore } = request;
  const control = new Int32Array(session.control);
  const model = modelBytes(session);
  const { snapshot, statsSnapshot } = snapshotsOf(session);
  snapshot.set(model);
  const stats = new Float64Array(session.stats);
  statsSnapshot.set(stats);

  for (let attempt = 0; ; attempt++) {
    const stopKill = scheduleKill(pool, control);
    try {
      return await pool.trainSteps(
        session,
        request.globalBatch,
        fromStep,
        request.toStep,
        updatesBefore,
        attempt,
        request.onNonFinite,
      );
    } catch (error) {
      const failedStep =
        updatesBefore + Math.max(0, Atomics.load(control, kStepsDone) - fromStep) + 1;
      model.set(snapshot);
      stats.set(statsSnapshot);
      resetControl(control, fromStep);
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      if (attempt + 1 >= kAttempts) {
        throw new TrainingFailedError(
          failedStep,
          `step ${failedStep} failed ${kAttempts} times (${reason}); the model is kept as it ` +
            `was after step ${updatesBefore}`,
        );
      }
      request.onNotice?.(
        `a worker failed during step ${failedStep} (${reason}); recomputing steps ` +
          `${updatesBefore + 1}-${updatesBefore + request.toStep - fromStep} from the ` +
          `unchanged parameters`,
      );
    } finally {
      stopKill();
    }
  }
}

/**
 * Each session's snapshot buffers, made once: a phase starts every quarter
 * second or so, and fresh megabyte buffers each time would only churn memory.
 */
const snapshotBuffers = new WeakMap<
  SessionMemory,
  { snapshot: Uint8Array; statsSnapshot: Float64Array }
>();

function snapshotsOf(session: SessionMemory) {
  let buffers = snapshotBuffers.get(session);
  if (buffers === undefined) {
    buffers = {
      snapshot: new Uint8Array(modelBytes(session).length),
      statsSnapshot: new Float64Array(new Float64Array(session.stats).length),
    };
    snapshotBuffers.set(session, buffers);
  }
  return buffers;
}

/** Clears what a failed phase left in the control block, so the next attempt starts clean. */
function resetControl(control: Int32Array, stepsDone: number): void {
  Atomics.store(control, kStopRequest, 0);
  Atomics.store(control, kBarrierArrivals, 0);
  Atomics.store(control, kNonFiniteStep, 0);
  Atomics.store(control, kParkedThread, 0);
  Atomics.store(control, kStepsDone, stepsDone);
}

/**
 * The test-only fault `worker-kill@STEP` terminates a worker thread from
 * outside in the middle of step STEP: the worker parks itself there and the
 * coordinator terminates it, as a crash would end it. Returns the function
 * that cancels the watch.
 */
function scheduleKill(pool: WorkerPool, control: Int32Array): () => void {
  if (injectedFault()?.kind !== 'kill') return () => {};
  const timer = setInterval(() => {
    const parked = Atomics.load(control, kParkedThread);
    if (parked !== 0) {
      clearInterval(timer);
      void pool.terminateThread(parked);
    }
  }, 1);
  return () => clearInterval(timer);
}
