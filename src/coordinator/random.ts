// Seeded randomness for everything that must repeat exactly from one run to
// the next: weight initialization, validation splits and epoch shuffles.

import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

export type Random = ReturnType<typeof xoroshiro128plus>;

/**
 * An independent generator for one purpose of a run. Deriving each stream from
 * the seed and a fixed purpose number keeps, say, the epoch shuffles the same
 * whether or not a validation split drew numbers first.
 */
export function randomStream(seed: number, purpose: number): Random {
  return xoroshiro128plus((seed ^ Math.imul(purpose + 1, 0x9e3779b1)) | 0);
}

export const kStreamInitialization = 1;
export const kStreamValidationSplit = 2;
export const kStreamShuffle = 3;

/** Fisher-Yates shuffle of `values` in place. */
export function shuffleInPlace(values: Int32Array, random: Random): Int32Array {
  for (let i = values.length - 1; i > 0; i--) {
    const j = uniformInt(random, 0, i);
    const held = values[i];
    values[i] = values[j];
    values[j] = held;
  }
  return values;
}

/** A uniform number in [low, high). */
export function uniform(random: Random, low: number, high: number): number {
  return low + (high - low) * uniformFloat64(random);
}
