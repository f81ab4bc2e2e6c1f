// Whether a long training run holds steady: the tensors the workers' engines
// hold and the resident memory of the process must not grow with the number
// of steps. Each engine trains the textbook MLP on 2 workers at batch 32 for
// --steps updates, in short epochs of a slice of Fashion-MNIST (synthetic
// 784-pixel images when it is not installed), and in a fresh process of its
// own, so one engine's heap never counts against the other's. The workers are
// threads of that process, so its resident memory covers them too.
//
// It prints, per engine, the worker tensor count of the first and the last
// epoch, resident memory after the warm-up (the first steps allocate for
// good) and at the end against a 5% growth target, and resident memory every
// --interval steps, so that a slow climb shows. It exits 1 when a target is
// missed, naming it.
//
// usage: node dist/scripts/bench-long-run.js [--engine onnx|tfjs (default: both that load)]
//        [--steps 5000] [--interval 500] [--warm-up 500] [--train-images 6400]

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

import { loadDataset } from '../src/coordinator/data/index.js';
import { syntheticImages } from '../src/coordinator/bench/synthetic-data.js';
import { train } from '../src/coordinator/trainer.js';
import { BackendError, DatasetError, EngineError } from '../src/shared/errors.js';
import type { DatasetSplits, LabelledImages } from '../src/shared/images.js';
import type { EngineName } from '../src/shared/messages.js';

const kWorkers = 2;
const kBatchSize = 32;
const kTestImages = 1000;
const kGrowthTargetPercent = 5;
/** The exit status of a child whose engine cannot load on this machine. */
const kEngineMissing = 3;

const argv = await yargs(hideBin(process.argv))
  .option('engine', { type: 'string', choices: ['onnx', 'tfjs'], describe: 'Default: both' })
  .option('steps', { type: 'number', default: 5000, describe: 'Updates per engine' })
  .option('interval', { type: 'number', default: 500, describe: 'Steps between RSS samples' })
  .option('warm-up', { type: 'number', default: 500, describe: 'Steps before the baseline RSS' })
  .option('train-images', {
    type: 'number',
    default: 6400,
    describe: 'Images per epoch (200 steps at batch 32)',
  })
  .option('child', { type: 'string', hidden: true, describe: 'The engine a child process runs' })
  .check((args) => {
    for (const flag of ['steps', 'interval', 'warm-up', 'train-images'] as const) {
      const value = args[flag];
      if (!Number.isInteger(value) || value < 1) {
        return `--${flag} must be a whole number of at least 1, got ${value}.`;
      }
    }
    if (args['warm-up'] >= args.steps) {
      return (
        `--warm-up ${args['warm-up']} leaves no steps to measure in --steps ${args.steps}; ` +
        `use a warm-up below the steps, such as --warm-up 500 --steps 5000.`
      );
    }
    if (args['train-images'] < kBatchSize) {
      return `--train-images must hold at least one batch of ${kBatchSize}, got ${args['train-images']}.`;
    }
    return true;
  })
  .strict()
  .parseAsync();

/** Resident memory at one point of a run. */
interface RssSample {
  step: number;
  bytes: number;
}

/** What a child process reports about its engine's run. */
interface EngineRun {
  engine: EngineName;
  backend: string;
  data: string;
  trainImages: number;
  testImages: number;
  stepsPerEpoch: number;
  steps: number;
  seconds: number;
  samplesPerSecond: number;
  /** Worker tensors at the end of each epoch, summed over the workers. */
  tensors: number[];
  /** Step 0 (data loaded, workers started), then the first report at or past each mark. */
  rss: RssSample[];
  /** The sample the growth is measured from. */
  warmUp: RssSample;
}

if (argv.child !== undefined) {
  await runChild(argv.child as EngineName);
} else {
  main();
}

