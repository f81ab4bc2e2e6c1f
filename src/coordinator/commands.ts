// The CLI's commands: flags in, a training run or an evaluation, output for
// people on stdout (or stderr when --json reserves stdout for one JSON line).

import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

import { OptionError } from '../shared/errors.js';
import type { LabelledImages, ValueRange } from '../shared/images.js';
import type { BackendName } from '../shared/messages.js';
import { optimizerConfig } from '../shared/optimizers.js';
import type { OptimizerName } from '../shared/optimizers.js';
import { EpochProgress, perClassTable } from './console-report.js';
import { ensureDirectory } from './data/common.js';
import { createProgressPrinter, loadDataset } from './data/index.js';
import type { ReadOptions } from './data/index.js';
import { parseChannels, parseImageSize } from './data/read-options.js';
import { evaluateLoadedModel, useFastestLocalBackend } from './evaluate-model.js';
import type { EvaluationReport } from './metrics.js';
import { loadModel, saveModel } from './model-io.js';
import type { DataSummary, SetSummary } from './prepare-data.js';
import { checkHiddenSizes, resolveOptions } from './options.js';
import type { CheckpointInterval, EngineChoice, TrainOptions } from './options.js';
import { train } from './trainer.js';
import { plural } from './words.js';

/** Flags that say how dataset files are read; see ReadOptions. */
export interface ReadFlags {
  labels?: string;
  labelColumn?: string;
  channels?: string;
  imageSize?: string;
  skipBad: boolean;
}

export interface TrainFlags extends ReadFlags {
  dataset: string;
  test?: string;
  testLabels?: string;
  dataDir?: string;
  cacheDir?: string;
  download: boolean;
  workers?: string;
  epochs: string;
  batchSize: string;
  lr: string;
  optimizer: string;
  momentum: string;
  hidden: string;
  seed: string;
  maxSteps?: string;
  validationSplit?: string;
  out?: string;
  engine?: string;
  backend?: string;
  checkpointDir?: string;
  checkpointEvery?: string;
  keepCheckpoints?: string;
  resume?: string;
  onNonfinite: string;
  onCheckpointFailure: string;
  json: boolean;
}

export interface EvalFlags extends ReadFlags {
  model: string;
  dataset: string;
  dataDir?: string;
  cacheDir?: string;
  download: boolean;
  json: boolean;
}

/** Parses a numeric flag, naming it and the text given when it is not a number. */
export function numberFlag(flag: string, text: string): number;
export function numberFlag(flag: string, text: string | undefined): number | undefined;
export function numberFlag(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) {
    throw new OptionError(flag, `--${flag} must be a number, got '${text}'.`);
  }
  return value;
}

/** The reading options of the flags, parsed; the library checks them further. */
function readOptions(flags: ReadFlags & { testLabels?: string }): ReadOptions {
  return {
    labels: flags.labels,
    testLabels: flags.testLabels,
    labelColumn: flags.labelColumn,
    channels: flags.channels === undefined ? undefined : parseChannels(flags.channels),
    imageSize: flags.imageSize === undefined ? undefined : parseImageSize(flags.imageSize),
    skipBad: flags.skipBad,
  };
}

/** `--checkpoint-every 500` (steps) or `2epochs` / `1epoch` / `1e`. */
function intervalFlag(text: string | undefined): CheckpointInterval | undefined {
  if (text === undefined) return undefined;
  const match = /^\s*(\d+)\s*(steps?|e|epochs?)?\s*$/i.exec(text);
  if (!match || Number(match[1]) < 1) {
    throw new OptionError(
      'checkpoint-every',
      `--checkpoint-every must be a number of steps (500) or of epochs (1epoch, 2epochs), ` +
        `got '${text}'`,
    );
  }
  const count = Number(match[1]);
  return match[2] && /^e/i.test(match[2]) ? { epochs: count } : { steps: count };
}

function hiddenFlag(text: string): number[] {
  const sizes = text.trim() === '' ? [] : text.split(',').map((part) => Number(part.trim()));
  checkHiddenSizes(sizes, text);
  return sizes;
}

