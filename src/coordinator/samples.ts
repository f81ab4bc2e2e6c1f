// Turns labelled 8-bit images into the normalized shared sample sets workers
// read: inputs scaled from 0..255 to 0..1 and labels one-hot encoded, each
// written once into SharedArrayBuffer memory that all workers view in place.

import { DatasetError } from '../shared/errors.js';
import type { LabelledImages } from '../shared/images.js';
import type { SharedSamples } from '../shared/messages.js';
import { randomStream, kStreamValidationSplit, shuffleInPlace } from './random.js';

/** Normalizes the images at `indices` (all of them when omitted) into shared memory. */
export function toSharedSamples(images: LabelledImages, indices?: Int32Array): SharedSamples {
  const inputSize = images.height * images.width * images.channels;
  const classes = images.classNames.length;
  const count = indices ? indices.length : images.count;
  const inputs = new SharedArrayBuffer(count * inputSize * Float32Array.BYTES_PER_ELEMENT);
  const targets = new SharedArrayBuffer(count * classes * Float32Array.BYTES_PER_ELEMENT);
  const inputView = new Float32Array(inputs);
  const targetView = new Float32Array(targets);
  const scale = 1 / 255;

  for (let row = 0; row < count; row++) {
    const sample = indices ? indices[row] : row;
    const source = sample * inputSize;
    const destination = row * inputSize;
    for (let i = 0; i < inputSize; i++)
      inputView[destination + i] = images.pixels[source + i] * scale;
    const label = images.labels[sample];
    if (!(label >= 0 && label < classes)) {
      throw new DatasetError(
        images.source,
        `Image ${sample} of ${images.source} has label ${label}, but the dataset has ${classes} ` +
          `classes (labels 0..${classes - 1}). Fix the label or the class list.`,
      );
    }
    targetView[row * classes + label] = 1;
  }
  return { inputs, targets, count };
}

/**
 * Splits image indices into a training and a held-out validation part, the
 * same for the same seed. `fraction` of the images, rounded, are held out.
 */
export function validationSplit(
  count: number,
  fraction: number,
  seed: number,
): { train: Int32Array; validation: Int32Array } {
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  shuffleInPlace(order, randomStream(seed, kStreamValidationSplit));
  const held = Math.round(count * fraction);
  const validation = order.slice(0, held).sort();
  const train = order.slice(held).sort();
  return { train, validation };
}
