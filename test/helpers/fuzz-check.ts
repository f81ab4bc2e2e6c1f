// What the loader fuzz test holds every case to: it settles within a time limit,
// raises no unhandled rejection, and fails, if it fails, only with syncgrad's
// own DatasetError or OptionError whose one-paragraph message names a file of
// the case. The seed is fixed unless $SYNCGRAD_FUZZ_SEED gives one, so a failure
// can be replayed.
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { inspect } from 'node:util';

import { DatasetError, OptionError } from '../../src/shared/errors.js';
import type { DecodedChunk } from '../../src/worker/decode-worker.js';

/** How long one case may take before it counts as a hang. */
const kCaseLimitMs = 10_000;

/**
 * The seed of this run: a fixed one, so the suite (and CI) is repeatable;
 * $SYNCGRAD_FUZZ_SEED sets another, and `random` draws a fresh one, for
 * hunting with many seeds.
 */
const kDefaultSeed = 2026;

export function fuzzSeed(): number {
  const given = process.env.SYNCGRAD_FUZZ_SEED;
  if (given === undefined || given.trim() === '') return kDefaultSeed;
  if (given.trim() === 'random') return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(given);
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`SYNCGRAD_FUZZ_SEED must be a whole number, got '${given}'`);
  }
  return seed;
}

/** A case's result: the value it loaded, or what it threw. */
export type Settled<T> = { loaded: true; value: T } | { loaded: false; error: unknown };

/**
 * Runs `work`, failing the test as `what` when it takes longer than the limit
 * or leaves an unhandled rejection behind.
 */
export async function settle<T>(
  work: () => Promise<T>,
  what: string,
  rejections: unknown[],
): Promise<Settled<T>> {
  const timer = new AbortController();
  const timeout = delay(kCaseLimitMs, 'timeout' as const, { signal: timer.signal }).catch(
    () => 'cancelled' as const,
  );
  let settled: Settled<T> | 'timeout' | 'cancelled';
  try {
    settled = await Promise.race([
      work().then(
        (value): Settled<T> => ({ loaded: true, value }),
        (error: unknown): Settled<T> => ({ loaded: false, error }),
      ),
      timeout,
    ]);
  } finally {
    timer.abort();
  }
  assert.notEqual(settled, 'timeout', `${what}: still running after ${kCaseLimitMs} ms`);
  assert.notEqual(settled, 'cancelled');

  // a rejection nobody handled is reported once the microtasks have run
  await delay(0);
  const stray = rejections.splice(0);
  assert.deepEqual(stray.map(shownError), [], `${what}: left an unhandled rejection`);
  return settled as Settled<T>;
}

/** Collects unhandled rejections for the length of one test. */
export function collectRejections(t: TestContext): unknown[] {
  const rejections: unknown[] = [];
  const listener = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', listener);
  t.after(() => {
    process.off('unhandledRejection', listener);
  });
  return rejections;
}

/**
 * Asserts `error` is a DatasetError or OptionError whose message is one
 * paragraph naming one of `paths` (in full, or by its base name).
 */
export function assertRefusal(error: unknown, paths: string[], what: string): void {
  assert.ok(
    error instanceof DatasetError || error instanceof OptionError,
    `${what}: expected a DatasetError or OptionError, got ${shownError(error)}`,
  );
  const { message } = error;
  const named = paths.some((path) => message.includes(path) || message.includes(basename(path)));
  assert.ok(named, `${what}: the message names none of ${paths.join(', ')}: ${message}`);
  assert.doesNotMatch(message, /\n[ \t]*\n/, `${what}: the message is not one paragraph`);
}

/**
 * Checks a decoded chunk of `count` files: every failure has a distinct index
 * and a one-line reason, and has no pixels; every other file has a size (the
 * one asked for, when resized) and exactly its RGB pixels. Returns the failures.
 */
export function checkChunk(
  chunk: DecodedChunk,
  imageSize: { width: number; height: number } | undefined,
  steps: string[],
  what: string,
): Set<number> {
  const count = steps.length;
  for (const array of [chunk.offsets, chunk.widths, chunk.heights, chunk.gray]) {
    assert.equal(array.length, count, what);
  }
  const failed = new Set<number>();
  for (const { index, reason } of chunk.failures) {
    assert.ok(Number.isInteger(index) && index >= 0 && index < count, `${what}: index ${index}`);
    assert.ok(!failed.has(index), `${what}: file ${steps[index]} fails twice`);
    const oneLine = typeof reason === 'string' && reason.trim() !== '' && !reason.includes('\n');
    assert.ok(oneLine, `${what}: file ${steps[index]} has reason ${JSON.stringify(reason)}`);
    failed.add(index);
  }
  for (let index = 0; index < count; index++) {
    const end = index + 1 < count ? chunk.offsets[index + 1] : chunk.pixels.length;
    const bytes = end - chunk.offsets[index];
    const [width, height] = [chunk.widths[index], chunk.heights[index]];
    const where = `${what}: file ${steps[index]}`;
    if (failed.has(index)) {
      assert.deepEqual([width, height, bytes], [0, 0, 0], where);
      continue;
    }
    assert.ok(width > 0 && height > 0, `${where} decodes to ${width}x${height}`);
    assert.equal(bytes, width * height * 3, where);
    if (imageSize) assert.deepEqual([width, height], [imageSize.width, imageSize.height], where);
  }
  return failed;
}

function shownError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? String(error)) : inspect(error);
}
