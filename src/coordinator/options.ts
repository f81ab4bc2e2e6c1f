// The options of a training run, their defaults, and the checks that turn a
// value that cannot work into an OptionError naming the flag.

import { availableParallelism } from 'node:os';

import { OptionError } from '../shared/errors.js';
import type { Dataset, DatasetSplits } from '../shared/images.js';
import type { BackendName, EngineName } from '../shared/messages.js';
import type { OptimizerName } from '../shared/optimizers.js';
import type { LoadProgress, ReadOptions } from './data/index.js';
import type { DataSummary } from './prepare-data.js';

/** Progress inside an epoch, reported about ten times a second. */
export interface StepProgress {
  epoch: number;
  epochs: number;
  step: number;
  stepsInEpoch: number;
  /** Mean loss over this epoch's samples so far. */
  loss: number;
  accuracy: number;
  samplesPerSecond: number;
}

/** One row of the training history. */
export interface EpochRecord {
  /** Counted from 1. */
  epoch: number;
  steps: number;
  loss: number;
  accuracy: number;
  validationLoss: number | null;
  validationAccuracy: number | null;
  /** Seconds spent in training steps, evaluation excluded. */
  seconds: number;
  samplesPerSecond: number;
  /** Where the epoch's steps spent their time. */
  stepTime: StepTime;
  /**
   * Tensors the workers' engines hold at the end of the epoch, summed: the
   * same number every epoch when nothing leaks (zero for the onnx engine).
   */
  liveTensors: number;
}

/**
 * Mean milliseconds per step in each part of a step, averaged over workers.
 * The parts add up to the wall time of a step.
 */
export interface StepTime {
  /** Copying the shard's samples out of the shared training set. */
  gatherMilliseconds: number;
  /** The engine's forward and backward pass over the shard. */
  computeMilliseconds: number;
  /** Waiting at the first barrier for the slowest worker's gradients. */
  waitMilliseconds: number;
  /**
   * The all-reduce: gradients into shared memory and parameters back out of
   * it (onnx engine), the reduce-scatter over all slots, and the second
   * barrier, where every range has been updated.
   */
  allReduceMilliseconds: number;
  /** The optimizer update of the worker's parameter range. */
  updateMilliseconds: number;
  /** The rest of the wall time: starting each epoch's tasks on the pool, progress. */
  overheadMilliseconds: number;
}

export interface TrainOptions extends ReadOptions {
  /**
   * Training data: a name (`'fashion-mnist'`, `'mnist'`, `'cifar10'`) or a
   * path, as `loadDataset` takes them; a `Dataset` in memory (see
   * `datasetFromArrays`, `datasetFromSamples`); or a training set with its own
   * test set. Every dataset is checked by `checkDataset` before training.
   */
  dataset: string | Dataset | DatasetSplits;
  /** Test data: a path of the dataset's kind, or a `Dataset`. Default: the dataset's own. */
  test?: string | Dataset;
  /** Folder searched first for named datasets. Default: $SYNCGRAD_DATA_DIR. */
  dataDir?: string;
  /** Folder for downloads and decoded images. Default: $SYNCGRAD_CACHE_DIR or ~/.cache/syncgrad. */
  cacheDir?: string;
  /** Whether named datasets may be downloaded when not found. Default true. */
  download?: boolean;
  /** Worker threads. Default: the number of cores. */
  workers?: number;
  /** Default 10. */
  epochs?: number;
  /** Samples per update, split across the workers. Default 32. */
  batchSize?: number;
  /** Default 0.0005. */
  learningRate?: number;
  /** Default 'adam' (Keras defaults: beta1 0.9, beta2 0.999, epsilon 1e-7). */
  optimizer?: OptimizerName;
  /** For the momentum optimizer. Default 0.9. */
  momentum?: number;
  /** Widths of the hidden ReLU layers. Default [200, 150]. */
  hiddenSizes?: number[];
  /** Seed of weight initialization, validation split and shuffles. Default 42. */
  seed?: number;
  /** Stop after this many updates in all. Default: no limit. */
  maxSteps?: number;
  /**
   * Fraction of the training set held out for validation. Default 0 when
   * there is a test set (which then serves as validation data each epoch),
   * otherwise 0.1.
   */
  validationSplit?: number;
  /**
   * Gradient engine of the workers: 'onnx' (onnxruntime's native CPU build),
   * 'tfjs' (TensorFlow.js on `backend`), or 'auto', which picks onnx when it
   * loads and tfjs otherwise, with a notice. Default 'auto'; an explicit
   * `backend` with 'auto' means tfjs.
   */
  engine?: EngineChoice;
  /** TensorFlow.js backend of the tfjs engine. Default 'wasm'. */
  backend?: BackendName;
  /**
   * Aborting stops training within about a quarter of a second, after a
   * whole step; with `checkpointDir` a checkpoint is written first, and the
   * TrainingAbortedError names it.
   */
  signal?: AbortSignal;
  /**
   * Folder for checkpoints: parameters, optimizer state, position and history,
   * written atomically with a SHA-256. Default: none (or `resume`'s folder).
   */
  checkpointDir?: string;
  /** How often to checkpoint: `{ steps: n }` or `{ epochs: n }`. Default `{ epochs: 1 }`. */
  checkpointEvery?: CheckpointInterval;
  /** Checkpoints kept, newest first; older ones are removed. Default 3. */
  keepCheckpoints?: number;
  /**
   * A checkpoint folder to continue from: its newest intact checkpoint. The
   * run must have the same model, optimizer, batch size, seed, validation
   * split and data; workers and engine may differ. Default: none.
   */
  resume?: string;
  /** At a step whose loss is not finite: 'stop' training, or 'skip' its update. Default 'stop'. */
  onNonFinite?: 'stop' | 'skip';
  /**
   * When a checkpoint cannot be written (disk full, no permission): 'stop'
   * training, or 'continue' with a notice. Earlier checkpoints are never
   * damaged either way. Default 'stop'.
   */
  onCheckpointFailure?: 'stop' | 'continue';
  onEpoch?: (record: EpochRecord) => void;
  onProgress?: (progress: StepProgress) => void;
  onLoadProgress?: (event: LoadProgress) => void;
  /** One-line notices for people, such as a backend falling back to another. */
  onNotice?: (message: string) => void;
  /** The data about to be trained on, once it is loaded and split. */
  onData?: (data: DataSummary) => void;
}

