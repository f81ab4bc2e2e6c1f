// The bench's cost model, fitted to rows generated from known coefficients:
// it recovers them, reproduces the measured rates, extrapolates by the same
// formula, survives noise and degenerate measurements, and refuses bad input.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  fitCostModel,
  modelSummary,
  predictedRows,
  predictRow,
  predictStep,
} from '../src/coordinator/bench/cost-model.js';
import type { CostModel } from '../src/coordinator/bench/cost-model.js';
import type { BenchEngine, BenchRow, StepBreakdown } from '../src/coordinator/bench/types.js';
import { parameterLayout } from '../src/shared/layout.js';

// a 784-200-100-10 MLP: 784·200 + 200 + 200·100 + 100 + 100·10 + 10 = 178,110 parameters
const kParameters = parameterLayout({
  inputSize: 784,
  hiddenSizes: [200, 100],
  outputSize: 10,
}).count;

const truth: CostModel['coefficients'] = {
  computeFixedMs: 0.31,
  computePerSampleMs: 0.0072,
  gatherPerSampleMs: 0.0004,
  allReduceFixedMs: 0.02,
  allReduceMsPerMegabyte: 0.055,
  updateMsPerParameter: 1.5e-6,
  waitFractionOfCompute: 0.05,
  overheadMs: 0.05,
};

/**
 * The true breakdown, written out from the model's equation: onnx copies the
 * parameters in and the gradients out (2 vectors), the reduce-scatter reads one
 * vector and writes 1/W of one; tfjs makes no copies.
 */
function truthStep(engine: BenchEngine, workers: number, globalBatch: number): StepBreakdown {
  const shard = globalBatch / workers;
  const copies = engine === 'onnx' ? 2 : 0;
  const megabytes = (4 * kParameters * (copies + 1 + 1 / workers)) / 1e6;
  const compute = truth.computeFixedMs + truth.computePerSampleMs * shard;
  return {
    gather: truth.gatherPerSampleMs * shard,
    compute,
    // the slowest of W finishes sqrt(2 ln W) deviations after the mean
    wait: truth.waitFractionOfCompute * compute * Math.sqrt(2 * Math.log(workers)),
    allReduce: truth.allReduceFixedMs + truth.allReduceMsPerMegabyte * megabytes,
    update: (truth.updateMsPerParameter * kParameters) / workers,
    overhead: truth.overheadMs,
  };
}

function stepMilliseconds(parts: StepBreakdown): number {
  return Object.values(parts).reduce((sum, part) => sum + part, 0);
}

/** A measured row with `breakdown`, its rate derived from the breakdown's sum. */
function measuredRow(
  engine: BenchEngine,
  workers: number,
  globalBatch: number,
  breakdown: StepBreakdown,
): BenchRow {
  return {
    kind: 'measured',
    engine,
    inputSize: 784,
    globalBatch,
    workers,
    samplesPerSecond: globalBatch / (stepMilliseconds(breakdown) / 1000),
    speedup: 1,
    efficiency: 1 / workers,
    breakdown,
  };
}

function measuredRows(
  engine: BenchEngine,
  workerCounts = [1, 2],
  batches = [32, 128, 512],
): BenchRow[] {
  return batches.flatMap((globalBatch) =>
    workerCounts.map((workers) =>
      measuredRow(engine, workers, globalBatch, truthStep(engine, workers, globalBatch)),
    ),
  );
}

function assertClose(actual: number, expected: number, tolerance: number, what: string): void {
  const error = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(error <= tolerance, `${what}: got ${actual}, expected ${expected}`);
}

