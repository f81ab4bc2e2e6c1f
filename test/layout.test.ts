// The shared-memory layout: parameter offsets in Keras order, shards and
// parameter ranges that cover everything exactly once.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parameterLayout, parameterRange, shardRange } from '../src/shared/layout.js';

test('the textbook MLP has 784·200+200 + 200·150+150 + 150·10+10 = 188,660 parameters', () => {
  const layout = parameterLayout({ inputSize: 784, hiddenSizes: [200, 150], outputSize: 10 });
  assert.equal(layout.count, 188_660);
  // each kernel is inputs × outputs floats, followed by its bias of `outputs` floats
  assert.deepEqual(
    layout.layers.map((layer) => [layer.kernelOffset, layer.biasOffset]),
    [
      [0, 156_800],
      [157_000, 187_000],
      [187_150, 188_650],
    ],
  );
  assert.equal(layout.slotStride % 16, 0);
  assert.ok(layout.slotStride >= layout.count);
});

test('shards of a global batch are contiguous, cover it once and differ by at most one', () => {
  for (const [batch, workers] of [
    [32, 2],
    [7, 2],
    [5, 3],
    [2, 4],
    [1, 1],
    [100, 7],
  ]) {
    const sizes: number[] = [];
    let expectedStart = 0;
    for (let rank = 0; rank < workers; rank++) {
      const [start, end] = shardRange(batch, rank, workers);
      assert.equal(start, expectedStart);
      sizes.push(end - start);
      expectedStart = end;
    }
    assert.equal(expectedStart, batch);
    assert.ok(
      Math.max(...sizes) - Math.min(...sizes) <= 1,
      `batch ${batch} on ${workers}: ${sizes}`,
    );
  }
});

test('parameter ranges cover the vector once and start on 64-byte boundaries', () => {
  for (const [count, workers] of [
    [159_010, 2],
    [159_010, 3],
    [10, 4],
    [17, 2],
  ]) {
    let expectedStart = 0;
    for (let rank = 0; rank < workers; rank++) {
      const [start, end] = parameterRange(count, rank, workers);
      assert.equal(start, expectedStart);
      assert.ok(start === count || start % 16 === 0);
      expectedStart = end;
    }
    assert.equal(expectedStart, count);
  }
});
