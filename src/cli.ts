#!/usr/bin/env node
// The syncgrad command line: `syncgrad train`, `syncgrad eval` and `syncgrad bench`.

import * as tf from '@tensorflow/tfjs';
import { dirname } from 'node:path';

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

import { benchCommand } from './coordinator/bench/bench-command.js';
import type { BenchFlags } from './coordinator/bench/bench-command.js';
import { evalCommand, trainCommand } from './coordinator/commands.js';
import type { EvalFlags, TrainFlags } from './coordinator/commands.js';
import { kBackends, kEngines, kOptimizers } from './coordinator/options.js';
import { SyncgradError, TrainingAbortedError } from './shared/errors.js';

const dataFlags = {
  'data-dir': {
    type: 'string',
    describe: 'Folder searched first for named datasets [env SYNCGRAD_DATA_DIR]',
  },
  'cache-dir': {
    type: 'string',
    describe:
      'Folder for downloads and decoded images [env SYNCGRAD_CACHE_DIR, default ~/.cache/syncgrad]',
  },
  download: {
    type: 'boolean',
    default: true,
    describe: 'Download a named dataset that is not found (--no-download to forbid)',
  },
  json: {
    type: 'boolean',
    default: false,
    describe: 'Print one JSON object as the last line of stdout',
  },
} as const;

const readFlags = {
  labels: {
    type: 'string',
    describe: 'IDX labels file of an IDX images --dataset [default: found beside it by name]',
  },
  'label-column': {
    type: 'string',
    describe: "CSV label column, by header name or 0-based number [default: 'label', else first]",
  },
  channels: {
    type: 'string',
    describe: 'Image channels to store: 1 (gray) or 3 (RGB) [default: what the images have]',
  },
  'image-size': {
    type: 'string',
    describe: 'Resize every image to WIDTHxHEIGHT, e.g. 32x32 [default: no resizing]',
  },
  'skip-bad': {
    type: 'boolean',
    default: false,
    describe: 'Skip and count images that cannot be decoded instead of stopping',
  },
} as const;

/** The conventional exit status of the signal that stopped the run: 130 SIGINT, 143 SIGTERM. */
let stopSignal = 130;

