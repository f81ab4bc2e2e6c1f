// When a run checkpoints, what it must match to resume, and what a failed
// write or a stop costs. The checkpoint files themselves are checkpoint.ts's.

import { createHash } from 'node:crypto';

import { OptionError, TrainingAbortedError, TrainingFailedError } from '../shared/errors.js';
import { injectedFault } from '../shared/faults.js';
import type { SessionMemory } from '../shared/messages.js';
import { writeCheckpoint } from './checkpoint.js';
import type { RunIdentity, RunPosition } from './checkpoint.js';
import type { ResolvedOptions } from './options.js';
import { modelBytes } from './phases.js';
import type { PreparedData } from './prepare-data.js';
import { storedIndices } from './samples.js';

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
export class Checkpoints {
  /** The newest checkpoint this run wrote or resumed from. */
  last: string | undefined;

  private knownIdentity: RunIdentity | undefined;

  constructor(
    private readonly session: SessionMemory,
    private readonly data: PreparedData,
    private readonly settings: ResolvedOptions,
  ) {}

  /**
   * What a checkpoint of this run must match, made on first use: hashing the
   * training set costs a fraction of a second, which a run that neither
   * writes nor resumes checkpoints never pays.
   */
  get identity(): RunIdentity {
    this.knownIdentity ??= runIdentity(this.data, this.session, this.settings);
    return this.knownIdentity;
  }

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
