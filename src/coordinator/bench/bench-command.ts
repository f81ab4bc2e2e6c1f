// `syncgrad bench`: runs the benchmark with a progress bar, prints its tables,
// and writes bench.json, bench.csv and bench.svg into the output folder.

import { rename, rm, writeFile } from 'node:fs/promises';
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
  if (flags.out.trim() === '') {
    throw new OptionError(
      'out',
      `--out must name a folder, got ''. Example: --out syncgrad-bench.`,
    );
  }
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
    // the output folder must be usable before minutes of measuring
    beforeRun: () => outputFolder(flags.out),
    onProgress: progress.update,
    onNotice: (message) => {
      progress.pause();
      process.stderr.write(`syncgrad: ${message}\n`);
    },
  }).finally(progress.stop);

  // the tables first, so a failure to write the files loses none of them
  process.stdout.write(formatBenchReport(report));
  const contents = {
    'bench.json': JSON.stringify(report, null, 2) + '\n',
    'bench.csv': benchCsv(report.rows, report.peers),
    'bench.svg': await renderBenchChart(report.rows, report.peers),
  };
  const written = await writeAll(flags.out, contents);
  process.stdout.write(`wrote ${written.join(', ')}\n`);
  if (flags.json) process.stdout.write(JSON.stringify(report) + '\n');
}

async function outputFolder(out: string): Promise<void> {
  try {
    await ensureDirectory(out);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new OptionError(
      'out',
      `--out ${out} cannot hold the benchmark's files: ${reason}. Name a folder that exists ` +
        `or can be created.`,
    );
  }
}

/**
 * Writes every file under a temporary name first and renames them into
 * place only once all are written, so earlier results are replaced whole or
 * not at all.
 */
async function writeAll(folder: string, contents: Record<string, string>): Promise<string[]> {
  const entries = Object.entries(contents).map(([name, text]) => ({
    text,
    path: join(folder, name),
    temporary: join(folder, `.${name}.${process.pid}.partial`),
  }));
  try {
    for (const entry of entries) await writeFile(entry.temporary, entry.text);
    for (const entry of entries) await rename(entry.temporary, entry.path);
  } finally {
    await Promise.all(entries.map((entry) => rm(entry.temporary, { force: true })));
  }
  return entries.map((entry) => entry.path);
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
  let lastStarted = -1;
  return {
    update(progress: BenchProgress): void {
      if (!stream.isTTY) {
        // one line as each task starts, so a long first row shows at once
        if (progress.completed < progress.total && progress.completed !== lastStarted) {
          stream.write(`bench ${progress.completed + 1}/${progress.total}: ${progress.label}\n`);
          lastStarted = progress.completed;
        }
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
