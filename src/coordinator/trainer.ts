// The training loop of the coordinator: data into shared memory, one pool
// phase per epoch, evaluation, and the run's summary.

import { performance } from 'node:perf_hooks';

import { TrainingAbortedError } from '../shared/errors.js';
import type { ValueRange } from '../shared/images.js';
import {
  kStatsAllReduceMilliseconds,
  kStatsComputeMilliseconds,
  kStatsCorrect,
  kStatsGatherMilliseconds,
  kStatsLiveTensors,
  kStatsLossSum,
  kStatsSlotsPerWorker,
  kStatsUpdateMilliseconds,
  kStatsWaitMilliseconds,
  kStepsDone,
} from '../shared/layout.js';
import { parameterLayout } from '../shared/layout.js';
import type { ModelShape } from '../shared/layout.js';
import type { EngineName, PixelType, SessionMemory } from '../shared/messages.js';
import { optimizerConfig } from '../shared/optimizers.js';
import type { OptimizerConfig } from '../shared/optimizers.js';
import { evaluationReport, parametersDigest } from './metrics.js';
import type { EvaluationReport } from './metrics.js';
import { resolveOptions } from './options.js';
import type { EpochRecord, ResolvedOptions, StepTime, TrainOptions } from './options.js';
import { requestStop } from './pool.js';
import type { WorkerPool } from './pool.js';
import { prepareData, resolveData } from './prepare-data.js';
import type { DataSummary, PreparedData } from './prepare-data.js';
import { kStreamShuffle, randomStream, shuffleInPlace } from './random.js';
import { allocateSession, initializeParameters } from './session.js';
import { storedIndices } from './samples.js';
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

  // the workers start and load their engine while the data loads
  const starting = startPool(settings, options.backend !== undefined);
  let pool: WorkerPool | undefined;
  try {
    const [splits, started] = await Promise.all([resolveData(settings), starting]);
    pool = started;
    const data = prepareData(splits, settings);
    settings.onData?.(data.summary);
    return await runEpochs(pool, optimizer, data, settings);
  } finally {
    pool ??= await starting.catch(() => undefined);
    await pool?.close();
  }
}

async function runEpochs(
  pool: WorkerPool,
  optimizer: OptimizerConfig,
  data: PreparedData,
  settings: ResolvedOptions,
): Promise<TrainingSummary> {
  const session = allocateSession(data.shape, settings.workers, optimizer, data.train);
  const parameters = new Float32Array(session.model.buffer, 0, parameterLayout(data.shape).count);
  initializeParameters(data.shape, settings.seed, parameters);

  const control = new Int32Array(session.control);
  const stopOnAbort = () => requestStop(control, 1);
  settings.signal?.addEventListener('abort', stopOnAbort, { once: true });

  const order = new Int32Array(session.order);
  order.set(storedIndices(data.train));
  const shuffle = randomStream(settings.seed, kStreamShuffle);
  const stepsPerEpoch = Math.ceil(data.train.count / settings.batchSize);
  const totalSteps = Math.min(settings.maxSteps, stepsPerEpoch * settings.epochs);
  const history: EpochRecord[] = [];
  const stepLosses: number[] = [];
  let updates = 0;
  let trainingSeconds = 0;
  let samplesSeen = 0;

  try {
    for (let epoch = 1; updates < totalSteps; epoch++) {
      if (settings.signal?.aborted) throw new TrainingAbortedError('Training was aborted.');
      const steps = Math.min(stepsPerEpoch, totalSteps - updates);

      // shuffle, then one pool phase for the epoch's steps
      shuffleInPlace(order, shuffle);
      new Float64Array(session.stats).fill(0);
      Atomics.store(control, kStepsDone, 0);
      const started = performance.now();
      const reporter = reportProgress(
        session,
        settings,
        epoch,
        Math.ceil(totalSteps / stepsPerEpoch),
        steps,
        started,
      );
      const results = await pool
        .trainSteps(session, settings.batchSize, 0, steps, updates)
        .finally(reporter);
      const seconds = (performance.now() - started) / 1000;

      // per-step and per-epoch figures, summed over the workers in rank order
      let lossSum = 0;
      let correct = 0;
      let samples = 0;
      for (let step = 0; step < steps; step++) {
        const batch = Math.min(settings.batchSize, data.train.count - step * settings.batchSize);
        const stepLoss = results.reduce((sum, result) => sum + result.lossSums[step], 0);
        stepLosses.push(stepLoss / batch);
        lossSum += stepLoss;
        correct += results.reduce((sum, result) => sum + result.correct[step], 0);
        samples += batch;
      }
      updates += steps;
      trainingSeconds += seconds;
      samplesSeen += samples;

      const validation = data.validation
        ? await pool.evaluate(session, data.validation.samples)
        : null;
      const record: EpochRecord = {
        epoch,
        steps,
        loss: lossSum / samples,
        accuracy: correct / samples,
        validationLoss: validation ? validation.lossSum / data.validation!.samples.count : null,
        validationAccuracy: validation ? validation.correct / data.validation!.samples.count : null,
        seconds,
        samplesPerSecond: samples / seconds,
        stepTime: epochStepTime(new Float64Array(session.stats), settings.workers, steps, seconds),
        liveTensors: liveTensors(new Float64Array(session.stats), settings.workers),
      };
      history.push(record);
      settings.onEpoch?.(record);
    }

    const test = data.test ? await pool.evaluate(session, data.test.samples) : null;
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
      stepLosses,
      workers: settings.workers,
      engine: pool.engine,
      backend: pool.engine === 'onnx' ? 'native' : pool.backend,
      epochs: history.length,
      steps: updates,
      globalBatch: settings.batchSize,
      samplesPerSecond: samplesSeen / trainingSeconds,
      stepTime: stepTimeOfEpochs(history),
      paramsDigest: parametersDigest(parameters),
    };
  } catch (error) {
    if (settings.signal?.aborted) throw new TrainingAbortedError('Training was aborted.');
    throw error;
  } finally {
    settings.signal?.removeEventListener('abort', stopOnAbort);
  }
}