async function main(): Promise<void> {
  // the CLI picks its backends itself: no advice banners from TensorFlow.js
  tf.env().set('PROD', true);
  const controller = new AbortController();
  // the first Ctrl-C (or SIGTERM) stops after a whole step, with a checkpoint
  // when there is a checkpoint folder; a second one ends the process by that
  // signal at once, which cannot damage a checkpoint (each is written
  // atomically). It re-raises the signal rather than calling process.exit:
  // exiting while onnxruntime runs in a worker thread aborts the process
  for (const [signal, status] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      // the second handler first: a second signal may follow the message at once
      process.once(signal, () => {
        process.removeAllListeners(signal);
        process.kill(process.pid, signal);
      });
      stopSignal = status;
      process.stderr.write(`\nstopping after the current step (${signal} again to quit at once)\n`);
      controller.abort();
    });
  }

  await yargs(hideBin(process.argv))
    .scriptName('syncgrad')
    .usage('$0 <command> [options]')
    .command(
      'train',
      'Train an MLP data-parallel across worker threads',
      (command) =>
        command
          .option('dataset', {
            type: 'string',
            default: 'fashion-mnist',
            describe:
              "'fashion-mnist', 'mnist', 'cifar10', a folder of class subfolders, a .csv " +
              'file of pixels or of image paths and labels, or an IDX images file',
          })
          .option('test', {
            type: 'string',
            describe: "Test set, of the same kind as --dataset [default: the dataset's own]",
          })
          .option('test-labels', {
            type: 'string',
            describe: 'IDX labels file of an IDX images --test [default: found beside it]',
          })
          .option('workers', {
            type: 'string',
            describe: 'Worker threads [default: the number of cores]',
          })
          .option('epochs', {
            type: 'string',
            default: '10',
            describe: 'Passes over the training set',
          })
          .option('batch-size', {
            type: 'string',
            default: '32',
            describe: 'Global batch, split across the workers',
          })
          .option('lr', { type: 'string', default: '0.0005', describe: 'Learning rate' })
          .option('optimizer', {
            type: 'string',
            default: 'adam',
            describe: `Optimizer: ${kOptimizers.join(', ')}`,
          })
          .option('momentum', {
            type: 'string',
            default: '0.9',
            describe: 'Momentum of --optimizer momentum',
          })
          .option('hidden', { type: 'string', default: '200,150', describe: 'Hidden layer widths' })
          .option('seed', {
            type: 'string',
            default: '42',
            describe: 'Seed of initialization, validation split and shuffles',
          })
          .option('max-steps', { type: 'string', describe: 'Stop after this many updates' })
          .option('validation-split', {
            type: 'string',
            describe: 'Fraction held out for validation [default: 0 with a test set, else 0.1]',
          })
          .option('out', {
            type: 'string',
            describe: 'Save the model (TensorFlow.js Layers format) into this folder',
          })
          .option('engine', {
            type: 'string',
            describe:
              `Gradient engine: ${kEngines.join(', ')} [default: auto, which is onnx, the ` +
              `native one, when it loads, else tfjs]`,
          })
          .option('backend', {
            type: 'string',
            describe:
              `TensorFlow.js backend of the tfjs engine: ${kBackends.join(', ')} ` +
              `[default: wasm; giving one selects --engine tfjs]`,
          })
          .option('checkpoint-dir', {
            type: 'string',
            describe: 'Write checkpoints into this folder [default: the --resume folder]',
          })
          .option('checkpoint-every', {
            type: 'string',
            describe: 'Checkpoint every N steps (500) or epochs (1epoch) [default: 1epoch]',
          })
          .option('keep-checkpoints', {
            type: 'string',
            describe: 'Checkpoints kept, newest first [default: 3]',
          })
          .option('resume', {
            type: 'string',
            describe: 'Continue from the newest intact checkpoint in this folder',
          })
          .option('on-nonfinite', {
            type: 'string',
            default: 'stop',
            describe: 'At a step whose loss is not finite: stop, or skip its update',
          })
          .option('on-checkpoint-failure', {
            type: 'string',
            default: 'stop',
            describe: 'When a checkpoint cannot be written: stop, or continue without it',
          })
          .options(readFlags)
          .options(dataFlags),
      (argv) => trainCommand(argv as unknown as TrainFlags, controller.signal),
    )
    .command(
      'eval',
      'Evaluate a saved model on a dataset',
      (command) =>
        command
          .option('model', {
            type: 'string',
            demandOption: true,
            describe: 'Folder written by train --out',
          })
          .option('dataset', {
            type: 'string',
            default: 'fashion-mnist',
            describe:
              'Named dataset (its test split), or any other dataset --dataset of train takes',
          })
          .options(readFlags)
          .options(dataFlags),
      (argv) => evalCommand(argv as unknown as EvalFlags),
    )
    .command(
      'bench',
      'Measure training throughput per engine, batch and workers, beside PyTorch and model.fit',
      (command) =>
        command
          .option('quick', {
            type: 'boolean',
            default: false,
            describe: 'A short sweep: 784 inputs, peers at batch 128 only (under a minute)',
          })
          .option('engines', {
            type: 'string',
            describe: 'Engines to measure, e.g. onnx,tfjs [default: every engine that loads]',
          })
          .option('inputs', {
            type: 'string',
            describe: 'Input sizes of the textbook MLP [default: 784,3072; quick: 784]',
          })
          .option('batches', {
            type: 'string',
            describe: 'Global batch sizes [default: 32,128,512]',
          })
          .option('workers', {
            type: 'string',
            describe: 'Worker counts [default: 1 up to the number of cores]',
          })
          .option('seconds', {
            type: 'string',
            describe: 'Timed seconds per row [default: 1.5; quick: 0.5]',
          })
          .option('peers', {
            type: 'boolean',
            default: true,
            describe: 'Measure tfjs-layers model.fit and PyTorch too (--no-peers to skip)',
          })
          .option('dataset', {
            type: 'string',
            describe: 'Train on this dataset (a name or a folder) instead of synthetic images',
          })
          .option('data-dir', {
            type: 'string',
            describe: 'Folder searched first for named datasets [env SYNCGRAD_DATA_DIR]',
          })
          .option('out', {
            type: 'string',
            default: 'syncgrad-bench',
            describe: 'Folder for bench.json, bench.csv and bench.svg',
          })
          .option('json', {
            type: 'boolean',
            default: false,
            describe: 'Print the report as one JSON object as the last line of stdout',
          }),
      (argv) => benchCommand(argv as unknown as BenchFlags, controller.signal),
    )
    // a flag given twice keeps its last value, as in most command lines
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .demandCommand(1, 'Name a command: syncgrad train, syncgrad eval or syncgrad bench.')
    .strict()
    .fail((message, error) => {
      if (error) throw error;
      message = unknownArguments(message);
      process.stderr.write(
        `syncgrad: ${message}\nRun 'syncgrad --help' or 'syncgrad <command> --help' for the ` +
          `options.\n`,
      );
      process.exit(2);
    })
    .help()
    .version()
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .parseAsync();
}

/**
 * yargs names an unknown flag twice, as typed and in camelCase
 * ("Unknown arguments: max-step, maxStep"); keep the names as typed.
 */
function unknownArguments(message: string): string {
  const match = /^Unknown arguments?: (.*)$/.exec(message);
  if (!match) return message;
  const names = match[1].split(', ');
  const typed = names.filter((name) => !/[A-Z]/.test(name) || !names.includes(kebab(name)));
  const flags = typed.map((name) => (name.length > 1 ? `--${name}` : `-${name}`));
  return `unknown option${flags.length > 1 ? 's' : ''} ${flags.join(', ')}`;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** Errors from the operating system (a file, a folder, memory) as one line. */
function systemErrorLine(error: unknown): string | undefined {
  if (error instanceof RangeError && /allocation failed/i.test(error.message)) {
    return (
      'not enough memory for this model and dataset; ' +
      'use smaller --hidden layers or fewer images'
    );
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (error instanceof Error && typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return error.message;
  }
  return undefined;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof TrainingAbortedError) {
      const what = process.argv[2] === 'bench' ? 'the benchmark' : 'training';
      process.stderr.write(
        error.checkpoint
          ? `syncgrad: ${what} stopped; checkpoint ${error.checkpoint}. Resume with the same ` +
              `command and --resume ${dirname(error.checkpoint)}\n`
          : `syncgrad: ${what} stopped before the end; nothing was saved (pass ` +
              `--checkpoint-dir to keep progress).\n`,
      );
      process.exit(stopSignal);
    }
    if (error instanceof SyncgradError) {
      process.stderr.write(`syncgrad: ${error.message}\n`);
      process.exit(1);
    }
    const line = systemErrorLine(error);
    if (line) {
      process.stderr.write(`syncgrad: ${line}\n`);
      process.exit(1);
    }
    throw error;
  },
);
