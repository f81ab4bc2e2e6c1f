// Measuring syncgrad on this machine: one configuration as a real training
// run on synthetic (or real) images through `train`, whose first epoch warms
// up the engine and whose later epochs are timed, with the workers' own
// breakdown of each step; and which engines load, and how fast each one's
// matrix multiply runs on one core and on all of them.

import type { LabelledImages } from '../../shared/images.js';
import { parameterLayout } from '../../shared/layout.js';
import type { ModelShape } from '../../shared/layout.js';
import type { EngineName } from '../../shared/messages.js';
import { resolveOptions } from '../options.js';
import { WorkerPool } from '../pool.js';
import { startPool } from '../start-pool.js';
import { stepTimeOfEpochs } from '../epoch-report.js';
import { train } from '../trainer.js';
import type { BenchRow, StepBreakdown } from './types.js';

/** Floating-point operations of one sample's forward and backward pass. */
export function flopsPerSample(shape: ModelShape): number {
  const layers = parameterLayout(shape).layers;
  const products = layers.map((layer) => 2 * layer.inputSize * layer.outputSize);
  const all = products.reduce((sum, flops) => sum + flops, 0);
  // forward Z, kernel gradient dK for every layer, and dA for all but the first
  return all + all + (all - products[0]);
}

export interface Configuration {
  engine: EngineName;
  images: LabelledImages;
  hiddenSizes: number[];
  globalBatch: number;
  workers: number;
  /** Steps of each epoch: the first epoch warms up, the others are timed. */
  stepsPerEpoch: number;
  timedEpochs: number;
  learningRate: number;
  signal?: AbortSignal;
}

/** A measured row, with speedup and efficiency still to be filled in against 1 worker. */
export async function measureConfiguration(configuration: Configuration): Promise<BenchRow> {
  const { engine, images, globalBatch, workers, stepsPerEpoch, timedEpochs } = configuration;
  const count = Math.min(images.count, globalBatch * stepsPerEpoch);
  const inputSize = images.height * images.width * images.channels;
  const subset: LabelledImages = {
    ...images,
    pixels: images.pixels.subarray(0, count * inputSize),
    labels: images.labels.subarray(0, count),
    count,
  };
  const summary = await train({
    dataset: { train: subset },
    engine,
    workers,
    batchSize: globalBatch,
    epochs: 1 + timedEpochs,
    hiddenSizes: configuration.hiddenSizes,
    learningRate: configuration.learningRate,
    validationSplit: 0,
    download: false,
    signal: configuration.signal,
  });

  const timed = summary.history.slice(1);
  const seconds = timed.reduce((sum, record) => sum + record.seconds, 0);
  const samples = timed.reduce((sum, record) => sum + record.samplesPerSecond * record.seconds, 0);
  const time = stepTimeOfEpochs(timed);
  const breakdown: StepBreakdown = {
    gather: time.gatherMilliseconds,
    compute: time.computeMilliseconds,
    wait: time.waitMilliseconds,
    allReduce: time.allReduceMilliseconds,
    update: time.updateMilliseconds,
    overhead: time.overheadMilliseconds,
  };
  const samplesPerSecond = samples / seconds;
  const shape = summary.model.shape;
  return {
    kind: 'measured',
    engine: summary.engine,
    inputSize: shape.inputSize,
    globalBatch,
    workers,
    samplesPerSecond,
    speedup: 1,
    efficiency: 1,
    breakdown,
    gflops: (samplesPerSecond * flopsPerSample(shape)) / 1e9,
  };
}

/** Fills in speedup and efficiency against the 1-worker row of the same group. */
export function relateToOneWorker(rows: BenchRow[]): void {
  for (const row of rows) {
    const one = rows.find(
      (other) =>
        other.kind === row.kind &&
        other.engine === row.engine &&
        other.inputSize === row.inputSize &&
        other.globalBatch === row.globalBatch &&
        other.workers === 1,
    );
    if (!one) continue;
    row.speedup = row.samplesPerSecond / one.samplesPerSecond;
    row.efficiency = row.speedup / row.workers;
  }
}

/** onnx when it loads here, and tfjs, which always does. */
export async function availableEngines(notice: (message: string) => void): Promise<EngineName[]> {
  const pool = new WorkerPool(1, 'onnx', 'wasm');
  try {
    await pool.probe();
    return ['onnx', 'tfjs'];
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    notice(`the onnx engine could not load (${reason}); measuring tfjs only`);
    return ['tfjs'];
  } finally {
    await pool.close();
  }
}

/**
 * The engine's matrix-multiply rate on the first layer's forward product for
 * a shard of 128 rows: on one core, and summed over `workers` cores at once,
 * the most any worker count can get out of this machine's cores together.
 */
export async function matMulRates(
  engine: EngineName,
  rows: number,
  inputSize: number,
  workers: number,
): Promise<{ gflops: number; allCoresGflops: number }> {
  const settings = resolveOptions({ dataset: '', workers, engine });
  const pool = await startPool(settings, false);
  try {
    const gflops = await pool.matMulRate(rows, inputSize, 128, 0.5);
    const allCoresGflops = await pool.matMulRate(rows, inputSize, 128, 0.5, workers);
    return { gflops, allCoresGflops };
  } finally {
    await pool.close();
  }
}
