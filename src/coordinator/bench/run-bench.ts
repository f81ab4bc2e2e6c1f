// `bench`: measures syncgrad's training throughput for each engine, input size,
// global batch and worker count on this machine, its peers on the same model
// and batch in the same run, and the cost model fitted to the measurements.

import { availableParallelism, cpus, totalmem } from 'node:os';

import { TrainingAbortedError } from '../../shared/errors.js';
import type { LabelledImages } from '../../shared/images.js';
import { parameterLayout } from '../../shared/layout.js';
import type { ModelShape } from '../../shared/layout.js';
import type { EngineName } from '../../shared/messages.js';
import { loadDataset } from '../data/index.js';
import { plural } from '../words.js';
import { fitCostModel, modelSummary, predictedRows } from './cost-model.js';
import type { CostModel } from './cost-model.js';
import { measureModelFit } from './fit-peer.js';
import {
  availableEngines,
  matMulRates,
  measureConfiguration,
  relateToOneWorker,
} from './measure.js';
import { checkSettings, peerConfigurations, plannedSteps } from './plan.js';
import { syntheticImages } from './synthetic-data.js';
import { probeTorch, runTorchPeer } from './torch-peer.js';
import { benchRatios } from './ratios.js';
import type { BenchRatio } from './ratios.js';
import type { BenchEngine, BenchRow, PeerRow } from './types.js';

export interface BenchOptions {
  /** A short sweep (784 inputs, one peer batch, less time per row) that ends within a minute. */
  quick?: boolean;
  /** Engines to measure. Default: every engine that loads here. */
  engines?: EngineName[];
  /** Input sizes of the textbook MLP. Default [784, 3072]; quick [784]. */
  inputSizes?: number[];
  /** Global batch sizes. Default [32, 128, 512]. */
  batches?: number[];
  /** Worker counts. Default 1 up to the number of cores. */
  workerCounts?: number[];
  /** Timed seconds per syncgrad row. Default 1.5; quick 0.5. */
  seconds?: number;
  /** Measure tfjs-layers model.fit and PyTorch beside syncgrad. Default true. */
  peers?: boolean;
  /** Train on this dataset's images rather than synthetic ones: a name or a folder. */
  dataset?: string;
  /** Folder searched first for a named dataset. */
  dataDir?: string;
  /** Hidden layer widths. Default [200, 150]. */
  hiddenSizes?: number[];
  /** Worker counts the cost model predicts beyond those measured. Default 4 to 64. */
  predictWorkers?: number[];
  onProgress?: (progress: BenchProgress) => void;
  onNotice?: (message: string) => void;
  /** Called once the options are checked, before anything is measured. */
  beforeRun?: () => Promise<void>;
  /** Aborting stops the run after the row or peer in progress; bench then rejects. */
  signal?: AbortSignal;
}

/** Sent as each task starts, and once more when the last one is done. */
export interface BenchProgress {
  /** Tasks finished before the one starting now. */
  completed: number;
  total: number;
  /** What starts now, e.g. 'onnx 784 inputs, batch 128, 2 workers'; 'done' at the end. */
  label: string;
}

export interface BenchReport {
  machine: { cpu: string; cores: number; memoryGigabytes: number; node: string };
  settings: Required<
    Omit<BenchOptions, 'onProgress' | 'onNotice' | 'beforeRun' | 'signal' | 'dataset' | 'dataDir'>
  > & {
    dataset: string;
  };
  /**
   * Each engine's matrix-multiply rate on the first layer's product: on one
   * core, and summed over as many cores as the most workers measured, all
   * multiplying at once. Their ratio is the speed-up this machine's cores
   * allow for compute of this kind, whatever the training code does.
   */
  peaks: { engine: BenchEngine; inputSize: number; gflops: number; allCoresGflops: number }[];
  rows: BenchRow[];
  peers: PeerRow[];
  /** One line per fitted cost model. */
  costModels: string[];
  ratios: BenchRatio[];
  seconds: number;
}

const kClasses = 10;
const kLearningRate = 0.0005;
const kTimedEpochs = 3;