export async function trainCommand(flags: TrainFlags, signal: AbortSignal): Promise<void> {
  const out = flags.json ? process.stderr : process.stdout;
  const started = performance.now();
  let epochs = numberFlag('epochs', flags.epochs);
  const progress = new EpochProgress(out, () => epochs);
  const options: TrainOptions = {
    ...readOptions(flags),
    dataset: flags.dataset,
    test: flags.test,
    dataDir: flags.dataDir,
    cacheDir: flags.cacheDir,
    download: flags.download,
    workers: numberFlag('workers', flags.workers),
    epochs,
    batchSize: numberFlag('batch-size', flags.batchSize),
    learningRate: numberFlag('lr', flags.lr),
    optimizer: flags.optimizer as OptimizerName,
    momentum: numberFlag('momentum', flags.momentum),
    hiddenSizes: hiddenFlag(flags.hidden),
    seed: numberFlag('seed', flags.seed),
    maxSteps: numberFlag('max-steps', flags.maxSteps),
    validationSplit: numberFlag('validation-split', flags.validationSplit),
    engine: flags.engine as EngineChoice | undefined,
    backend: flags.backend as BackendName | undefined,
    checkpointDir: flags.checkpointDir,
    checkpointEvery: intervalFlag(flags.checkpointEvery),
    keepCheckpoints: numberFlag('keep-checkpoints', flags.keepCheckpoints),
    resume: flags.resume,
    onNonFinite: flags.onNonfinite as 'stop' | 'skip',
    onCheckpointFailure: flags.onCheckpointFailure as 'stop' | 'continue',
    signal,
    onLoadProgress: createProgressPrinter(process.stderr),
    onNotice: (message) => process.stderr.write(`syncgrad: ${message}\n`),
    onData: (data) => out.write(dataLines(data)),
    onProgress: (step) => {
      epochs = step.epochs;
      progress.update(step);
    },
    onEpoch: (record) => progress.epoch(record),
  };
  // every flag is checked, and a model folder that cannot be written is
  // found, before any data is loaded or folder created
  const settings = resolveOptions(options);
  optimizerConfig(settings.optimizer, settings.learningRate, settings.momentum);
  if (flags.out !== undefined) await prepareModelFolder(flags.out);
  const summary = await train(options).finally(() => progress.stop());

  if (summary.test) {
    out.write(`\n${testLine(summary.test)}\n${perClassTable(summary.test)}\n`);
  }
  out.write(
    `trained ${plural(summary.steps, 'step')} on ${plural(summary.workers, 'worker')} ` +
      `(${summary.engine === 'onnx' ? 'onnx engine' : `tfjs engine, ${summary.backend}`}), ` +
      `${Math.round(summary.samplesPerSecond)} samples/s, params ` +
      `${summary.paramsDigest.slice(0, 16)}\n`,
  );
  if (flags.out) {
    await saveModel(summary.model, flags.out, { 'history.json': summary.history });
    out.write(
      `model saved to ${flags.out} (model.json, weights.bin, classes.json, history.json)\n`,
    );
  }
  if (flags.json) {
    const report = {
      workers: summary.workers,
      engine: summary.engine,
      backend: summary.backend,
      epochs: summary.epochs,
      steps: summary.steps,
      globalBatch: summary.globalBatch,
      testSource: summary.test?.source ?? null,
      testLoss: summary.test?.loss ?? null,
      testAccuracy: summary.test?.accuracy ?? null,
      perClass: summary.test?.perClass ?? [],
      samplesPerSecond: summary.samplesPerSecond,
      stepTime: summary.stepTime,
      history: summary.history,
      paramsDigest: summary.paramsDigest,
      seconds: (performance.now() - started) / 1000,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      out: flags.out ?? null,
    };
    process.stdout.write(JSON.stringify(report) + '\n');
  }
}

export async function evalCommand(flags: EvalFlags): Promise<void> {
  const out = flags.json ? process.stderr : process.stdout;
  const model = await loadModel(flags.model);
  // files scaled by a raw range are scaled by the range the model was trained with
  const splits = await loadDataset({
    ...readOptions(flags),
    valueRange: model.valueRange,
    dataset: flags.dataset,
    dataDir: flags.dataDir,
    cacheDir: flags.cacheDir,
    download: flags.download,
    onProgress: createProgressPrinter(process.stderr),
  });
  // a named dataset is evaluated on its test split, a folder on all its images
  const images = splits.test ?? splits.train;
  checkSameScale(flags.model, model.valueRange, images);
  const backend = await useFastestLocalBackend();
  const report = evaluateLoadedModel(model, images);
  out.write(
    `${testLine(report)}, ${images.source}, ${backend} backend\n${perClassTable(report)}\n`,
  );
  if (flags.json) {
    process.stdout.write(
      JSON.stringify({
        testLoss: report.loss,
        testAccuracy: report.accuracy,
        count: report.count,
        perClass: report.perClass,
      }) + '\n',
    );
  }
  model.layers.dispose();
}

/**
 * A model trained on integers scaled by their raw range (IDX) must meet data
 * scaled the same way, and a model trained on 8-bit or float pixels must not
 * meet range-scaled data: either way the inputs would be on another scale.
 */
function checkSameScale(
  modelFolder: string,
  trained: ValueRange | undefined,
  images: LabelledImages,
): void {
  if ((trained === undefined) === (images.valueRange === undefined)) return;
  const range = (value: ValueRange) => `${value.minimum} to ${value.maximum}`;
  throw new OptionError(
    'dataset',
    trained
      ? `the model in ${modelFolder} was trained on integers scaled from the range ` +
          `${range(trained)} (an IDX file), but ${images.source} holds pixels of another ` +
          `kind; evaluate it on IDX files of such integers`
      : `${images.source} holds integers outside 0..255, scaled by their range ` +
          `${range(images.valueRange!)}, but the model in ${modelFolder} was trained on ` +
          `pixels; evaluate it on data of the kind it was trained on`,
  );
}

/** Which images a run uses, so a wrong folder or dataset shows before training. */
function dataLines(data: DataSummary): string {
  const line = (role: string, set: SetSummary | null, note = '') =>
    set ? `${role.padEnd(10)} ${plural(set.count, 'image')} from ${set.source}${note}\n` : '';
  const [height, width, channels] = data.train.imageShape;
  const same = data.validation?.source === data.test?.source;
  return (
    line('train', data.train) +
    line('validation', same ? null : data.validation) +
    line('test', data.test, same ? ', also the validation data of every epoch' : '') +
    `images ${height}x${width}x${channels}, ${plural(data.classNames.length, 'class')}\n`
  );
}

/** Creates the --out folder, or explains why it cannot be used. */
async function prepareModelFolder(directory: string): Promise<void> {
  if (directory.trim() === '') {
    throw new OptionError('out', '--out needs a folder name, got an empty string.');
  }
  try {
    await ensureDirectory(directory);
    await access(directory, constants.W_OK);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new OptionError(
      'out',
      `--out ${directory} cannot be used as the model folder (${reason}). ` +
        'Name a folder that exists or can be created, and is writable.',
    );
  }
}

function testLine(report: EvaluationReport): string {
  return (
    `${report.source} loss ${report.loss.toFixed(4)}  ${report.source} acc ` +
    `${report.accuracy.toFixed(4)}  (${report.count} images)`
  );
}