/** Every `steps` updates, or at the end of every `epochs` epochs. */
export type CheckpointInterval = { steps: number } | { epochs: number };

type OptionalKeys =
  | keyof ReadOptions
  | 'checkpointDir'
  | 'resume'
  | 'test'
  | 'dataDir'
  | 'cacheDir'
  | 'signal'
  | 'onEpoch'
  | 'onProgress'
  | 'onLoadProgress'
  | 'onNotice'
  | 'onData';

export type ResolvedOptions = Required<
  Omit<TrainOptions, OptionalKeys | 'maxSteps' | 'validationSplit'>
> &
  Pick<TrainOptions, OptionalKeys> & {
    maxSteps: number;
    validationSplit: number | undefined;
  };

/** The checks of the checkpoint options, naming their flags. */
function checkCheckpointOptions(resolved: ResolvedOptions, options: TrainOptions): void {
  for (const [flag, value] of [
    ['resume', options.resume],
    ['checkpoint-dir', options.checkpointDir],
  ] as const) {
    if (value !== undefined && (typeof value !== 'string' || value.trim() === '')) {
      throw new OptionError(flag, `--${flag} needs a folder name, got ${JSON.stringify(value)}.`);
    }
  }
  if (resolved.checkpointDir === undefined) {
    for (const [flag, value] of [
      ['checkpoint-every', options.checkpointEvery],
      ['keep-checkpoints', options.keepCheckpoints],
    ] as const) {
      if (value !== undefined) {
        throw new OptionError(
          flag,
          `--${flag} was given without --checkpoint-dir, so no checkpoint would be written; ` +
            `add --checkpoint-dir DIR, or drop --${flag}.`,
        );
      }
    }
  }
  const every = resolved.checkpointEvery as Partial<{ steps: number; epochs: number }>;
  const count = every?.steps ?? every?.epochs;
  const both = every?.steps !== undefined && every?.epochs !== undefined;
  if (
    typeof every !== 'object' ||
    every === null ||
    both ||
    !Number.isInteger(count) ||
    count! < 1
  ) {
    throw new OptionError(
      'checkpoint-every',
      `--checkpoint-every must be a whole number of steps (500) or of epochs (1epoch, 2epochs), ` +
        `got ${JSON.stringify(resolved.checkpointEvery)}. Example: --checkpoint-every 500, or ` +
        `checkpointEvery: { steps: 500 }.`,
    );
  }
  wholeNumber('keep-checkpoints', resolved.keepCheckpoints, 1, 'Use --keep-checkpoints 3.');
  oneOf('on-nonfinite', resolved.onNonFinite, ['stop', 'skip']);
  oneOf('on-checkpoint-failure', resolved.onCheckpointFailure, ['stop', 'continue']);
}

export type EngineChoice = EngineName | 'auto';