for (const engine of ['onnx', 'tfjs'] as const) {
  test(`the fit recovers every true coefficient of ${engine}`, () => {
    const model = fitCostModel(measuredRows(engine), kParameters);

    assert.equal(model.engine, engine);
    assert.equal(model.inputSize, 784);
    assert.equal(model.parameters, kParameters);
    assert.equal(model.fittedFrom, 6);
    for (const [name, value] of Object.entries(truth)) {
      const fitted = model.coefficients[name as keyof typeof truth];
      assertClose(fitted, value, 1e-6, name);
    }
  });

  test(`predictions of ${engine} at 1 and 2 workers reproduce the measured rates`, () => {
    const rows = measuredRows(engine);
    const model = fitCostModel(rows, kParameters);

    for (const row of rows) {
      const predicted = predictRow(model, row.workers, row.globalBatch);
      assert.equal(predicted.kind, 'predicted');
      assert.equal(predicted.breakdown, undefined);
      assertClose(predicted.samplesPerSecond, row.samplesPerSecond, 1e-9, `W=${row.workers}`);
    }
  });
}

test('a prediction at 8 workers follows the true formula', () => {
  const model = fitCostModel(measuredRows('onnx'), kParameters);

  const step = predictStep(model, 8, 512);
  const row = predictRow(model, 8, 512);

  const expected = truthStep('onnx', 8, 512);
  for (const [part, value] of Object.entries(expected)) {
    assertClose(step[part as keyof StepBreakdown], value, 1e-6, part);
  }
  const rate = 512 / (stepMilliseconds(expected) / 1000);
  const oneWorkerRate = 512 / (stepMilliseconds(truthStep('onnx', 1, 512)) / 1000);
  assertClose(row.samplesPerSecond, rate, 1e-6, 'samplesPerSecond');
  assertClose(row.speedup, rate / oneWorkerRate, 1e-6, 'speedup');
  assertClose(row.efficiency, rate / oneWorkerRate / 8, 1e-6, 'efficiency');
});

test('a given 1-worker rate is the base of the speedup', () => {
  const model = fitCostModel(measuredRows('onnx'), kParameters);

  const row = predictRow(model, 4, 128, 10_000);

  assertClose(row.speedup, row.samplesPerSecond / 10_000, 1e-12, 'speedup');
  assertClose(row.efficiency, row.speedup / 4, 1e-12, 'efficiency');
});

test('more workers than samples in the global batch is refused', () => {
  const model = fitCostModel(measuredRows('onnx'), kParameters);

  const message =
    'workers must be an integer from 1 to the global batch 32, got 33; ' +
    'every worker needs at least one row of the batch';
  assert.throws(() => predictStep(model, 33, 32), { name: 'RangeError', message });
  assert.throws(() => predictRow(model, 33, 32), { name: 'RangeError', message });
});

test('rows of two engines are refused', () => {
  const rows = [...measuredRows('onnx'), ...measuredRows('tfjs')];

  assert.throws(() => fitCostModel(rows, kParameters), {
    message:
      'fitCostModel takes the rows of one engine and input size, got onnx 784 inputs, ' +
      'tfjs 784 inputs; fit each group of rows on its own',
  });
});

test('fewer than 2 measured rows are refused, predicted rows not counted', () => {
  const [only] = measuredRows('onnx');
  const model = fitCostModel(measuredRows('onnx'), kParameters);
  const rows = [only, predictRow(model, 2, 32)];

  assert.throws(() => fitCostModel(rows, kParameters), {
    message:
      'fitCostModel needs at least 2 measured rows, got 1; ' +
      'measure more worker counts or global batches',
  });
});

test('with 5% noise the prediction at 2 workers stays within 10% of the measurement', () => {
  // a fixed pattern of relative errors from -5% to +5%, a different one for
  // each part of each row
  const pattern = [0.05, -0.05, 0.03, -0.01, -0.04, 0.02, 0.05, -0.03, 0.01];
  let next = 0;
  const noisy = measuredRows('onnx').map((row) => {
    const parts = Object.entries(row.breakdown!).map(([part, value]) => {
      const factor = 1 + pattern[next++ % pattern.length];
      return [part, value * factor];
    });
    return measuredRow('onnx', row.workers, row.globalBatch, Object.fromEntries(parts));
  });

  const model = fitCostModel(noisy, kParameters);

  for (const row of noisy.filter(({ workers }) => workers === 2)) {
    const predicted = predictRow(model, 2, row.globalBatch);
    assertClose(predicted.samplesPerSecond, row.samplesPerSecond, 0.1, `B=${row.globalBatch}`);
  }
});

