// The benchmark's report for people: plain-text tables of the measured rows
// beside the cost model's predictions, the predictions beyond this machine's
// cores, the peers, the fitted models and the ratios with their targets.

import { plural } from '../words.js';
import { meetsTarget } from './ratios.js';
import type { BenchReport } from './run-bench.js';
import type { BenchRow } from './types.js';

export function formatBenchReport(report: BenchReport): string {
  const { machine, settings } = report;
  const measured = report.rows.filter((row) => row.kind === 'measured');
  const predicted = report.rows.filter((row) => row.kind === 'predicted');
  const predictionOf = (row: BenchRow) =>
    predicted.find(
      (other) =>
        other.engine === row.engine &&
        other.inputSize === row.inputSize &&
        other.globalBatch === row.globalBatch &&
        other.workers === row.workers,
    );
  const most = Math.max(...settings.workerCounts);
  const sections: string[] = [];

  sections.push(
    `syncgrad bench on ${machine.cpu}, ${machine.cores} cores, ` +
      `${machine.memoryGigabytes.toFixed(0)} GB, Node ${machine.node}\n` +
      `model: inputs-${settings.hiddenSizes.join('-')}-10, Adam lr 0.0005, ` +
      `${settings.dataset} data, ${settings.seconds} s timed per row` +
      (settings.quick ? ' (quick)' : ''),
  );
  sections.push(
    `matrix multiply (first layer, 128 rows), on one core and on ` +
      `${plural(most, 'core')} at once:\n` +
      report.peaks
        .map(
          (peak) =>
            `  ${peak.engine} ${peak.inputSize} inputs: ${peak.gflops.toFixed(1)} GFLOP/s, ` +
            `${peak.allCoresGflops.toFixed(1)} GFLOP/s in all ` +
            `(${(peak.allCoresGflops / peak.gflops).toFixed(2)}x, the most any speed-up ` +
            `can reach here)`,
        )
        .join('\n'),
  );

  sections.push(
    'measured (ms are per step, averaged over workers)\n' +
      table(
        [
          'engine',
          'inputs',
          'batch',
          'workers',
          'samples/s',
          'model',
          'speedup',
          'effic.',
          'GFLOP/s',
          'of peak',
          'gather',
          'compute',
          'wait',
          'allreduce',
          'update',
          'overhead',
        ],
        measured.map((row) => {
          const b = row.breakdown!;
          const model = predictionOf(row);
          return [
            row.engine,
            row.inputSize,
            row.globalBatch,
            row.workers,
            rate(row.samplesPerSecond),
            model ? rate(model.samplesPerSecond) : '-',
            `${row.speedup.toFixed(2)}x`,
            percent(row.efficiency),
            row.gflops!.toFixed(1),
            percent(row.fractionOfPeak!),
            ...[b.gather, b.compute, b.wait, b.allReduce, b.update, b.overhead].map(milliseconds),
          ];
        }),
      ),
  );

  const beyond = predicted.filter((row) => row.workers > most);
  if (beyond.length > 0) {
    sections.push(
      `predicted by the cost model beyond ${most} cores (an upper bound: memory bandwidth ` +
        `shared between cores is not modeled)\n` +
        table(
          ['engine', 'inputs', 'batch', 'workers', 'samples/s', 'speedup', 'effic.'],
          beyond.map((row) => [
            row.engine,
            row.inputSize,
            row.globalBatch,
            row.workers,
            rate(row.samplesPerSecond),
            `${row.speedup.toFixed(2)}x`,
            percent(row.efficiency),
          ]),
        ),
    );
  }

  if (report.peers.length > 0) {
    sections.push(
      `peers, on the same model, batch and optimizer (syncgrad: best engine, ` +
        `${plural(most, 'worker')})\n` +
        table(
          ['peer', 'configuration', 'inputs', 'batch', 'samples/s', 'syncgrad/peer'],
          report.peers.map((peer) => {
            const ours = measured
              .filter(
                (row) =>
                  row.inputSize === peer.inputSize &&
                  row.globalBatch === peer.globalBatch &&
                  row.workers === most,
              )
              .reduce((top, row) => Math.max(top, row.samplesPerSecond), 0);
            return [
              peer.peer,
              peer.configuration,
              peer.inputSize,
              peer.globalBatch,
              rate(peer.samplesPerSecond),
              ours > 0 ? `${(ours / peer.samplesPerSecond).toFixed(2)}x` : '-',
            ];
          }),
        ),
    );
  }

  sections.push(
    report.costModels.length > 0
      ? `cost models\n${report.costModels.map((line) => `  ${line}`).join('\n')}`
      : 'cost models: none fitted (each needs at least two measured rows of one engine and ' +
          'input size)',
  );
  sections.push(
    'ratios\n' +
      report.ratios
        .map((ratio) => {
          const met = meetsTarget(ratio);
          const value = ratio.name.includes('share')
            ? percent(ratio.value)
            : `${ratio.value.toFixed(2)}x`;
          const target =
            ratio.target === undefined
              ? ''
              : `  (target ${ratio.better === 'higher' ? '≥' : '≤'} ` +
                `${ratio.name.includes('share') ? percent(ratio.target) : `${ratio.target}x`}: ` +
                `${met ? 'met' : 'missed'})`;
          return `  ${ratio.name}: ${value}${target}`;
        })
        .join('\n'),
  );
  sections.push(`finished in ${report.seconds.toFixed(0)} s`);
  return sections.join('\n\n') + '\n';
}

/** Columns padded to their widest cell; numbers right-aligned, text left-aligned. */
function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, column) => Math.max(...cells.map((row) => row[column].length)));
  const numeric = header.map((_, column) =>
    rows.every(
      (row) => typeof row[column] === 'number' || /^[\d.,x%k-]+$/.test(String(row[column])),
    ),
  );
  return cells
    .map((row) =>
      row
        .map((cell, column) =>
          numeric[column] ? cell.padStart(widths[column]) : cell.padEnd(widths[column]),
        )
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `  ${line}`)
    .join('\n');
}

function rate(samplesPerSecond: number): string {
  return Math.round(samplesPerSecond).toLocaleString('en-US');
}

function percent(fraction: number): string {
  return `${(100 * fraction).toFixed(fraction < 0.1 ? 1 : 0)}%`;
}

function milliseconds(value: number): string {
  return value.toFixed(value < 1 ? 3 : 2);
}