export const kEngines: EngineChoice[] = ['auto', 'onnx', 'tfjs'];
export const kBackends: BackendName[] = ['wasm', 'cpu', 'tensorflow'];
export const kOptimizers: OptimizerName[] = ['adam', 'sgd', 'momentum'];

/** Applies the defaults and rejects values that cannot work, naming the flag. */
export function resolveOptions(options: TrainOptions): ResolvedOptions {
  const cores = availableParallelism();
  const resolved: ResolvedOptions = {
    ...options,
    download: options.download ?? true,
    workers: options.workers ?? cores,
    epochs: options.epochs ?? 10,
    batchSize: options.batchSize ?? 32,
    learningRate: options.learningRate ?? 0.0005,
    optimizer: options.optimizer ?? 'adam',
    momentum: options.momentum ?? 0.9,
    hiddenSizes: options.hiddenSizes ?? [200, 150],
    seed: options.seed ?? 42,
    maxSteps: options.maxSteps ?? Number.POSITIVE_INFINITY,
    validationSplit: options.validationSplit,
    // a TensorFlow.js backend named with the choice left to syncgrad means tfjs
    engine:
      (options.engine ?? 'auto') === 'auto' && options.backend !== undefined
        ? 'tfjs'
        : (options.engine ?? 'auto'),
    backend: options.backend ?? 'wasm',
    checkpointDir: options.checkpointDir ?? options.resume,
    checkpointEvery: options.checkpointEvery ?? { epochs: 1 },
    keepCheckpoints: options.keepCheckpoints ?? 3,
    onNonFinite: options.onNonFinite ?? 'stop',
    onCheckpointFailure: options.onCheckpointFailure ?? 'stop',
  };
  checkCheckpointOptions(resolved, options);

  wholeNumber(
    'workers',
    resolved.workers,
    1,
    `Use --workers 1 for one thread, or leave it out to use all ${cores} cores.`,
  );
  wholeNumber('epochs', resolved.epochs, 1, 'Use --epochs 10 for the textbook run.');
  wholeNumber('batch-size', resolved.batchSize, 1, 'Use --batch-size 32 for the textbook run.');
  if (resolved.batchSize < resolved.workers) {
    throw new OptionError(
      'batch-size',
      `--batch-size ${resolved.batchSize} is smaller than --workers ${resolved.workers}: ` +
        `each global batch is split across the workers, so every worker needs at least ` +
        `one sample. Use a batch of at least ${resolved.workers} or at most ` +
        `${resolved.batchSize} workers.`,
    );
  }
  if (options.maxSteps !== undefined) {
    wholeNumber('max-steps', options.maxSteps, 1, 'Leave it out to train for all epochs.');
  }
  if (!Number.isInteger(resolved.seed)) {
    throw new OptionError('seed', `--seed must be a whole number, got ${resolved.seed}.`);
  }
  checkHiddenSizes(resolved.hiddenSizes, resolved.hiddenSizes.join(','));
  const split = resolved.validationSplit;
  if (split !== undefined && !(split >= 0 && split < 1)) {
    throw new OptionError(
      'validation-split',
      `--validation-split must be at least 0 and below 1, got ${split}. Example: ` +
        `--validation-split 0.1.`,
    );
  }
  oneOf('engine', resolved.engine, kEngines);
  oneOf('backend', resolved.backend, kBackends);
  if (resolved.engine === 'onnx' && options.backend !== undefined) {
    throw new OptionError(
      'backend',
      `--backend ${options.backend} selects a TensorFlow.js backend, but --engine onnx does ` +
        `not use TensorFlow.js. Leave out --backend, or use --engine tfjs.`,
    );
  }
  oneOf('optimizer', resolved.optimizer, kOptimizers);
  return resolved;
}

/** Rejects hidden widths that are not positive whole numbers; `given` is what the user wrote. */
export function checkHiddenSizes(sizes: number[], given: string): void {
  if (sizes.length === 0 || sizes.some((size) => !Number.isInteger(size) || size < 1)) {
    throw new OptionError(
      'hidden',
      `--hidden must list positive whole layer widths separated by commas, got '${given}'. ` +
        `Example: --hidden 200,150.`,
    );
  }
}

function wholeNumber(flag: string, value: number, minimum: number, hint: string): void {
  if (!Number.isInteger(value) || value < minimum) {
    throw new OptionError(
      flag,
      `--${flag} must be a whole number of at least ${minimum}, got ${value}. ${hint}`,
    );
  }
}

function oneOf(flag: string, value: string, allowed: string[]): void {
  if (!allowed.includes(value)) {
    throw new OptionError(flag, `--${flag} must be one of ${allowed.join(', ')}; got '${value}'.`);
  }
}
