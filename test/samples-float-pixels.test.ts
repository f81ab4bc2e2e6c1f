// Float pixels reach the workers as they are; 8-bit pixels are scaled to 0..1.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { toSharedSamples } from '../src/coordinator/samples.js';
import type { LabelledImages } from '../src/shared/images.js';

function imagesOf(pixels: LabelledImages['pixels']): LabelledImages {
  const common = { count: 2, height: 1, width: 1, channels: 1, source: 'memory' };
  return { ...common, pixels, labels: Int32Array.from([0, 1]), classNames: ['0', '1'] };
}

test('float pixels are used as they are, 8-bit pixels multiplied by 1/255', () => {
  const floats = toSharedSamples(imagesOf(Float32Array.from([0.25, 3])));
  assert.deepEqual(Array.from(new Float32Array(floats.inputs)), [0.25, 3]);

  const bytes = toSharedSamples(imagesOf(Uint8Array.from([51, 255])));
  // 51 * (1/255) is 0.2 up to rounding; 255 * (1/255) rounds to exactly 1
  assert.deepEqual(Array.from(new Float32Array(bytes.inputs)), [Math.fround(51 * (1 / 255)), 1]);
});
