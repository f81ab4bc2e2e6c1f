// Small deterministic data for tests that need no real dataset: random shards
// and a learnable synthetic image set whose classes differ in mean brightness
// patterns, so training on it makes real progress.

import type { LabelledImages } from '../../src/shared/images.js';
import type { ModelShape, ParameterLayout } from '../../src/shared/layout.js';
import type { ShardRows } from '../../src/worker/engine.js';

/** A tiny linear congruential generator: tests only need repeatable noise. */
export function noise(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

export function randomParameters(layout: ParameterLayout, seed: number): Float32Array {
  const next = noise(seed);
  return Float32Array.from({ length: layout.count }, () => (next() - 0.5) * 0.2);
}

export function randomRows(shape: ModelShape, count: number, seed: number): ShardRows {
  const next = noise(seed);
  const inputs = Float32Array.from({ length: count * shape.inputSize }, () => next());
  const targets = new Float32Array(count * shape.outputSize);
  for (let row = 0; row < count; row++)
    targets[row * shape.outputSize + Math.floor(next() * shape.outputSize)] = 1;
  return { inputs, targets, count };
}

/**
 * `count` images of `height × width` pixels in `classes` classes: each class
 * lights up its own band of rows, plus noise, so an MLP can learn it.
 */
export function syntheticImages(
  count: number,
  classes: number,
  seed: number,
  height = 28,
  width = 28,
): LabelledImages {
  const next = noise(seed);
  const pixels = new Uint8Array(count * height * width);
  const labels = new Int32Array(count);
  const band = Math.max(1, Math.floor(height / classes));
  for (let image = 0; image < count; image++) {
    const label = Math.floor(next() * classes);
    labels[image] = label;
    for (let row = 0; row < height; row++) {
      const lit = Math.floor(row / band) === label;
      for (let column = 0; column < width; column++) {
        const base = lit ? 160 : 40;
        pixels[(image * height + row) * width + column] = Math.min(
          255,
          base + Math.floor(next() * 90),
        );
      }
    }
  }
  return {
    pixels,
    labels,
    count,
    height,
    width,
    channels: 1,
    classNames: Array.from({ length: classes }, (_, index) => `class-${index}`),
    source: 'synthetic images',
  };
}