/** Fashion-MNIST cut to short epochs and a small test set, or synthetic images of its size. */
async function loadSlice(): Promise<DatasetSplits> {
  const trainCount = argv['train-images'];
  let splits: DatasetSplits;
  try {
    splits = await loadDataset({ dataset: 'fashion-mnist', download: false });
  } catch (error) {
    if (!(error instanceof DatasetError)) throw error;
    process.stderr.write(
      `synthetic 784-pixel images stand in for Fashion-MNIST:\n${error.message}\n`,
    );
    const images = syntheticImages(784, trainCount + kTestImages, 10, 42);
    return {
      train: slice(images, 0, trainCount),
      test: slice(images, trainCount, kTestImages),
    };
  }
  return {
    train: slice(splits.train, 0, trainCount),
    test: slice(splits.test ?? splits.train, 0, kTestImages),
  };
}

function slice(images: LabelledImages, first: number, count: number): LabelledImages {
  if (first + count > images.count) {
    throw new RangeError(
      `--train-images ${count} is more than the ${images.count} images of ${images.source}.`,
    );
  }
  const size = images.height * images.width * images.channels;
  return {
    ...images,
    pixels: images.pixels.subarray(first * size, (first + count) * size),
    labels: images.labels.subarray(first, first + count),
    count,
  };
}

