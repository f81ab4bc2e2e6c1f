// What the CLI shows people while it trains: a progress bar per epoch on a
// terminal, plain lines otherwise, and the final per-class table.

import cliProgress from 'cli-progress';

import type { EvaluationReport } from './metrics.js';
import type { EpochRecord, StepProgress } from './options.js';

/** Formats 18234.5 as "18.2k". */
export function compactNumber(value: number): string {
  if (!Number.isFinite(value)) return '-';
  return value >= 1000 ? `${(value / 1000).toFixed(1)}k` : value.toFixed(0);
}

export function epochLine(record: EpochRecord, epochs: number): string {
  const validation =
    record.validationLoss === null
      ? ''
      : `  val_loss ${record.validationLoss.toFixed(4)}  val_acc ` +
        `${record.validationAccuracy!.toFixed(4)}`;
  return (
    `epoch ${record.epoch}/${epochs}  loss ${record.loss.toFixed(4)}  acc ` +
    `${record.accuracy.toFixed(4)}` +
    `${validation}  ${compactNumber(record.samplesPerSecond)} samples/s  ` +
    `${record.seconds.toFixed(1)}s`
  );
}

/** Renders progress events as one bar per epoch, or as nothing until the epoch line. */
export class EpochProgress {
  private bar: cliProgress.SingleBar | undefined;
  private barEpoch = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly epochs: () => number,
  ) {}

  update(progress: StepProgress): void {
    if (!this.stream.isTTY) return;
    if (!this.bar || this.barEpoch !== progress.epoch) {
      this.bar?.stop();
      this.barEpoch = progress.epoch;
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.stream,
          format:
            `epoch ${progress.epoch}/${progress.epochs} {bar} {value}/{total} steps  ` +
            `loss {loss}  acc {acc}  {speed} samples/s  eta {eta_formatted}`,
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(progress.stepsInEpoch, 0, { loss: '-', acc: '-', speed: '-' });
    }
    this.bar.update(progress.step, {
      loss: progress.loss.toFixed(4),
      acc: progress.accuracy.toFixed(4),
      speed: compactNumber(progress.samplesPerSecond),
    });
  }

  epoch(record: EpochRecord): void {
    this.stop();
    this.stream.write(epochLine(record, this.epochs()) + '\n');
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

/** The per-class accuracy table, one class a line. */
export function perClassTable(report: EvaluationReport): string {
  const width = Math.max(5, ...report.perClass.map((entry) => entry.className.length));
  const lines = [`${'class'.padEnd(width)}  accuracy  correct/total`];
  for (const entry of report.perClass) {
    lines.push(
      `${entry.className.padEnd(width)}  ${(entry.accuracy * 100).toFixed(1).padStart(7)}%  ` +
        `${entry.correct}/${entry.total}`,
    );
  }
  return lines.join('\n');
}