test('one global batch still tells compute per sample apart, by the shard sizes', () => {
  const rows = measuredRows('onnx', [1, 2], [128]);

  const model = fitCostModel(rows, kParameters);

  assertClose(model.coefficients.computeFixedMs, truth.computeFixedMs, 1e-6, 'fixed');
  assertClose(model.coefficients.computePerSampleMs, truth.computePerSampleMs, 1e-6, 'slope');
  const row = predictRow(model, 4, 128);
  assertClose(
    row.samplesPerSecond,
    128 / (stepMilliseconds(truthStep('onnx', 4, 128)) / 1000),
    1e-6,
    'W=4',
  );
});

test('shards all of one size fit compute intercept-only and still predict', () => {
  // 1 worker at 64 and 2 workers at 128 both compute shards of 64 rows
  const rows = [
    measuredRow('onnx', 1, 64, truthStep('onnx', 1, 64)),
    measuredRow('onnx', 2, 128, truthStep('onnx', 2, 128)),
  ];

  const model = fitCostModel(rows, kParameters);

  assert.equal(model.coefficients.computePerSampleMs, 0);
  const compute = truth.computeFixedMs + truth.computePerSampleMs * 64;
  assertClose(model.coefficients.computeFixedMs, compute, 1e-9, 'fixed');
  for (const row of rows) {
    const predicted = predictRow(model, row.workers, row.globalBatch);
    assertClose(predicted.samplesPerSecond, row.samplesPerSecond, 1e-9, `W=${row.workers}`);
  }
  const far = predictRow(model, 16, 512);
  assert.ok(Number.isFinite(far.samplesPerSecond) && far.samplesPerSecond > 0);
});

test('an all-reduce that grows with workers fits no cost per byte, only its mean', () => {
  // the second barrier's wait outgrowing the saved bytes: 0.5 ms, then 0.7 ms
  const rows = measuredRows('tfjs').map((row) =>
    measuredRow('tfjs', row.workers, row.globalBatch, {
      ...row.breakdown!,
      allReduce: row.workers === 1 ? 0.5 : 0.7,
    }),
  );

  const model = fitCostModel(rows, kParameters);

  assert.equal(model.coefficients.allReduceMsPerMegabyte, 0);
  assertClose(model.coefficients.allReduceFixedMs, 0.6, 1e-12, 'allReduceFixedMs');
});

test('predictedRows covers every model, batch and worker count that has rows for all', () => {
  const onnx = fitCostModel(measuredRows('onnx'), kParameters);
  const tfjs = fitCostModel(measuredRows('tfjs'), kParameters);

  const rows = predictedRows([onnx, tfjs], [1, 2, 4, 64], [32, 128]);

  const keys = rows.map((row) => `${row.engine} ${row.globalBatch} ${row.workers}`);
  assert.deepEqual(keys, [
    'onnx 32 1',
    'onnx 32 2',
    'onnx 32 4',
    'onnx 128 1',
    'onnx 128 2',
    'onnx 128 4',
    'onnx 128 64',
    'tfjs 32 1',
    'tfjs 32 2',
    'tfjs 32 4',
    'tfjs 128 1',
    'tfjs 128 2',
    'tfjs 128 4',
    'tfjs 128 64',
  ]);
  assert.ok(rows.every((row) => row.kind === 'predicted'));
  assert.deepEqual(
    rows.filter((row) => row.workers === 1).map((row) => row.speedup),
    [1, 1, 1, 1],
  );
});

test('the summary names every coefficient with its unit', () => {
  const model = fitCostModel(measuredRows('onnx'), kParameters);

  assert.equal(
    modelSummary(model),
    'onnx 784 inputs: compute 0.31 ms + 0.0072 ms/sample, gather 0.0004 ms/sample, ' +
      'all-reduce 0.02 ms + 0.055 ms/MB, update 1.5 ns/param, wait 0.05 × compute × sqrt(2 ln W), ' +
      'overhead 0.05 ms',
  );
});
