// The epochs of a run: shuffle, then short phases of steps on the pool (so a
// stop, a checkpoint or a recomputation after a worker failure never waits
// long), evaluation at each epoch's end, and checkpoints between phases. A
// resumed run replays the shuffles of the epochs before its own and starts at
// the checkpoint's step, so it ends with the parameters of a run never stopped.

import { performance } from 'node:perf_hooks';

import { OptionError, TrainingFailedError } from '../shared/errors.js';
import { kStepsDone } from '../shared/layout.js';
import type { SessionMemory } from '../shared/messages.js';
import { identityMismatch, latestCheckpoint } from './checkpoint.js';
import type { RunPosition } from './checkpoint.js';
import { Checkpoints } from './checkpoint-policy.js';
import { epochStepTime, liveTensors, reportProgress } from './epoch-report.js';
import type { EpochRecord, ResolvedOptions } from './options.js';
import { modelBytes, runPhase } from './phases.js';
import type { WorkerPool } from './pool.js';
import type { PreparedData } from './prepare-data.js';
import { kStreamShuffle, randomStream, shuffleInPlace } from './random.js';
import { storedIndices } from './samples.js';

/** Wall time a phase aims at: how long a stop or a checkpoint may wait for the steps in flight. */
const kPhaseMilliseconds = 250;
const kMaxPhaseSteps = 2000;

export interface EpochsResult {
  position: RunPosition;
  /** The newest checkpoint written or resumed from, if any. */
  checkpoint?: string;
}

/**
 * Trains until the step budget is spent, from the start or from the newest
 * checkpoint of `settings.resume`; `initialize` fills fresh parameters.
 */