async function runChild(engine: EngineName): Promise<void> {
  const { steps, interval } = argv;
  const warmUpStep = argv['warm-up'];
  const splits = await loadSlice();
  const stepsPerEpoch = Math.ceil(splits.train.count / kBatchSize);

  // the steps at which resident memory is read: every interval, the warm-up, the end
  const marks = new Set([warmUpStep, steps]);
  for (let mark = interval; mark < steps; mark += interval) marks.add(mark);
  const pending = [...marks].sort((a, b) => a - b);
  const rss: RssSample[] = [];
  let warmUp: RssSample | undefined;
  const tensors: number[] = [];

  try {
    const summary = await train({
      dataset: splits,
      workers: kWorkers,
      batchSize: kBatchSize,
      engine,
      epochs: Math.ceil(steps / stepsPerEpoch),
      maxSteps: steps,
      onData: () => rss.push({ step: 0, bytes: process.memoryUsage().rss }),
      onNotice: (message) => process.stderr.write(`${message}\n`),
      onProgress: (progress) => {
        const step = (progress.epoch - 1) * stepsPerEpoch + progress.step;
        if (pending.length === 0 || step < pending[0]) return;
        const sample = { step, bytes: process.memoryUsage().rss };
        rss.push(sample);
        while (pending.length > 0 && pending[0] <= step) {
          if (pending.shift() === warmUpStep) warmUp = sample;
        }
      },
      onEpoch: (record) => tensors.push(record.liveTensors),
    });
    const result: EngineRun = {
      engine: summary.engine,
      backend: summary.backend,
      data: splits.train.source,
      trainImages: splits.train.count,
      testImages: splits.test!.count,
      stepsPerEpoch,
      steps: summary.steps,
      seconds: summary.history.reduce((sum, record) => sum + record.seconds, 0),
      samplesPerSecond: summary.samplesPerSecond,
      tensors,
      rss,
      warmUp: warmUp!,
    };
    process.stdout.write(JSON.stringify(result) + '\n');
  } catch (error) {
    if (!(error instanceof EngineError || error instanceof BackendError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(kEngineMissing);
  }
}

/** Runs one engine in a fresh process; undefined when it cannot load and was not asked for. */
function measure(engine: EngineName, required: boolean): EngineRun | undefined {
  const script = fileURLToPath(import.meta.url);
  const flags = ['steps', 'interval', 'warm-up', 'train-images'] as const;
  const args = flags.flatMap((flag) => [`--${flag}`, String(argv[flag])]);
  process.stderr.write(`${engine}: ${argv.steps} steps in a fresh process ...\n`);
  const child = spawnSync(process.execPath, [script, '--child', engine, ...args], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  process.stderr.write(child.stderr);
  if (child.status === kEngineMissing && !required) {
    process.stderr.write(`${engine}: skipped, the engine does not load here\n`);
    return undefined;
  }
  if (child.status !== 0) {
    throw new Error(`the ${engine} run failed with status ${child.status}:\n${child.stderr}`);
  }
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as EngineRun;
}

/** Prints one engine's figures; returns the targets it missed. */
function report(run: EngineRun): string[] {
  const missed: string[] = [];
  const megabytes = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  const engine = run.engine === 'tfjs' ? `tfjs (${run.backend})` : run.engine;
  console.log(
    `\nengine ${engine}: ${run.steps.toLocaleString('en-US')} steps in ` +
      `${run.tensors.length} epochs, ${run.seconds.toFixed(1)} s of training, ` +
      `${Math.round(run.samplesPerSecond).toLocaleString('en-US')} samples/s`,
  );

  // tensors: the same count at the end of every epoch when nothing leaks
  const first = run.tensors[0];
  const last = run.tensors.at(-1)!;
  const lowest = Math.min(...run.tensors);
  const highest = Math.max(...run.tensors);
  const tensorsHeld = first === last ? 'yes' : 'no';
  console.log(
    `  worker tensors   epoch 1: ${first}   epoch ${run.tensors.length}: ${last}   ` +
      `equal: ${tensorsHeld}   (range over all epochs ${lowest}..${highest})` +
      (run.engine === 'onnx' ? '   onnx holds no TensorFlow.js tensors' : ''),
  );
  if (first !== last) {
    missed.push(`${run.engine} worker tensors went from ${first} to ${last}`);
  }

  // resident memory: growth from the warm-up to the end
  const end = run.rss.at(-1)!;
  const growth = ((end.bytes - run.warmUp.bytes) / run.warmUp.bytes) * 100;
  const met = growth <= kGrowthTargetPercent;
  console.log(
    `  resident memory  after ${run.warmUp.step} steps: ${megabytes(run.warmUp.bytes)} MB   ` +
      `at step ${end.step}: ${megabytes(end.bytes)} MB   growth ${signed(growth)}   ` +
      `target <= ${kGrowthTargetPercent}%: ${met ? 'met' : 'missed'}`,
  );
  if (!met) {
    missed.push(
      `${run.engine} resident memory grew ${signed(growth)} from step ${run.warmUp.step} to ` +
        `step ${end.step} (target <= ${kGrowthTargetPercent}%)`,
    );
  }

  // the climb, if any, sample by sample
  console.log(`      step   RSS MB   vs warm-up`);
  for (const sample of run.rss) {
    const change =
      sample.step >= run.warmUp.step
        ? signed(((sample.bytes - run.warmUp.bytes) / run.warmUp.bytes) * 100)
        : '';
    const row = `    ${String(sample.step).padStart(6)}   ${megabytes(sample.bytes).padStart(6)}`;
    console.log(change ? `${row}   ${change.padStart(10)}` : row);
  }
  return missed;
}

function signed(percent: number): string {
  return `${percent >= 0 ? '+' : ''}${percent.toFixed(1)}%`;
}

function main(): void {
  const engines: EngineName[] = argv.engine ? [argv.engine as EngineName] : ['onnx', 'tfjs'];
  const runs = engines
    .map((engine) => measure(engine, argv.engine !== undefined))
    .filter((run): run is EngineRun => run !== undefined);
  if (runs.length === 0) {
    console.log('no engine loads on this machine: nothing was measured');
    process.exit(1);
  }

  const [first] = runs;
  console.log(
    `\nthe first ${first.trainImages.toLocaleString('en-US')} training images of ${first.data} ` +
      `(${first.stepsPerEpoch} steps per epoch), ${first.testImages.toLocaleString('en-US')} ` +
      `test images, ${kWorkers} workers, batch ${kBatchSize}, hidden 200,150, ` +
      `${argv.steps.toLocaleString('en-US')} steps per engine`,
  );
  const missed = runs.flatMap(report);

  console.log('');
  if (missed.length === 0) {
    console.log(`all targets met (${runs.map((run) => run.engine).join(', ')})`);
    return;
  }
  for (const line of missed) console.log(`target missed: ${line}`);
  process.exit(1);
}
