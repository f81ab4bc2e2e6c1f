// The checks every dataset passes before training, whether a built-in loader
// or user code (dataset-builders.ts) made it: field types, sizes that agree,
// labels that index the classes, finite pixels, and no class left empty.

import { DatasetError } from '../shared/errors.js';
import type { Dataset } from '../shared/images.js';
import { shown } from './data/read-options.js';

/** The size of each image of a dataset. */
export interface ImageShape {
  height: number;
  width: number;
  /** 1 for gray, 3 for RGB; any positive count works. */
  channels: number;
}

/**
 * The checks every dataset passes before training, from whatever source:
 * pixel and label arrays of the sizes the shape and count imply, labels that
 * index the class list, finite float pixels. With `role: 'train'`, every
 * class must also have an example, as a class never seen cannot be learnt.
 */
export function checkDataset(dataset: Dataset, role: 'train' | 'test' = 'test'): void {
  checkFields(dataset);
  const { source, count, classNames, labels, pixels } = dataset;
  checkShape(source, dataset);
  if (!Number.isInteger(count) || count < 1) {
    throw new DatasetError(source, `${source} has ${count} images; expected at least one`);
  }
  const size = dataset.height * dataset.width * dataset.channels;
  if (pixels.length !== count * size) {
    throw new DatasetError(
      source,
      `${source} has ${pixels.length.toLocaleString('en-US')} pixel values, but ${count} images ` +
        `of ${dataset.height}x${dataset.width}x${dataset.channels} (height x width x channels) ` +
        `need ${(count * size).toLocaleString('en-US')}; check the shape and the count`,
    );
  }
  if (labels.length !== count) {
    throw new DatasetError(
      source,
      `${source} has ${labels.length} labels for ${count} images; expected one label per image`,
    );
  }
  const classes = classNames.length;
  const bad = labels.findIndex(
    (label) => !(Number.isInteger(label) && label >= 0 && label < classes),
  );
  if (bad >= 0) {
    throw new DatasetError(
      source,
      `image ${bad} of ${source} has label ${labels[bad]}, but the dataset has ${classes} ` +
        `classes (labels 0..${classes - 1}); fix the label or the class list`,
    );
  }
  if (pixels instanceof Float32Array) {
    const nonFinite = pixels.findIndex((value) => !Number.isFinite(value));
    if (nonFinite >= 0) {
      throw new DatasetError(
        source,
        `${source} has a non-finite pixel value (${pixels[nonFinite]}) in image ` +
          `${Math.floor(nonFinite / size)}; expected finite, normalized values`,
      );
    }
  }
  if (role === 'train') {
    const seen = new Uint8Array(classes);
    for (const label of labels) seen[label] = 1;
    const missing = classNames.filter((_, index) => seen[index] === 0);
    if (missing.length > 0) {
      const hint = numberedClassHint(dataset, missing.length);
      const listed = missing
        .slice(0, 5)
        .map((name) => `'${name}'`)
        .join(', ');
      const more = missing.length > 5 ? ` and ${missing.length - 5} more` : '';
      throw new DatasetError(
        source,
        hint +
          `${source} has no training images of class${missing.length > 1 ? 'es' : ''} ` +
          `${listed}${more}, out of ${classes}; add images of every class, or remove the ` +
          `class from the class list`,
      );
    }
  }
}

/** The fields of a dataset made by hand: their types, and class names one per class. */
function checkFields(dataset: Dataset): void {
  if (typeof dataset !== 'object' || dataset === null) {
    throw new DatasetError(
      'dataset',
      `a dataset must be an object with pixels, labels, count, height, width, channels and ` +
        `classNames (see datasetFromArrays), got ${shown(dataset)}`,
    );
  }
  const source = typeof dataset.source === 'string' ? dataset.source : 'dataset in memory';
  const wrong = (field: string, expected: string, value: unknown) =>
    new DatasetError(source, `${source}: ${field} is ${typeName(value)}; expected ${expected}`);
  if (!(dataset.pixels instanceof Uint8Array || dataset.pixels instanceof Float32Array)) {
    throw wrong('pixels', 'a Uint8Array of 0..255 values or a Float32Array', dataset.pixels);
  }
  if (!(dataset.labels instanceof Int32Array)) {
    throw wrong('labels', 'an Int32Array of class indices', dataset.labels);
  }
  const names = dataset.classNames;
  if (!Array.isArray(names) || names.some((name) => typeof name !== 'string' || name === '')) {
    throw new DatasetError(
      source,
      `${source}: classNames is ${shown(names)}; expected an array of non-empty strings, one ` +
        `per class`,
    );
  }
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated !== undefined) {
    throw new DatasetError(
      source,
      `${source} names class '${repeated}' twice in classNames; expected one distinct name per ` +
        `class`,
    );
  }
}

/**
 * Sources that number their classes (CSV, IDX, number labels) have classes 0
 * to their largest label, so one stray label, or the wrong label column, shows
 * as many empty classes: say which image holds the largest label.
 */
function numberedClassHint(dataset: Dataset, missing: number): string {
  const numbered = dataset.classNames.every((name, index) => name === String(index));
  if (!numbered || missing < 2) return '';
  let largest = 0;
  dataset.labels.forEach((label, index) => {
    if (label > dataset.labels[largest]) largest = index;
  });
  return (
    `image ${largest} of ${dataset.source} has label ${dataset.labels[largest]}, and the ` +
    `classes are numbered 0 to the largest label; if that label is a mistake, or the labels ` +
    `come from the wrong column (see --label-column), fix that first. `
  );
}

export function checkShape(source: string, shape: ImageShape): void {
  const sides = [shape.height, shape.width, shape.channels];
  if (sides.some((side) => !Number.isInteger(side) || side < 1)) {
    throw new DatasetError(
      source,
      `${source} has image shape ${sides.join('x')} (height x width x channels); expected ` +
        `three positive whole numbers, such as 28x28x1`,
    );
  }
}

export function typeName(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  return (value as object).constructor?.name ?? typeof value;
}
