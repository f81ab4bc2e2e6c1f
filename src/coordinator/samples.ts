// Turns labelled images into the normalized shared sample sets workers read:
// 8-bit inputs scaled from 0..255 to 0..1 (float inputs taken as they are)
// and labels one-hot encoded, each written once into SharedArrayBuffer memory
// that all workers view in place.

import { DatasetError } from '../shared/errors.js';
import { pixelDivisor } from '../shared/images.js';
import type { LabelledImages } from '../shared/images.js';
import type { SharedSamples } from '../shared/messages.js';
import { randomStream, kStreamValidationSplit, shuffleInPlace } from './random.js';

/** Rejects a label outside the class list, naming the image. */
export function checkLabels(images: LabelledImages): void {
  const classes = images.classNames.length;
  const bad = images.labels.findIndex((label) => !(label >= 0 && label < classes));
  if (bad >= 0) {
    throw new DatasetError(
      images.source,
      `image ${bad} of ${images.source} has label ${images.labels[bad]}, but the dataset has ` +
        `${classes} classes (labels 0..${classes - 1}). Fix the label or the class list.`,
    );
  }
}

/**
 * Normalizes the images at `indices` (all of them when omitted) into shared
 * memory. Labels must have passed `checkLabels`.
 */
export function toSharedSamples(images: LabelledImages, indices?: Int32Array): SharedSamples {
  const inputSize = images.height * images.width * images.channels;
  const classes = images.classNames.length;
  const count = indices ? indices.length : images.count;
  const inputs = new SharedArrayBuffer(count * inputSize * Float32Array.BYTES_PER_ELEMENT);
  const targets = new SharedArrayBuffer(count * classes * Float32Array.BYTES_PER_ELEMENT);
  const inputView = new Float32Array(inputs);
  const targetView = new Float32Array(targets);
  const scale = 1 / pixelDivisor(images.pixels);

  for (let row = 0; row < count; row++) {
    const sample = indices ? indices[row] : row;
    const source = sample * inputSize;
    const destination = row * inputSize;
    for (let i = 0; i < inputSize; i++)
      inputView[destination + i] = images.pixels[source + i] * scale;
    targetView[row * classes + images.labels[sample]] = 1;
  }
  return { inputs, targets, count };
}

/**
 * Splits image indices into a training and a held-out validation part, the
 * same for the same seed. The split is stratified: `fraction` of each class's
 * images, rounded, are held out, so every class is in both parts when it has
 * images enough.
 */
export function validationSplit(
  labels: Int32Array,
  classes: number,
  fraction: number,
  seed: number,
): { train: Int32Array; validation: Int32Array } {
  const random = randomStream(seed, kStreamValidationSplit);
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  labels.forEach((label, index) => byClass[label]?.push(index));
  const train: number[] = [];
  const validation: number[] = [];
  for (const members of byClass) {
    const order = shuffleInPlace(Int32Array.from(members), random);
    const held = Math.round(members.length * fraction);
    validation.push(...order.subarray(0, held));
    train.push(...order.subarray(held));
  }
  const ascending = (a: number, b: number) => a - b;
  return {
    train: Int32Array.from(train.sort(ascending)),
    validation: Int32Array.from(validation.sort(ascending)),
  };
}
