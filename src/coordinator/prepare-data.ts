// The data side of a run before training starts: the dataset resolved to
// images, the validation split taken, and every set normalized into shared
// memory for the workers.

import { OptionError } from '../shared/errors.js';
import type { DatasetSplits, LabelledImages } from '../shared/images.js';
import type { ModelShape } from '../shared/layout.js';
import type { SharedSamples } from '../shared/messages.js';
import { loadDataset } from './data/index.js';
import type { ResolvedOptions } from './options.js';
import { toSharedSamples, validationSplit } from './samples.js';

export async function resolveData(settings: ResolvedOptions): Promise<DatasetSplits> {
  const { dataset, test } = settings;
  if (typeof dataset === 'string') {
    if (test !== undefined && typeof test !== 'string') {
      throw new OptionError('test', 'A test set in memory needs a training set in memory too.');
    }
    return loadDataset({
      dataset,
      test,
      dataDir: settings.dataDir,
      cacheDir: settings.cacheDir,
      download: settings.download,
      onProgress: settings.onLoadProgress,
    });
  }
  const splits: DatasetSplits = 'train' in dataset ? { ...dataset } : { train: dataset };
  if (typeof test === 'string') {
    throw new OptionError(
      'test',
      'A test folder needs a training folder too; pass images in memory for both.',
    );
  }
  if (test) splits.test = test;
  return splits;
}

/** An evaluation set in shared memory, with its labels for the per-class table. */
export interface EvaluationSet {
  samples: SharedSamples;
  labels: Int32Array;
  source: 'test' | 'validation';
}

export interface PreparedData {
  images: LabelledImages;
  shape: ModelShape;
  train: SharedSamples;
  /** Evaluated after each epoch: the validation split, else the test set. */
  validation: EvaluationSet | null;
  /** Evaluated at the end: the test set, else the validation split. */
  test: EvaluationSet | null;
}

export function prepareData(splits: DatasetSplits, settings: ResolvedOptions): PreparedData {
  const images = splits.train;
  if (splits.test) checkSameKind(images, splits.test);
  const fraction = settings.validationSplit ?? (splits.test ? 0 : 0.1);
  const { train, validation } =
    fraction > 0
      ? validationSplit(images.count, fraction, settings.seed)
      : { train: undefined, validation: undefined };
  const trainCount = train ? train.length : images.count;
  if (trainCount === 0) {
    throw new OptionError(
      'validation-split',
      `--validation-split ${fraction} leaves no training images out of ${images.count}.`,
    );
  }

  const held =
    validation && validation.length > 0
      ? {
          samples: toSharedSamples(images, validation),
          labels: Int32Array.from(validation, (index) => images.labels[index]),
          source: 'validation' as const,
        }
      : null;
  const test = splits.test
    ? { samples: toSharedSamples(splits.test), labels: splits.test.labels, source: 'test' as const }
    : null;
  return {
    images,
    shape: {
      inputSize: images.height * images.width * images.channels,
      hiddenSizes: settings.hiddenSizes,
      outputSize: images.classNames.length,
    },
    train: toSharedSamples(images, train),
    validation: held ?? test,
    test: test ?? held,
  };
}

function checkSameKind(train: LabelledImages, test: LabelledImages): void {
  const trainSize = `${train.height}x${train.width}x${train.channels}`;
  const testSize = `${test.height}x${test.width}x${test.channels}`;
  if (trainSize !== testSize) {
    throw new OptionError(
      'test',
      `Test images from ${test.source} are ${testSize} but training images are ${trainSize}; ` +
        `both sets must have one size.`,
    );
  }
  if (train.classNames.join('\n') !== test.classNames.join('\n')) {
    throw new OptionError(
      'test',
      `The test set ${test.source} has classes [${test.classNames.join(', ')}] but the ` +
        `training set has [${train.classNames.join(', ')}].`,
    );
  }
}