export async function runEpochs(
  pool: WorkerPool,
  session: SessionMemory,
  data: PreparedData,
  settings: ResolvedOptions,
  initialize: () => void,
): Promise<EpochsResult> {
  const control = new Int32Array(session.control);
  const stats = new Float64Array(session.stats);
  const checkpoints = new Checkpoints(session, data, settings);
  const stepsPerEpoch = Math.ceil(data.train.count / settings.batchSize);
  const totalSteps = Math.min(settings.maxSteps, stepsPerEpoch * settings.epochs);
  const epochs = Math.ceil(totalSteps / stepsPerEpoch);

  // where to start: a checkpoint's position, or the beginning
  let position = freshPosition();
  if (settings.resume !== undefined) {
    const checkpoint = await latestCheckpoint(settings.resume, settings.onNotice);
    const mismatch = identityMismatch(checkpoint.header.identity, checkpoints.identity);
    if (mismatch !== undefined) {
      throw new OptionError(
        'resume',
        `${checkpoint.file} cannot be continued with these settings: ${mismatch}; resume with ` +
          `the settings of the run that wrote it, or start afresh without --resume`,
      );
    }
    modelBytes(session).set(checkpoint.model);
    position = checkpoint.header.position;
    if (position.updates >= totalSteps) {
      settings.onNotice?.(
        `${checkpoint.file} is at update ${position.updates}, at or past the ${totalSteps} ` +
          `steps of these settings (--epochs, --max-steps), so nothing is left to train`,
      );
    }
    checkpoints.last = checkpoint.file;
    settings.onNotice?.(
      `resuming from ${checkpoint.file}: update ${position.updates}, epoch ` +
        `${position.epoch}, step ${position.stepInEpoch} of ${stepsPerEpoch}`,
    );
  } else {
    initialize();
  }

  // the epoch order: replaying earlier epochs' shuffles gives this epoch's exactly
  const order = new Int32Array(session.order);
  order.set(storedIndices(data.train));
  const shuffle = randomStream(settings.seed, kStreamShuffle);
  for (let epoch = 1; epoch < position.epoch; epoch++) shuffleInPlace(order, shuffle);

  let phaseSteps = 50;
  const stopRequested = () => settings.signal?.aborted === true;

  for (; position.updates < totalSteps; position.epoch++, position.stepInEpoch = 0) {
    const steps = Math.min(stepsPerEpoch, position.stepInEpoch + totalSteps - position.updates);
    shuffleInPlace(order, shuffle);
    stats.fill(0);
    Atomics.store(control, kStepsDone, position.stepInEpoch);
    const started = performance.now();
    const reporter = reportProgress(session, settings, position.epoch, epochs, steps, started);
    try {
      while (position.stepInEpoch < steps) {
        if (stopRequested()) throw await checkpoints.stopped(position);
        const from = position.stepInEpoch;
        const to = Math.min(steps, from + phaseSteps, checkpoints.nextBoundary(position, from));
        const phaseStarted = performance.now();
        const results = await runPhase(pool, {
          session,
          globalBatch: settings.batchSize,
          fromStep: from,
          toStep: to,
          updatesBefore: position.updates,
          onNonFinite: settings.onNonFinite,
          onNotice: settings.onNotice,
        }).catch(async (error: unknown) => {
          if (stopRequested()) throw await checkpoints.stopped(position);
          if (error instanceof TrainingFailedError) throw await checkpoints.failed(position, error);
          throw error;
        });
        const done = record(position, results, from, to, data, settings.batchSize);
        position.epochSeconds += (performance.now() - phaseStarted) / 1000;
        const stoppedAt = results[0]?.stoppedAt ?? 0;
        if (stoppedAt > 0) throw await checkpoints.nonFinite(position, stoppedAt);
        for (const step of results[0]?.skipped ?? []) {
          settings.onNotice?.(
            `step ${step}: the loss or a gradient is not finite; its update was skipped`,
          );
        }

        // aim the next phase at a quarter of a second
        const perStep = (performance.now() - phaseStarted) / Math.max(1, done);
        phaseSteps = Math.max(
          1,
          Math.min(kMaxPhaseSteps, Math.round(kPhaseMilliseconds / perStep)),
        );
        if (checkpoints.due(position, steps)) await checkpoints.write(position);
      }
    } finally {
      reporter();
    }
    // a budget (maxSteps) that ends inside an epoch leaves a checkpoint of that
    // point, so a later run can go on from it
    const complete = steps === stepsPerEpoch;
    if (!complete) await checkpoints.write(position);

    // the epoch's record, with the validation figures
    const validation = data.validation
      ? await pool.evaluate(session, data.validation.samples)
      : null;
    const seconds = position.epochSeconds;
    const epochRecord: EpochRecord = {
      epoch: position.epoch,
      steps,
      loss: position.epochLossSum / position.epochSamples,
      accuracy: position.epochCorrect / position.epochSamples,
      validationLoss: validation ? validation.lossSum / data.validation!.samples.count : null,
      validationAccuracy: validation ? validation.correct / data.validation!.samples.count : null,
      seconds,
      samplesPerSecond: position.epochSamples / seconds,
      stepTime: epochStepTime(stats, settings.workers, steps, seconds),
      liveTensors: liveTensors(stats, settings.workers),
    };
    position.history.push(epochRecord);
    position.trainingSeconds += seconds;
    position.samplesSeen += position.epochSamples;
    position.epochLossSum = position.epochCorrect = position.epochSamples = 0;
    position.epochSeconds = 0;
    settings.onEpoch?.(epochRecord);
    if (complete && checkpoints.dueAtEpochEnd(position, totalSteps)) {
      await checkpoints.write({ ...position, epoch: position.epoch + 1, stepInEpoch: 0 });
    }
  }
  return { position, checkpoint: checkpoints.last };
}

function freshPosition(): RunPosition {
  return {
    updates: 0,
    epoch: 1,
    stepInEpoch: 0,
    epochLossSum: 0,
    epochCorrect: 0,
    epochSamples: 0,
    epochSeconds: 0,
    history: [],
    stepLosses: [],
    trainingSeconds: 0,
    samplesSeen: 0,
  };
}

/** Adds a phase's per-step figures to the position; returns the steps it completed. */
function record(
  position: RunPosition,
  results: { lossSums: Float64Array; correct: Float64Array; stoppedAt: number }[],
  from: number,
  to: number,
  data: PreparedData,
  batchSize: number,
): number {
  const stoppedAt = results[0]?.stoppedAt ?? 0;
  const done = stoppedAt > 0 ? stoppedAt - position.updates - 1 : to - from;
  for (let index = 0; index < done; index++) {
    const step = from + index;
    const batch = Math.min(batchSize, data.train.count - step * batchSize);
    const stepLoss = results.reduce((sum, result) => sum + result.lossSums[index], 0);
    position.stepLosses.push(stepLoss / batch);
    position.epochLossSum += stepLoss;
    position.epochCorrect += results.reduce((sum, result) => sum + result.correct[index], 0);
    position.epochSamples += batch;
  }
  position.updates += done;
  position.stepInEpoch += done;
  return done;
}
