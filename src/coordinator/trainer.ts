// A training run from the caller's side: options checked, the pool started
// while the data loads, the epochs run (run-epochs.ts), the test set
// evaluated, and the run's summary.

import type { ValueRange } from '../shared/images.js';
import { parameterLayout } from '../shared/layout.js';
import type { ModelShape } from '../shared/layout.js';
import type { EngineName, PixelType } from '../shared/messages.js';
import { optimizerConfig } from '../shared/optimizers.js';
import type { OptimizerConfig } from '../shared/optimizers.js';
import { stepTimeOfEpochs } from './epoch-report.js';
import { evaluationReport, parametersDigest } from './metrics.js';
import type { EvaluationReport } from './metrics.js';
import { resolveOptions } from './options.js';
import type { EpochRecord, ResolvedOptions, StepTime, TrainOptions } from './options.js';
import type { WorkerPool } from './pool.js';
import { prepareData, resolveData } from './prepare-data.js';
import type { DataSummary, PreparedData } from './prepare-data.js';
import { runEpochs } from './run-epochs.js';
import { allocateSession, initializeParameters } from './session.js';
import { checkCheckpointFolders } from './checkpoint.js';
import { TrainingAbortedError } from '../shared/errors.js';
import { startPool } from './start-pool.js';

/** A trained model: its shape, its classes and a copy of its parameters. */
export interface TrainedModel {
  shape: ModelShape;
  /** Height, width and channels of the input images. */
  inputShape: [number, number, number];
  classNames: string[];
  parameters: Float32Array;
  /**
   * How the training images were held: 'uint8' pixels, which the model saw
   * divided by 255, or 'float32' pixels, which it saw as they were.
   */
  pixelType: PixelType;
  /** The raw range the training source scaled to 0..1, when it scaled one (see LabelledImages). */
  valueRange?: ValueRange;
}

export interface TrainingSummary {
  model: TrainedModel;
  data: DataSummary;
  history: EpochRecord[];
  /** Final evaluation on the test set, else on the validation split, else null. */
  test: EvaluationReport | null;
  /** Mean loss of every update's global batch, in order. */
  stepLosses: number[];
  workers: number;
  engine: EngineName;
  /** The TensorFlow.js backend of the tfjs engine, 'native' for onnx. */
  backend: string;
  epochs: number;
  steps: number;
  globalBatch: number;
  samplesPerSecond: number;
  /** Where a step's time went, per worker and step, from the workers' own timers. */
  stepTime: StepTime;
  paramsDigest: string;
}

/** Trains an MLP data-parallel across worker threads and evaluates it. */
export async function train(options: TrainOptions): Promise<TrainingSummary> {
  const settings = resolveOptions(options);
  const optimizer = optimizerConfig(settings.optimizer, settings.learningRate, settings.momentum);
  await checkCheckpointFolders(settings.checkpointDir, settings.resume);

  // the workers start and load their engine while the data loads
  const starting = startPool(settings, options.backend !== undefined);
  let pool: WorkerPool | undefined;
  try {
    const [splits, started] = await Promise.all([resolveData(settings), starting]);
    pool = started;
    const data = prepareData(splits, settings);
    settings.onData?.(data.summary);
    return await runTraining(pool, optimizer, data, settings);
  } finally {
    pool ??= await starting.catch(() => undefined);
    await pool?.close();
  }
}

async function runTraining(
  pool: WorkerPool,
  optimizer: OptimizerConfig,
  data: PreparedData,
  settings: ResolvedOptions,
): Promise<TrainingSummary> {
  const session = allocateSession(data.shape, settings.workers, optimizer, data.train);
  const parameters = new Float32Array(session.model.buffer, 0, parameterLayout(data.shape).count);
  const { position, checkpoint } = await runEpochs(pool, session, data, settings, () =>
    initializeParameters(data.shape, settings.seed, parameters),
  );
  const history = position.history;

  // a stop asked for once training is done still stops: before or after the test set
  const stopped = () => {
    if (!settings.signal?.aborted) return;
    const error = new TrainingAbortedError('Training was stopped before its final evaluation.');
    if (checkpoint) error.checkpoint = checkpoint;
    throw error;
  };
  stopped();
  const test = data.test ? await pool.evaluate(session, data.test.samples) : null;
  stopped();
  return {
    data: data.summary,
    model: {
      shape: data.shape,
      inputShape: [data.images.height, data.images.width, data.images.channels],
      classNames: [...data.images.classNames],
      parameters: parameters.slice(),
      pixelType: data.train.pixelType,
      ...(data.images.valueRange && { valueRange: data.images.valueRange }),
    },
    history,
    test:
      test && data.test
        ? evaluationReport(
            data.test.source,
            test.lossSum,
            test.predictions,
            data.test.labels,
            data.images.classNames,
          )
        : null,
    stepLosses: position.stepLosses,
    workers: settings.workers,
    engine: pool.engine,
    backend: pool.engine === 'onnx' ? 'native' : pool.backend,
    epochs: history.length,
    steps: position.updates,
    globalBatch: settings.batchSize,
    samplesPerSecond: position.samplesSeen / position.trainingSeconds,
    stepTime: stepTimeOfEpochs(history),
    paramsDigest: parametersDigest(parameters),
  };
}
