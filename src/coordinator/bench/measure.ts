// Measuring one syncgrad configuration: a real training run on synthetic (or
// real) images through `train`, whose first epoch warms up the engine and
// whose later epochs are timed, with the workers' own breakdown of each step.

import type { LabelledImages } from '../../shared/images.js';
import { parameterLayout } from '../../shared/layout.js';
import type { ModelShape } from '../../shared/layout.js';
import type { EngineName } from '../../shared/messages.js';
import type { StepTime } from '../options.js';
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
  const steps = timed.reduce((sum, record) => sum + record.steps, 0);
  const mean = (part: keyof StepTime) =>
    timed.reduce((sum, record) => sum + record.stepTime[part] * record.steps, 0) / steps;
  const breakdown: StepBreakdown = {
    gather: mean('gatherMilliseconds'),
    compute: mean('computeMilliseconds'),
    wait: mean('waitMilliseconds'),
    allReduce: mean('allReduceMilliseconds'),
    update: mean('updateMilliseconds'),
    overhead: mean('overheadMilliseconds'),
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
