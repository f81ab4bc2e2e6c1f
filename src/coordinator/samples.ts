// Puts labelled images into the shared sample sets workers read in place:
// pixels kept as loaded (8-bit or float) and labels as class indices, written
// once into SharedArrayBuffer memory; workers normalize what they gather.

import type { LabelledImages } from '../shared/images.js';
import type { SharedSamples } from '../shared/messages.js';
import { randomStream, kStreamValidationSplit, shuffleInPlace } from './random.js';

/**
 * Puts images into shared memory as they are, 8-bit or float, with their
 * labels, as a set of every image (`subset` makes sets of some of them).
 * Labels must have passed `checkDataset` (dataset.ts). Pixels that already
 * live in a SharedArrayBuffer of their own length are used in place.
 */
export function toSharedSamples(images: LabelledImages): SharedSamples {
  const { pixels } = images;
  const pixelType = pixels instanceof Uint8Array ? 'uint8' : 'float32';
  const ownBuffer =
    pixels.buffer instanceof SharedArrayBuffer &&
    pixels.byteOffset === 0 &&
    pixels.byteLength === pixels.buffer.byteLength;
  let shared = pixels.buffer as SharedArrayBuffer;
  if (!ownBuffer) {
    shared = new SharedArrayBuffer(pixels.byteLength);
    (pixelType === 'uint8' ? new Uint8Array(shared) : new Float32Array(shared)).set(pixels);
  }
  const labels = new SharedArrayBuffer(images.count * Int32Array.BYTES_PER_ELEMENT);
  new Int32Array(labels).set(images.labels.subarray(0, images.count));
  return { pixels: shared, pixelType, labels, count: images.count };
}

/** The samples at `indices` of a set that stores every sample, sharing its memory. */
export function subset(samples: SharedSamples, indices: Int32Array): SharedSamples {
  const shared = new SharedArrayBuffer(indices.byteLength);
  new Int32Array(shared).set(indices);
  return { ...samples, indices: shared, count: indices.length };
}

/** The stored sample at each position of a set: its `indices`, else 0, 1, 2, ... */
export function storedIndices(samples: SharedSamples): Int32Array {
  if (samples.indices !== undefined) return new Int32Array(samples.indices);
  return Int32Array.from({ length: samples.count }, (_, index) => index);
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