/**
 * Per-step means of an epoch's timers, read from the workers' stats slots
 * (milliseconds summed over its steps) and averaged over the workers; the
 * overhead is the part of the wall time the workers' timers miss.
 */
function epochStepTime(
  stats: Float64Array,
  workers: number,
  steps: number,
  seconds: number,
): StepTime {
  const mean = (slot: number) => {
    let sum = 0;
    for (let worker = 0; worker < workers; worker++) {
      sum += stats[worker * kStatsSlotsPerWorker + slot];
    }
    return sum / (steps * workers);
  };
  const time: StepTime = {
    gatherMilliseconds: mean(kStatsGatherMilliseconds),
    computeMilliseconds: mean(kStatsComputeMilliseconds),
    waitMilliseconds: mean(kStatsWaitMilliseconds),
    allReduceMilliseconds: mean(kStatsAllReduceMilliseconds),
    updateMilliseconds: mean(kStatsUpdateMilliseconds),
    overheadMilliseconds: 0,
  };
  const inWorkers = Object.values(time).reduce((sum, value) => sum + value, 0);
  time.overheadMilliseconds = Math.max(0, (seconds * 1000) / steps - inWorkers);
  return time;
}

function liveTensors(stats: Float64Array, workers: number): number {
  let sum = 0;
  for (let worker = 0; worker < workers; worker++) {
    sum += stats[worker * kStatsSlotsPerWorker + kStatsLiveTensors];
  }
  return sum;
}

/** The mean step time over `records`, each epoch weighted by its steps. */
export function stepTimeOfEpochs(records: EpochRecord[]): StepTime {
  const steps = records.reduce((sum, record) => sum + record.steps, 0);
  const mean = (part: keyof StepTime) =>
    records.reduce((sum, record) => sum + record.stepTime[part] * record.steps, 0) / steps;
  return {
    gatherMilliseconds: mean('gatherMilliseconds'),
    computeMilliseconds: mean('computeMilliseconds'),
    waitMilliseconds: mean('waitMilliseconds'),
    allReduceMilliseconds: mean('allReduceMilliseconds'),
    updateMilliseconds: mean('updateMilliseconds'),
    overheadMilliseconds: mean('overheadMilliseconds'),
  };
}

/** Polls the shared counters about ten times a second; returns the function that stops it. */
function reportProgress(
  session: SessionMemory,
  settings: ResolvedOptions,
  epoch: number,
  epochs: number,
  stepsInEpoch: number,
  started: number,
): () => void {
  const onProgress = settings.onProgress;
  if (!onProgress) return () => {};
  const control = new Int32Array(session.control);
  const stats = new Float64Array(session.stats);
  const report = () => {
    const step = Atomics.load(control, kStepsDone);
    const samples = Math.min(step * settings.batchSize, session.train.count);
    let lossSum = 0;
    let correct = 0;
    for (let worker = 0; worker < session.workers; worker++) {
      lossSum += stats[worker * kStatsSlotsPerWorker + kStatsLossSum];
      correct += stats[worker * kStatsSlotsPerWorker + kStatsCorrect];
    }
    onProgress({
      epoch,
      epochs,
      step,
      stepsInEpoch,
      loss: samples > 0 ? lossSum / samples : 0,
      accuracy: samples > 0 ? correct / samples : 0,
      samplesPerSecond: samples / ((performance.now() - started) / 1000),
    });
  };
  const timer = setInterval(report, 100);
  return () => {
    clearInterval(timer);
    report();
  };
}
