// Synthetic training images for benchmarks: random pixels of the right shape
// and random labels, generated fast and without any download. Throughput does
// not depend on what the pixels show, only on their number.

import { uniformInt } from 'pure-rand/distribution/uniformInt';

import { imageShapeOfSize } from '../../shared/images.js';
import type { LabelledImages } from '../../shared/images.js';
import { randomStream } from '../random.js';

const kStreamBenchData = 11;

export function syntheticImages(
  inputSize: number,
  count: number,
  classes: number,
  seed: number,
): LabelledImages {
  const random = randomStream(seed, kStreamBenchData);
  const [height, width, channels] = imageShapeOfSize(inputSize);
  const pixels = new Uint8Array(count * inputSize);
  // 32 random bits give four pixels
  for (let i = 0; i < pixels.length; i += 4) {
    const bits = uniformInt(random, 0, 0xffffffff);
    for (let byte = 0; byte < 4 && i + byte < pixels.length; byte++) {
      pixels[i + byte] = (bits >>> (8 * byte)) & 0xff;
    }
  }
  // every class present, so the data checks for one-class sets pass
  const labels = Int32Array.from({ length: count }, (_, index) =>
    index < classes ? index : uniformInt(random, 0, classes - 1),
  );
  const classNames = Array.from({ length: classes }, (_, index) => `class ${index}`);
  return {
    pixels,
    labels,
    count,
    height,
    width,
    channels,
    classNames,
    source: `synthetic ${height}x${width}x${channels} images`,
  };
}
