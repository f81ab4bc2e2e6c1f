// The bench's cost model: where a training step's time goes, as a function of
// the workers W and the global batch B, fitted to the measured rows of one
// engine and input size, so that the bench can predict throughput and
// parallel efficiency for more cores than the machine has.
//
// With shard = B/W rows per worker and P float32 parameters, a step takes
//
//   step(W, B) = gatherPerSample × shard
//              + computeFixed + computePerSample × shard
//              + imbalance × compute(W, B) × spread(W)
//              + allReduceFixed + allReducePerMegabyte × megabytes(W)
//              + updatePerParameter × P / W
//              + overhead
//
//   megabytes(W) = 4P × (copies + 1 + 1/W) / 10⁶
//
// where `copies` is the parameter-sized copies the engine makes per step
// (onnx: the parameters in and the gradients out; tfjs: none, it works on
// shared memory in place), 1 is the reduce-scatter reading its P/W range from
// each of the W slots, and 1/W is it writing the mean of that range. The
// engine's cost that grows with P (streaming the weights, writing the whole
// gradient) is the same for every W and B, so it sits in computeFixed.
//
// Assumptions: each added core brings its own compute and its own cache, so a
// row costs the same however many workers run; the workers' compute times vary
// independently, so the slowest of W lags the mean by spread(W) deviations.
// Contention for memory bandwidth between cores and NUMA distances are not
// modeled, so predictions far beyond the measured core count are optimistic:
// read them as an upper bound.

import type { BenchEngine, BenchRow, StepBreakdown } from './types.js';

/** A fitted cost model of one engine and input size; times in milliseconds per step. */
export interface CostModel {
  engine: BenchEngine;
  inputSize: number;
  /** P, the length of the parameter vector (parameterLayout(shape).count). */
  parameters: number;
  coefficients: {
    /** The engine call's cost whatever the shard's size, the part that grows with P included. */
    computeFixedMs: number;
    /** The forward and backward pass's cost per shard row. */
    computePerSampleMs: number;
    /** Copying one sample out of the shared training set. */
    gatherPerSampleMs: number;
    /** The all-reduce's cost whatever the bytes it moves: mostly the second barrier. */
    allReduceFixedMs: number;
    /** The all-reduce's cost per 10⁶ bytes one worker moves (see megabytes(W) above). */
    allReduceMsPerMegabyte: number;
    /** The optimizer's cost per parameter of the worker's own range. */
    updateMsPerParameter: number;
    /**
     * The first barrier's mean wait as a fraction of a shard's compute time
     * and of spread(W) = sqrt(2 ln W): the slowest of W workers finishes about
     * spread(W) standard deviations after the mean one.
     */
    waitFractionOfCompute: number;
    /** The coordinator's cost per step outside the worker loop. */
    overheadMs: number;
  };
  /** How many measured rows the coefficients were fitted to. */
  fittedFrom: number;
}

/** Parameter-sized copies between shared and private memory an engine makes per step. */
const kParameterCopiesPerStep: Record<BenchEngine, number> = { onnx: 2, tfjs: 0 };

const kBytesPerParameter = Float32Array.BYTES_PER_ELEMENT;

/** The bytes one worker of `workers` moves in the all-reduce, in units of 10⁶ bytes. */
function allReduceMegabytes(engine: BenchEngine, parameters: number, workers: number): number {
  const vectors = kParameterCopiesPerStep[engine] + 1 + 1 / workers;
  return (kBytesPerParameter * parameters * vectors) / 1e6;
}

interface Point {
  x: number;
  y: number;
}

/**
 * The least-squares slope of y = slope × x. Without any x ≠ 0 the data say
 * nothing about the slope, so it is 0; a negative slope (noise, or a cost that
 * the regressor does not drive) is clamped to 0, as no part gets cheaper with
 * more of its regressor.
 */
function fitThroughOrigin(points: Point[]): number {
  const xx = points.reduce((sum, { x }) => sum + x * x, 0);
  if (xx === 0) return 0;
  const xy = points.reduce((sum, { x, y }) => sum + x * y, 0);
  return Math.max(0, xy / xx);
}

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/**
 * The least-squares line y = intercept + slope × x, with both kept at 0 or
 * above. When all x are (nearly) equal the slope cannot be told apart from
 * the intercept: the fit is intercept-only, the mean, so the model claims no
 * change with x that it has not seen. A negative slope is clamped to 0 and
 * the intercept refitted as the mean; a negative intercept is clamped to 0
 * and the slope refitted through the origin.
 */
