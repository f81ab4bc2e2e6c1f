// The ratios a benchmark run is judged by, computed from its rows and peers,
// each with the target syncgrad aims for where it has one.

import { plural } from '../words.js';
import type { BenchRow, PeerRow } from './types.js';

export interface BenchRatio {
  name: string;
  value: number;
  target?: number;
  /** Whether a value above the target or below it meets it. */
  better: 'higher' | 'lower';
}

/** Whether `ratio` meets its target; undefined when it has none. */
export function meetsTarget(ratio: BenchRatio): boolean | undefined {
  if (ratio.target === undefined) return undefined;
  return ratio.better === 'higher' ? ratio.value >= ratio.target : ratio.value <= ratio.target;
}

/**
 * The ratios syncgrad is judged by: its best engine at the most workers
 * against 1 worker, against the best PyTorch configuration and against
 * model.fit, and the share of a step spent outside gradient compute.
 */
export function benchRatios(rows: BenchRow[], peers: PeerRow[], workers: number): BenchRatio[] {
  const ratios: BenchRatio[] = [];
  const measured = rows.filter((row) => row.kind === 'measured');
  const best = (inputSize: number, globalBatch: number, count: number) =>
    measured
      .filter(
        (r) => r.inputSize === inputSize && r.globalBatch === globalBatch && r.workers === count,
      )
      .sort((a, b) => b.samplesPerSecond - a.samplesPerSecond)[0];
  const groups = [...new Set(measured.map((row) => `${row.inputSize} ${row.globalBatch}`))];
  for (const group of groups) {
    const [inputSize, globalBatch] = group.split(' ').map(Number);
    const top = best(inputSize, globalBatch, workers);
    if (!top) continue;
    const where = `${inputSize} inputs, batch ${globalBatch}`;
    const who = `${top.engine} ${plural(workers, 'worker')}`;
    const one = measured.find(
      (r) =>
        r.engine === top.engine &&
        r.inputSize === inputSize &&
        r.globalBatch === globalBatch &&
        r.workers === 1,
    );
    if (one && workers > 1) {
      ratios.push({
        name: `${who} / 1 worker, ${where}`,
        value: top.samplesPerSecond / one.samplesPerSecond,
        target: globalBatch >= 128 ? 1.85 : undefined,
        better: 'higher',
      });
    }
    const torch = peers
      .filter(
        (p) => p.peer === 'PyTorch' && p.inputSize === inputSize && p.globalBatch === globalBatch,
      )
      .sort((a, b) => b.samplesPerSecond - a.samplesPerSecond)[0];
    if (torch) {
      ratios.push({
        name: `${who} / PyTorch best (${torch.configuration}), ${where}`,
        value: top.samplesPerSecond / torch.samplesPerSecond,
        target: globalBatch >= 128 ? 1 : undefined,
        better: 'higher',
      });
    }
    const fit = peers.find(
      (p) => p.peer === 'tfjs-layers' && p.inputSize === inputSize && p.globalBatch === globalBatch,
    );
    if (fit) {
      ratios.push({
        name: `${who} / tfjs-layers model.fit, ${where}`,
        value: top.samplesPerSecond / fit.samplesPerSecond,
        target: globalBatch === 128 ? 10 : undefined,
        better: 'higher',
      });
    }
    if (top.breakdown) {
      const parts = Object.values(top.breakdown).reduce((sum, value) => sum + value, 0);
      ratios.push({
        name: `${who}, share of step outside gradient compute, ${where}`,
        value: 1 - top.breakdown.compute / parts,
        target: globalBatch === 128 ? 0.05 : undefined,
        better: 'lower',
      });
    }
  }
  return ratios;
}
