// The training loop of the coordinator: data into shared memory, one pool
// phase per epoch, evaluation, and the run's summary.

import { performance } from 'node:perf_hooks';

import { TrainingAbortedError } from '../shared/errors.js';
import {
  kStatsComputeMilliseconds,
  kStatsCorrect,
  kStatsLossSum,
  kStatsSlotsPerWorker,
  kStatsUpdateMilliseconds,
  kStatsWaitMilliseconds,
  kStepsDone,
} from '../shared/layout.js';
import type { ModelShape } from '../shared/layout.js';
import type { SessionMemory } from '../shared/messages.js';
import { optimizerConfig } from '../shared/optimizers.js';
import type { OptimizerConfig } from '../shared/optimizers.js';
import { evaluationReport, parametersDigest } from './metrics.js';
import type { EvaluationReport } from './metrics.js';
import { resolveOptions } from './options.js';
import type { EpochRecord, ResolvedOptions, TrainOptions } from './options.js';
import { requestStop, WorkerPool } from './pool.js';
import { prepareData, resolveData } from './prepare-data.js';
import type { DataSummary, PreparedData } from './prepare-data.js';
import { kStreamShuffle, randomStream, shuffleInPlace } from './random.js';
import { allocateSession, initializeParameters } from './session.js';

/** A trained model: its shape, its classes and a copy of its parameters. */
export interface TrainedModel {
  shape: ModelShape;
  /** Height, width and channels of the input images. */
  inputShape: [number, number, number];
  classNames: string[];
  parameters: Float32Array;
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
  backend: string;
  epochs: number;
  steps: number;
  globalBatch: number;
  samplesPerSecond: number;
  /** Where a step's time went, per worker and step, from the workers' own timers. */
  stepTime: StepTime;
  paramsDigest: string;
}

/** Mean milliseconds per step and worker in each phase of a step. */
export interface StepTime {
  /** Gathering the shard and computing its gradients. */
  computeMilliseconds: number;
  /** Waiting at the two barriers for the other workers. */
  waitMilliseconds: number;
  /** Reducing and updating the worker's range of the parameters. */
  updateMilliseconds: number;
}

/** Trains an MLP data-parallel across worker threads and evaluates it. */
export async function train(options: TrainOptions): Promise<TrainingSummary> {
  const settings = resolveOptions(options);
  const optimizer = optimizerConfig(settings.optimizer, settings.learningRate, settings.momentum);

  // the workers start and load their backend while the data loads
  const starting = startPool(settings, options.backend === undefined);
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

/**
 * A pool whose threads have all loaded the backend. When the backend was
 * left to its default and wasm cannot load, the pure JavaScript cpu backend
 * takes over, with a notice, rather than the run failing.
 */
async function startPool(settings: ResolvedOptions, mayFallBack: boolean): Promise<WorkerPool> {
  const pool = new WorkerPool(settings.workers, settings.backend);
  try {
    await pool.probe();
    return pool;
  } catch (error) {
    await pool.close();
    if (!mayFallBack || settings.backend !== 'wasm') throw error;
    const reason = error instanceof Error ? error.message : String(error);
    settings.onNotice?.(
      `the wasm backend failed to load (${reason}); training on the slower cpu backend`,
    );
    const fallback = new WorkerPool(settings.workers, 'cpu');
    try {
      await fallback.probe();
    } catch (fallbackError) {
      await fallback.close();
      throw fallbackError;
    }
    return fallback;
  }
}

async function runEpochs(
  pool: WorkerPool,
  optimizer: OptimizerConfig,
  data: PreparedData,
  settings: ResolvedOptions,
): Promise<TrainingSummary> {
  const session = allocateSession(data.shape, settings.workers, optimizer, data.train);
  const parameters = new Float32Array(session.parameters);
  initializeParameters(data.shape, settings.seed, parameters);

  const control = new Int32Array(session.control);
  const stopOnAbort = () => requestStop(control, 1);
  settings.signal?.addEventListener('abort', stopOnAbort, { once: true });

  const order = new Int32Array(session.order);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const shuffle = randomStream(settings.seed, kStreamShuffle);
  const stepsPerEpoch = Math.ceil(data.train.count / settings.batchSize);
  const totalSteps = Math.min(settings.maxSteps, stepsPerEpoch * settings.epochs);
  const history: EpochRecord[] = [];
  const stepLosses: number[] = [];
  const phaseTime: StepTime = {
    computeMilliseconds: 0,
    waitMilliseconds: 0,
    updateMilliseconds: 0,
  };
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
      addStepTime(phaseTime, new Float64Array(session.stats), settings.workers);

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
      backend: pool.backend,
      epochs: history.length,
      steps: updates,
      globalBatch: settings.batchSize,
      samplesPerSecond: samplesSeen / trainingSeconds,
      stepTime: {
        computeMilliseconds: phaseTime.computeMilliseconds / (updates * settings.workers),
        waitMilliseconds: phaseTime.waitMilliseconds / (updates * settings.workers),
        updateMilliseconds: phaseTime.updateMilliseconds / (updates * settings.workers),
      },
      paramsDigest: parametersDigest(parameters),
    };
  } catch (error) {
    if (settings.signal?.aborted) throw new TrainingAbortedError('Training was aborted.');
    throw error;
  } finally {
    settings.signal?.removeEventListener('abort', stopOnAbort);
  }
}

/** Adds the workers' phase timers of one epoch (milliseconds summed over steps) to `total`. */
function addStepTime(total: StepTime, stats: Float64Array, workers: number): void {
  for (let worker = 0; worker < workers; worker++) {
    const base = worker * kStatsSlotsPerWorker;
    total.computeMilliseconds += stats[base + kStatsComputeMilliseconds];
    total.waitMilliseconds += stats[base + kStatsWaitMilliseconds];
    total.updateMilliseconds += stats[base + kStatsUpdateMilliseconds];
  }
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
