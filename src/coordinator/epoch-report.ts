// How an epoch is reported: its step-time breakdown from the workers' timers,
// the tensors the engines hold, and progress polled from the shared counters
// about ten times a second.

import { performance } from 'node:perf_hooks';

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
import type { SessionMemory } from '../shared/messages.js';
import type { EpochRecord, ResolvedOptions, StepTime } from './options.js';

/**
 * Per-step means of an epoch's timers, read from the workers' stats slots
 * (milliseconds summed over its steps) and averaged over the workers; the
 * overhead is the part of the wall time the workers' timers miss.
 */
export function epochStepTime(
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

export function liveTensors(stats: Float64Array, workers: number): number {
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
export function reportProgress(
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
