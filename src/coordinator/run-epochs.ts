// The epochs of a run: shuffle, then short phases of steps on the pool (so a
// stop, a checkpoint or a recomputation after a worker failure never waits
// long), evaluation at each epoch's end, and checkpoints between phases. A
// resumed run replays the shuffles of the epochs before its own and starts at
// the checkpoint's step, so it ends with the parameters of a run never stopped.

import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { TrainingAbortedError, TrainingFailedError } from '../shared/errors.js';
import { injectedFault } from '../shared/faults.js';
import { kStepsDone } from '../shared/layout.js';
import type { SessionMemory } from '../shared/messages.js';
import { identityMismatch, latestCheckpoint, writeCheckpoint } from './checkpoint.js';
import type { RunIdentity, RunPosition } from './checkpoint.js';
import { epochStepTime, liveTensors, reportProgress } from './epoch-report.js';
import type { EpochRecord, ResolvedOptions } from './options.js';
import { OptionError } from '../shared/errors.js';
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
  /** The checkpoint the run resumed from, if any. */
  resumedFrom?: string;
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
  const identity = runIdentity(data, session, settings);
  const stepsPerEpoch = Math.ceil(data.train.count / settings.batchSize);
  const totalSteps = Math.min(settings.maxSteps, stepsPerEpoch * settings.epochs);
  const epochs = Math.ceil(totalSteps / stepsPerEpoch);

  // where to start: a checkpoint's position, or the beginning
  let position = freshPosition();
  let resumedFrom: string | undefined;
  if (settings.resume !== undefined) {
    const checkpoint = await latestCheckpoint(settings.resume, settings.onNotice);
    const mismatch = identityMismatch(checkpoint.header.identity, identity);
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
    resumedFrom = checkpoint.file;
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

  const checkpoints = new Checkpoints(session, identity, settings);
  checkpoints.last = resumedFrom;
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
  return { position, resumedFrom, checkpoint: checkpoints.last };
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

/** What a checkpoint must match to be resumed: the model, optimizer, batching and data. */
function runIdentity(
  data: PreparedData,
  session: SessionMemory,
  settings: ResolvedOptions,
): RunIdentity {
  const hash = createHash('sha256');
  const train = data.train;
  hash.update(new Uint8Array(train.pixels)).update(new Uint8Array(train.labels));
  hash.update(new Uint8Array(storedIndices(train).buffer));
  return {
    shape: data.shape,
    optimizer: session.optimizer,
    batchSize: settings.batchSize,
    seed: settings.seed,
    validationSplit: data.validationFraction,
    data: hash.digest('hex'),
  };
}

/**
 * When to checkpoint, and what a failure to write one costs. Each write is
 * atomic; the fault switch can stall or fail one for tests.
 */
class Checkpoints {
  /** The newest checkpoint this run wrote or resumed from. */
  last: string | undefined;

  constructor(
    private readonly session: SessionMemory,
    private readonly identity: RunIdentity,
    private readonly settings: ResolvedOptions,
  ) {}

  private get every(): { steps?: number; epochs?: number } {
    return this.settings.checkpointEvery as { steps?: number; epochs?: number };
  }

  /** The step of the epoch at which the next step-interval checkpoint falls. */
  nextBoundary(position: RunPosition, from: number): number {
    const steps = this.every.steps;
    if (this.settings.checkpointDir === undefined || steps === undefined) return Infinity;
    return from + (steps - (position.updates % steps));
  }

  due(position: RunPosition, stepsInEpoch: number): boolean {
    const steps = this.every.steps;
    if (this.settings.checkpointDir === undefined || steps === undefined) return false;
    // the epoch-end checkpoint covers a boundary on the epoch's last step
    return position.updates % steps === 0 && position.stepInEpoch < stepsInEpoch;
  }

  dueAtEpochEnd(position: RunPosition, totalSteps: number): boolean {
    if (this.settings.checkpointDir === undefined) return false;
    const { steps, epochs } = this.every;
    if (steps !== undefined)
      return position.updates % steps === 0 || position.updates === totalSteps;
    return position.epoch % epochs! === 0 || position.updates === totalSteps;
  }

  async write(position: RunPosition): Promise<string | undefined> {
    const directory = this.settings.checkpointDir;
    if (directory === undefined) return undefined;
    const fault = injectedFault();
    const hit = fault?.step === position.updates ? fault.kind : undefined;
    try {
      this.last = await writeCheckpoint(
        directory,
        { identity: this.identity, position, workers: this.settings.workers },
        modelBytes(this.session).slice(),
        this.settings.keepCheckpoints,
        hit?.startsWith('checkpoint') ? (temporary) => stall(hit, temporary) : undefined,
      );
      return this.last;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const message =
        `cannot write a checkpoint into ${directory} after update ${position.updates} ` +
        `(${reason}); earlier checkpoints are untouched`;
      if (this.settings.onCheckpointFailure === 'continue') {
        this.settings.onNotice?.(`${message}; training goes on (--on-checkpoint-failure continue)`);
        return undefined;
      }
      throw new OptionError(
        'checkpoint-dir',
        `${message}. Free space or fix the folder's permissions and resume with --resume ` +
          `${directory}, or pass --on-checkpoint-failure continue to train on without it`,
      );
    }
  }

  /** The error for a run stopped by its signal, after a checkpoint of where it stands. */
  async stopped(position: RunPosition): Promise<TrainingAbortedError> {
    const file = await this.write(position);
    const error = new TrainingAbortedError(
      file
        ? `Training was stopped after update ${position.updates}; checkpoint ${file}.`
        : 'Training was aborted.',
    );
    if (file) error.checkpoint = file;
    return error;
  }

  /** The error for a step that failed on every attempt, after a checkpoint of the step before. */
  async failed(position: RunPosition, error: TrainingFailedError): Promise<TrainingFailedError> {
    const file = await this.write(position).catch(() => undefined);
    const failure = new TrainingFailedError(
      error.step,
      `${error.message}${resumeHint(file, this.settings)}`,
    );
    if (file) failure.checkpoint = file;
    return failure;
  }

  /** The error for a non-finite loss: the last good checkpoint is left as it is. */
  async nonFinite(position: RunPosition, step: number): Promise<TrainingFailedError> {
    return new TrainingFailedError(
      step,
      `step ${step}: the loss or a gradient is not finite, so training stopped before its ` +
        `update (after update ${position.updates}); lower --lr, check the data for extreme ` +
        `values, or pass --on-nonfinite skip to skip such steps` +
        (this.last ? `; the last checkpoint, ${this.last}, is kept` : ''),
    );
  }
}

function resumeHint(file: string | undefined, settings: ResolvedOptions): string {
  return file ? `; checkpoint ${file}, resume with --resume ${settings.checkpointDir}` : '';
}

/** The checkpoint faults of the test switch, applied between the fsync and the rename. */
async function stall(kind: string, temporary: string): Promise<void> {
  if (kind === 'checkpoint-pause') {
    process.stderr.write(`syncgrad: checkpoint write paused before its rename (${temporary})\n`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    return;
  }
  const code = kind === 'checkpoint-enospc' ? 'ENOSPC' : 'EACCES';
  const text = code === 'ENOSPC' ? 'no space left on device' : 'permission denied';
  throw Object.assign(new Error(`${code}: ${text}, write (injected by SYNCGRAD_TEST_FAULT)`), {
    code,
  });
}
