// Gatekeeping for tests that need real datasets. Outside CI a missing dataset
// skips the test with the reason printed; with SYNCGRAD_REQUIRE_DATA=1 (set by
// .ci/run) the same absence fails the test, so CI can never pass by skipping.
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';

export const fashionMnistDir =
  process.env.SYNCGRAD_FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';

/** Root of the unpacked CIFAR-10 JPEG tree (`train/<class>/*.jpg`, `test/<class>/*.jpg`). */
export const cifarJpegDir = process.env.SYNCGRAD_CIFAR10_JPG_DIR ?? '';

/**
 * Returns true when `path` exists. Otherwise skips the test with `how` as the
 * printed reason, or fails it when real data is required.
 */
export function requireData(t: TestContext, path: string, how: string): boolean {
  if (path !== '' && existsSync(path)) return true;
  const reason = `real data not found at '${path || '(unset)'}': ${how}`;
  if (process.env.SYNCGRAD_REQUIRE_DATA === '1') {
    throw new Error(`${reason} (SYNCGRAD_REQUIRE_DATA=1 makes this a failure)`);
  }
  console.log(`# skipped: ${reason}`);
  t.skip(reason);
  return false;
}