export async function bench(options: BenchOptions = {}): Promise<BenchReport> {
  const started = performance.now();
  const cores = availableParallelism();
  const quick = options.quick ?? false;
  const settings = {
    quick,
    engines: distinct(options.engines ?? (['onnx', 'tfjs'] as EngineName[])),
    inputSizes: distinct(options.inputSizes ?? (quick ? [784] : [784, 3072])),
    batches: distinct(options.batches ?? [32, 128, 512]),
    workerCounts: distinct(
      options.workerCounts ?? Array.from({ length: cores }, (_, index) => index + 1),
    ),
    seconds: options.seconds ?? (quick ? 0.5 : 1.5),
    peers: options.peers ?? true,
    hiddenSizes: options.hiddenSizes ?? [200, 150],
    predictWorkers: options.predictWorkers ?? [4, 8, 16, 32, 64],
    dataset: options.dataset ?? 'synthetic',
  };
  checkSettings(settings, options.dataset === undefined);
  const notice = (message: string) => options.onNotice?.(message);
  const stopIfAborted = () => {
    if (options.signal?.aborted) throw new TrainingAbortedError('The benchmark was stopped.');
  };
  await options.beforeRun?.();
  if (!options.engines) settings.engines = await availableEngines(notice);
  const realImages = options.dataset
    ? (await loadDataset({ dataset: options.dataset, dataDir: options.dataDir })).train
    : undefined;
  if (realImages && options.inputSizes) {
    notice(`the input size comes from ${options.dataset}; the given input sizes are not used`);
  }
  const inputSizes = realImages
    ? [realImages.height * realImages.width * realImages.channels]
    : settings.inputSizes;
  const mostWorkers = Math.max(...settings.workerCounts);
  if (mostWorkers > cores) {
    notice(
      `${mostWorkers} workers on ${cores} cores: the threads share cores, so the extra ` +
        `workers measure contention, not scaling`,
    );
  }
  for (const globalBatch of settings.batches) {
    const skipped = settings.workerCounts.filter((workers) => workers > globalBatch);
    if (skipped.length > 0) {
      notice(
        `batch ${globalBatch} is skipped for ${skipped.join(', ')} workers: each worker needs ` +
          `at least one sample of the batch`,
      );
    }
  }
  const torch = settings.peers ? await probeTorch() : undefined;
  stopIfAborted();
  if (settings.peers && !torch) {
    options.onNotice?.(
      'PyTorch is not importable by python3 or /usr/bin/python3 (SYNCGRAD_PYTHON names another ' +
        'interpreter); measuring without it',
    );
  }

  // the plan: every task, so progress can say how far along the run is
  const rowTasks = settings.engines.flatMap((engine) =>
    inputSizes.flatMap((inputSize) =>
      settings.batches.flatMap((globalBatch) =>
        settings.workerCounts
          .filter((workers) => workers <= globalBatch)
          .map((workers) => ({ engine, inputSize, globalBatch, workers })),
      ),
    ),
  );
  const peerBatches = quick
    ? [settings.batches.includes(128) ? 128 : settings.batches[0]]
    : settings.batches;
  const peerTasks = settings.peers
    ? inputSizes.flatMap((inputSize) =>
        peerBatches.flatMap((globalBatch) =>
          peerConfigurations(torch, Math.max(...settings.workerCounts)).map((peer) => ({
            ...peer,
            inputSize,
            globalBatch,
          })),
        ),
      )
    : [];
  const peakTasks = settings.engines.flatMap((engine) =>
    inputSizes.map((inputSize) => ({ engine, inputSize })),
  );
  const total = peakTasks.length + rowTasks.length + peerTasks.length;
  let completed = 0;
  const step = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
    stopIfAborted();
    options.onProgress?.({ completed, total, label });
    let result: T;
    try {
      result = await work();
    } catch (error) {
      // a peer stopped by the same Ctrl-C fails; the stop is what happened
      stopIfAborted();
      throw error;
    }
    stopIfAborted();
    completed++;
    if (completed === total) options.onProgress?.({ completed, total, label: 'done' });
    return result;
  };

  // each engine's matrix-multiply rate on one core: the yardstick of its rows
  const peaks: BenchReport['peaks'] = [];
  for (const { engine, inputSize } of peakTasks) {
    const rates = await step(`${engine} matrix multiply, ${inputSize} inputs`, () =>
      matMulRates(engine, settings.hiddenSizes[0], inputSize, Math.max(...settings.workerCounts)),
    );
    peaks.push({ engine, inputSize, ...rates });
  }

  // syncgrad rows
  const images = new Map<number, LabelledImages>();
  const rows: BenchRow[] = [];
  for (const task of rowTasks) {
    const shape = modelShape(task.inputSize, settings.hiddenSizes);
    const peak = peaks.find((p) => p.engine === task.engine && p.inputSize === task.inputSize)!;
    const stepsPerEpoch = plannedSteps(shape, peak.gflops, task, settings.seconds, kTimedEpochs);
    const needed = stepsPerEpoch * task.globalBatch;
    let data = realImages ?? images.get(task.inputSize);
    if (!data || (!realImages && data.count < needed)) {
      data = syntheticImages(task.inputSize, Math.max(needed, 4096), kClasses, 7);
      images.set(task.inputSize, data);
    }
    const label =
      `${task.engine} ${task.inputSize} inputs, batch ${task.globalBatch}, ` +
      plural(task.workers, 'worker');
    const row = await step(label, () =>
      measureConfiguration({
        ...task,
        images: data,
        hiddenSizes: settings.hiddenSizes,
        stepsPerEpoch,
        timedEpochs: kTimedEpochs,
        learningRate: kLearningRate,
        signal: options.signal,
      }),
    );
    row.fractionOfPeak = row.gflops! / (task.workers * peak.gflops);
    rows.push(row);
  }
  images.clear();
  relateToOneWorker(rows);

  // the peers, on the same model, batch and optimizer
  const peers: PeerRow[] = [];
  for (const task of peerTasks) {
    const shape = modelShape(task.inputSize, settings.hiddenSizes);
    const label =
      `${task.peer} (${task.configuration}), ${task.inputSize} inputs, ` +
      `batch ${task.globalBatch}`;
    const samplesPerSecond = await step(label, async () => {
      if (task.peer === 'tfjs-layers') {
        const result = await measureModelFit({
          ...shape,
          globalBatch: task.globalBatch,
          learningRate: kLearningRate,
          seconds: Math.max(1, settings.seconds),
        });
        return result.samplesPerSecond;
      }
      const result = await runTorchPeer({
        ...shape,
        globalBatch: task.globalBatch,
        optimizer: 'adam',
        learningRate: kLearningRate,
        threads: task.threads,
        processes: task.processes,
        seconds: Math.max(1, settings.seconds),
        python: torch!.python,
      });
      return result.samplesPerSecond;
    });
    peers.push({
      peer: task.peer,
      configuration: task.configuration,
      inputSize: task.inputSize,
      globalBatch: task.globalBatch,
      samplesPerSecond,
    });
  }

  // the cost model of each engine and input size, and its predictions
  const models = fittedModels(rows, settings.hiddenSizes);
  const measuredMost = Math.max(...settings.workerCounts);
  const predicted = predictedRows(
    models,
    [...settings.workerCounts, ...settings.predictWorkers.filter((w) => w > measuredMost)],
    settings.batches,
  );

  return {
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores,
      memoryGigabytes: totalmem() / 2 ** 30,
      node: process.version,
    },
    settings,
    peaks,
    rows: [...rows, ...predicted],
    peers,
    costModels: models.map(modelSummary),
    ratios: benchRatios(rows, peers, measuredMost),
    seconds: (performance.now() - started) / 1000,
  };
}

function modelShape(inputSize: number, hiddenSizes: number[]): ModelShape {
  return { inputSize, hiddenSizes, outputSize: kClasses };
}

function fittedModels(rows: BenchRow[], hiddenSizes: number[]): CostModel[] {
  const groups = new Map<string, BenchRow[]>();
  for (const row of rows) {
    const key = `${row.engine} ${row.inputSize}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.values()]
    .filter((group) => group.length >= 2)
    .map((group) =>
      fitCostModel(group, parameterLayout(modelShape(group[0].inputSize, hiddenSizes)).count),
    );
}

function distinct<T>(values: T[]): T[] {
  return [...new Set(values)];
}
