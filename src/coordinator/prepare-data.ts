// The data side of a run before training starts: the dataset resolved to
// images, the validation split taken, and every set normalized into shared
// memory for the workers.

import { DatasetError, OptionError } from '../shared/errors.js';
import type { DatasetSplits, LabelledImages } from '../shared/images.js';
import type { ModelShape } from '../shared/layout.js';
import type { SharedSamples } from '../shared/messages.js';
import { loadDataset } from './data/index.js';
import { shown } from './data/read-options.js';
import type { ResolvedOptions } from './options.js';
import { checkDataset } from './dataset.js';
import { subset, toSharedSamples, validationSplit } from './samples.js';

export async function resolveData(settings: ResolvedOptions): Promise<DatasetSplits> {
  const { dataset, test } = settings;
  if (typeof dataset === 'string') {
    if (test !== undefined && typeof test !== 'string') {
      throw new OptionError('test', 'A test set in memory needs a training set in memory too.');
    }
    return loadDataset({
      dataset,
      test,
      labels: settings.labels,
      testLabels: settings.testLabels,
      labelColumn: settings.labelColumn,
      channels: settings.channels,
      imageSize: settings.imageSize,
      skipBad: settings.skipBad,
      dataDir: settings.dataDir,
      cacheDir: settings.cacheDir,
      download: settings.download,
      onProgress: settings.onLoadProgress,
    });
  }
  if (typeof dataset !== 'object' || dataset === null) {
    throw new OptionError(
      'dataset',
      `dataset must be a name or path, a Dataset (see datasetFromArrays) or { train, test }, ` +
        `got ${shown(dataset)}`,
    );
  }
  const splits: DatasetSplits = 'train' in dataset ? { ...dataset } : { train: dataset };
  for (const [role, images] of [
    ['dataset', splits.train],
    ['test', test ?? splits.test],
  ] as const) {
    if (
      images !== undefined &&
      (typeof images !== 'object' || images === null || !('pixels' in images))
    ) {
      throw new OptionError(
        role,
        `${role === 'test' ? 'the test set' : 'dataset'} must be a Dataset with pixels, labels, ` +
          `count, height, width, channels and classNames (see datasetFromArrays), got ` +
          `${shown(images)}`,
      );
    }
  }
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

/** What one set of a run holds, for reports. */
export interface SetSummary {
  count: number;
  source: string;
  /** Height, width and channels of each image. */
  imageShape: [number, number, number];
}

/** The data a run trains and evaluates on, reported before training starts. */
export interface DataSummary {
  classNames: string[];
  train: SetSummary;
  /** Evaluated after each epoch: the validation split, else the test set. */
  validation: SetSummary | null;
  /** Evaluated at the end: the test set, else the validation split. */
  test: SetSummary | null;
}

export interface PreparedData {
  summary: DataSummary;
  /** The fraction of the training set held out for validation, after the default. */
  validationFraction: number;
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
  if (images.classNames.length < 2) {
    throw new DatasetError(
      images.source,
      `${images.source} has ${images.classNames.length} class` +
        `${images.classNames.length === 1 ? ` (${images.classNames[0]})` : 'es'}; ` +
        'a classifier needs at least 2, so add images of another class.',
    );
  }
  checkDataset(images, 'train');
  if (splits.test) checkDataset(splits.test, 'test');
  const testImages = splits.test && matchChannels(splits.test, images.channels);
  if (testImages) checkSameKind(images, testImages);
  const fraction = settings.validationSplit ?? (splits.test ? 0 : 0.1);
  const { train, validation } =
    fraction > 0
      ? validationSplit(images.labels, images.classNames.length, fraction, settings.seed)
      : { train: undefined, validation: undefined };
  const trainCount = train ? train.length : images.count;
  if (fraction > 0 && (validation?.length ?? 0) === 0 && !splits.test) {
    settings.onNotice?.(
      `--validation-split ${fraction} holds out none of the ${images.count} images (each ` +
        `class's share rounds to 0), so there are no validation or final test figures; give ` +
        `more images, a larger --validation-split, or a --test set`,
    );
  }
  if (trainCount === 0) {
    throw new OptionError(
      'validation-split',
      `--validation-split ${fraction} leaves no training images out of ${images.count}.`,
    );
  }

  // one shared copy of the training images; the validation split indexes into it
  const stored = toSharedSamples(images);
  const held =
    validation && validation.length > 0
      ? {
          samples: subset(stored, validation),
          labels: Int32Array.from(validation, (index) => images.labels[index]),
          source: 'validation' as const,
        }
      : null;
  const test = testImages
    ? { samples: toSharedSamples(testImages), labels: testImages.labels, source: 'test' as const }
    : null;
  const imageShape: [number, number, number] = [images.height, images.width, images.channels];
  const describe = (set: EvaluationSet | null): SetSummary | null =>
    set && {
      count: set.samples.count,
      source: set.source === 'test' ? testImages!.source : `${images.source} (validation split)`,
      imageShape,
    };
  return {
    validationFraction: fraction,
    summary: {
      classNames: images.classNames,
      train: { count: trainCount, source: images.source, imageShape },
      validation: describe(held ?? test),
      test: describe(test ?? held),
    },
    images,
    shape: {
      inputSize: images.height * images.width * images.channels,
      hiddenSizes: settings.hiddenSizes,
      outputSize: images.classNames.length,
    },
    train: train ? subset(stored, train) : stored,
    validation: held ?? test,
    test: test ?? held,
  };
}

/**
 * A gray test set next to a colour training set (or the other way round) is
 * the same kind of data stored two ways; gray images are widened to RGB by
 * repeating their one channel, so both sets meet the model as RGB.
 */
function matchChannels(test: LabelledImages, trainChannels: number): LabelledImages {
  if (test.channels !== 1 || trainChannels !== 3) return test;
  const pixels =
    test.pixels instanceof Uint8Array
      ? new Uint8Array(test.pixels.length * 3)
      : new Float32Array(test.pixels.length * 3);
  for (let i = 0; i < test.pixels.length; i++) {
    const value = test.pixels[i];
    pixels[3 * i] = value;
    pixels[3 * i + 1] = value;
    pixels[3 * i + 2] = value;
  }
  return { ...test, pixels, channels: 3 };
}

function checkSameKind(train: LabelledImages, test: LabelledImages): void {
  const trainSize = `${train.height}x${train.width}x${train.channels}`;
  const testSize = `${test.height}x${test.width}x${test.channels}`;
  if (trainSize !== testSize) {
    const fix =
      train.channels === 1 && test.channels === 3
        ? 'the training images are gray and the test images in colour; train on colour ' +
          'images too, or convert the test images to gray'
        : 'resize one of the sets';
    throw new OptionError(
      'test',
      `test images from ${test.source} are ${testSize} (height x width x channels) but ` +
        `training images are ${trainSize}; both sets must be of one kind: ${fix}.`,
    );
  }
  if (train.classNames.join('\n') !== test.classNames.join('\n')) {
    throw new OptionError(
      'test',
      `the test set ${test.source} has classes [${test.classNames.join(', ')}] but the ` +
        `training set has [${train.classNames.join(', ')}].`,
    );
  }
}