function fitLine(points: Point[]): { intercept: number; slope: number } {
  const meanX = mean(points.map(({ x }) => x));
  const meanY = mean(points.map(({ y }) => y));
  const spread = points.reduce((sum, { x }) => sum + (x - meanX) ** 2, 0);
  const scale = points.reduce((sum, { x }) => sum + x * x, 0);
  if (spread <= 1e-12 * scale) return { intercept: Math.max(0, meanY), slope: 0 };

  const covariance = points.reduce((sum, { x, y }) => sum + (x - meanX) * (y - meanY), 0);
  const slope = covariance / spread;
  if (slope < 0) return { intercept: Math.max(0, meanY), slope: 0 };
  const intercept = meanY - slope * meanX;
  if (intercept < 0) return { intercept: 0, slope: fitThroughOrigin(points) };
  return { intercept, slope };
}

/**
 * Fits a cost model to the measured rows of one engine and input size, whose
 * model has `parameters` parameters. Predicted rows among `rows` are ignored.
 * Throws when the rows mix engines or input sizes, when a measured row has no
 * breakdown, or when fewer than 2 measured rows are left.
 */
export function fitCostModel(rows: BenchRow[], parameters: number): CostModel {
  if (!Number.isInteger(parameters) || parameters < 1) {
    throw new RangeError(`parameters must be a positive integer, got ${parameters}`);
  }
  const measured = rows.filter((row) => row.kind === 'measured');
  const groups = [...new Set(measured.map((row) => `${row.engine} ${row.inputSize} inputs`))];
  if (groups.length > 1) {
    throw new Error(
      `fitCostModel takes the rows of one engine and input size, got ${groups.join(', ')}; ` +
        `fit each group of rows on its own`,
    );
  }
  if (measured.length < 2) {
    throw new Error(
      `fitCostModel needs at least 2 measured rows, got ${measured.length}; ` +
        `measure more worker counts or global batches`,
    );
  }
  const missing = measured.find((row) => row.breakdown === undefined);
  if (missing !== undefined) {
    throw new Error(
      `fitCostModel needs the step breakdown of every measured row, but the row of ` +
        `${missing.workers} workers and global batch ${missing.globalBatch} has none`,
    );
  }
  const { engine, inputSize } = measured[0];
  const samples = measured.map((row) => ({
    workers: row.workers,
    shard: row.globalBatch / row.workers,
    parts: row.breakdown!,
  }));

  // compute: a fixed cost per engine call plus a cost per shard row
  const compute = fitLine(samples.map(({ shard, parts }) => ({ x: shard, y: parts.compute })));

  // all-reduce: a fixed cost (the second barrier) plus a cost per byte moved
  const allReduce = fitLine(
    samples.map(({ workers, parts }) => ({
      x: allReduceMegabytes(engine, parameters, workers),
      y: parts.allReduce,
    })),
  );

  // gather, update and wait cost nothing without rows, parameters or peers
  const gatherPerSampleMs = fitThroughOrigin(
    samples.map(({ shard, parts }) => ({ x: shard, y: parts.gather })),
  );
  const updateMsPerParameter = fitThroughOrigin(
    samples.map(({ workers, parts }) => ({ x: parameters / workers, y: parts.update })),
  );
  const waitFractionOfCompute = fitThroughOrigin(
    samples.map(({ workers, parts }) => ({ x: parts.compute * spread(workers), y: parts.wait })),
  );

  return {
    engine,
    inputSize,
    parameters,
    coefficients: {
      computeFixedMs: compute.intercept,
      computePerSampleMs: compute.slope,
      gatherPerSampleMs,
      allReduceFixedMs: allReduce.intercept,
      allReduceMsPerMegabyte: allReduce.slope,
      updateMsPerParameter,
      waitFractionOfCompute,
      overheadMs: Math.max(0, mean(samples.map(({ parts }) => parts.overhead))),
    },
    fittedFrom: measured.length,
  };
}

/**
 * The model's breakdown of one step of `workers` workers over a global batch
 * of `globalBatch` samples. Throws unless 1 ≤ workers ≤ globalBatch, since a
 * worker without a row has nothing to compute.
 */
