// `syncgrad bench`: runs the benchmark with a progress bar, prints its tables,
// and writes bench.json, bench.csv and bench.svg into the output folder.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import cliProgress from 'cli-progress';

import { OptionError } from '../../shared/errors.js';
import type { EngineName } from '../../shared/messages.js';
import { numberFlag } from '../commands.js';
import { ensureDirectory } from '../data/common.js';
import { renderBenchChart } from './chart.js';
import { benchCsv } from './csv.js';
import { formatBenchReport } from './report.js';
import { bench } from './run-bench.js';
import type { BenchProgress } from './run-bench.js';

export interface BenchFlags {
  quick: boolean;
  engines?: string;
  inputs?: string;
  batches?: string;
  workers?: string;
  seconds?: string;
  peers: boolean;
  dataset?: string;
  dataDir?: string;
  out: string;
  json: boolean;
}

export async function benchCommand(flags: BenchFlags, signal: AbortSignal): Promise<void> {
  // the output folder must be writable before minutes of measuring
  await ensureDirectory(flags.out);
  const progress = progressDisplay(process.stderr);
  const report = await bench({
    quick: flags.quick,
    engines: listFlag('engines', flags.engines) as EngineName[] | undefined,
    inputSizes: numberListFlag('inputs', flags.inputs),
    batches: numberListFlag('batches', flags.batches),
    workerCounts: numberListFlag('workers', flags.workers),
    seconds: numberFlag('seconds', flags.seconds),
    peers: flags.peers,
    dataset: flags.dataset,
    dataDir: flags.dataDir,
    signal,
    onProgress: progress.update,
    onNotice: (message) => {
      progress.pause();
      process.stderr.write(`syncgrad: ${message}\n`);
    },
  }).finally(progress.stop);

  const files = {
    json: join(flags.out, 'bench.json'),
    csv: join(flags.out, 'bench.csv'),
    svg: join(flags.out, 'bench.svg'),
  };
  await writeFile(files.json, JSON.stringify(report, null, 2) + '\n');
  await writeFile(files.csv, benchCsv(report.rows, report.peers));
  await writeFile(files.svg, await renderBenchChart(report.rows, report.peers));
  process.stdout.write(formatBenchReport(report));
  process.stdout.write(`wrote ${files.json}, ${files.csv} and ${files.svg}\n`);
  if (flags.json) process.stdout.write(JSON.stringify(report) + '\n');
}

function listFlag(flag: string, text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const items = text.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) {
    throw new OptionError(flag, `--${flag} must be a comma-separated list, got '${text}'.`);
  }
  return items;
}

function numberListFlag(flag: string, text: string | undefined): number[] | undefined {
  return listFlag(flag, text)?.map((item) => {
    const value = Number(item);
    if (!Number.isFinite(value)) {
      throw new OptionError(
        flag,
        `--${flag} must list numbers separated by commas, got '${text}'.`,
      );
    }
    return value;
  });
}

/** A bar on a terminal; elsewhere one line per finished task. */
function progressDisplay(stream: NodeJS.WriteStream) {
  let bar: cliProgress.SingleBar | undefined;
  let lastCompleted = -1;
  return {
    update(progress: BenchProgress): void {
      if (!stream.isTTY) {
        if (progress.completed !== lastCompleted && progress.completed > 0) {
          stream.write(`bench ${progress.completed}/${progress.total}: ${progress.label}\n`);
        }
        lastCompleted = progress.completed;
        return;
      }
      if (!bar) {
        bar = new cliProgress.SingleBar(
          { format: 'bench [{bar}] {value}/{total}  {label}', stream, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(progress.total, progress.completed, { label: progress.label });
      }
      bar.update(progress.completed, { label: progress.label });
    },
    pause(): void {
      bar?.stop();
      bar = undefined;
    },
    stop(): void {
      bar?.stop();
      bar = undefined;
    },
  };
}