export function predictStep(model: CostModel, workers: number, globalBatch: number): StepBreakdown {
  if (!Number.isInteger(globalBatch) || globalBatch < 1) {
    throw new RangeError(`globalBatch must be a positive integer, got ${globalBatch}`);
  }
  if (!Number.isInteger(workers) || workers < 1 || workers > globalBatch) {
    throw new RangeError(
      `workers must be an integer from 1 to the global batch ${globalBatch}, got ${workers}; ` +
        `every worker needs at least one row of the batch`,
    );
  }
  const c = model.coefficients;
  const shard = globalBatch / workers;
  const compute = c.computeFixedMs + c.computePerSampleMs * shard;
  return {
    gather: c.gatherPerSampleMs * shard,
    compute,
    wait: c.waitFractionOfCompute * compute * spread(workers),
    allReduce:
      c.allReduceFixedMs +
      c.allReduceMsPerMegabyte * allReduceMegabytes(model.engine, model.parameters, workers),
    update: c.updateMsPerParameter * (model.parameters / workers),
    overhead: c.overheadMs,
  };
}

/**
 * How far behind the mean the slowest of `workers` workers finishes, in
 * standard deviations of their compute times, for independent, roughly
 * normal variations: sqrt(2 ln W), the usual estimate of the expected maximum
 * of W standard normal draws; 0 for one worker, who waits for no one.
 */
export function spread(workers: number): number {
  return Math.sqrt(2 * Math.log(workers));
}

function stepMilliseconds(parts: StepBreakdown): number {
  return (
    parts.gather + parts.compute + parts.wait + parts.allReduce + parts.update + parts.overhead
  );
}

function predictedRate(model: CostModel, workers: number, globalBatch: number): number {
  return globalBatch / (stepMilliseconds(predictStep(model, workers, globalBatch)) / 1000);
}

/**
 * The predicted row of `workers` workers at `globalBatch`. Its speedup is over
 * `oneWorkerRate` when given, else over the model's own 1-worker prediction at
 * the same batch, so that a predicted curve is consistent with itself.
 */
export function predictRow(
  model: CostModel,
  workers: number,
  globalBatch: number,
  oneWorkerRate?: number,
): BenchRow {
  const samplesPerSecond = predictedRate(model, workers, globalBatch);
  const speedup = samplesPerSecond / (oneWorkerRate ?? predictedRate(model, 1, globalBatch));
  return {
    kind: 'predicted',
    engine: model.engine,
    inputSize: model.inputSize,
    globalBatch,
    workers,
    samplesPerSecond,
    speedup,
    efficiency: speedup / workers,
  };
}

/**
 * Predicted rows of every model, global batch and worker count, in that
 * order. Worker counts above a global batch are left out: no step of that
 * batch gives every worker a row.
 */
export function predictedRows(
  models: CostModel[],
  workerCounts: number[],
  batches: number[],
): BenchRow[] {
  return models.flatMap((model) =>
    batches.flatMap((globalBatch) =>
      workerCounts
        .filter((workers) => workers <= globalBatch)
        .map((workers) => predictRow(model, workers, globalBatch)),
    ),
  );
}

/** `value` to two significant digits, without an exponent or trailing zeros. */
function brief(value: number): string {
  if (value === 0 || !Number.isFinite(value)) return String(value);
  const digits = Math.min(20, Math.max(0, 1 - Math.floor(Math.log10(Math.abs(value)))));
  const fixed = value.toFixed(digits);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/** The model's coefficients on one line, for people. */
export function modelSummary(model: CostModel): string {
  const c = model.coefficients;
  return (
    `${model.engine} ${model.inputSize} inputs: ` +
    `compute ${brief(c.computeFixedMs)} ms + ${brief(c.computePerSampleMs)} ms/sample, ` +
    `gather ${brief(c.gatherPerSampleMs)} ms/sample, ` +
    `all-reduce ${brief(c.allReduceFixedMs)} ms + ${brief(c.allReduceMsPerMegabyte)} ms/MB, ` +
    `update ${brief(c.updateMsPerParameter * 1e6)} ns/param, ` +
    `wait ${brief(c.waitFractionOfCompute)} × compute × sqrt(2 ln W), ` +
    `overhead ${brief(c.overheadMs)} ms`
  );
}
