// The code every pool thread runs: training steps between barriers, forward
// passes for evaluation, and a probe that loads the backend. Workers never
// print; they return numbers and the coordinator reports them.

import { threadId } from 'node:worker_threads';

import {
  kStatsComputeMilliseconds,
  kStatsCorrect,
  kStatsLossSum,
  kStatsUpdateMilliseconds,
  kStatsWaitMilliseconds,
  kStatsSlotsPerWorker,
  kStepsDone,
  parameterLayout,
  parameterRange,
  shardRange,
} from '../shared/layout.js';
import type { ParameterLayout } from '../shared/layout.js';
import type {
  EvaluateResult,
  EvaluateTask,
  ProbeResult,
  SessionMemory,
  TrainStepsResult,
  TrainTask,
  WorkerTask,
} from '../shared/messages.js';
import { applyUpdate } from '../shared/optimizers.js';
import { loadBackend } from './backend.js';
import type { Tf } from './backend.js';
import { arriveAndWait } from './barrier.js';
import type { GradientEngine, ShardRows } from './engine.js';
import { TfjsEngine } from './tfjs-engine.js';

/** Typed views on a session's shared memory, built once per session per thread. */
interface SessionViews {
  id: string;
  layout: ParameterLayout;
  engine: GradientEngine;
  parameters: Float32Array;
  gradients: Float32Array;
  optimizerState: Float32Array;
  control: Int32Array;
  stats: Float64Array;
  order: Int32Array;
  trainInputs: Float32Array;
  trainTargets: Float32Array;
  /** This thread's scratch rows for gathering a shard. */
  rows: ShardRows;
}

let current: SessionViews | undefined;

export default async function runTask(
  task: WorkerTask,
): Promise<TrainStepsResult | EvaluateResult | ProbeResult> {
  const tf = await loadBackend(task.backend);
  if (task.kind === 'probe') return { backend: tf.getBackend(), threadId };
  if (current?.id !== task.session.id) current = openSession(task.session, tf);
  return task.kind === 'train' ? train(task, current) : evaluate(task, current);
}

function openSession(memory: SessionMemory, tf: Tf): SessionViews {
  const layout = parameterLayout(memory.shape);
  const engine: GradientEngine = new TfjsEngine(tf, layout);
  const rowsCapacity = 1024;
  return {
    id: memory.id,
    layout,
    engine,
    parameters: new Float32Array(memory.parameters),
    gradients: new Float32Array(memory.gradients),
    optimizerState: new Float32Array(memory.optimizerState),
    control: new Int32Array(memory.control),
    stats: new Float64Array(memory.stats),
    order: new Int32Array(memory.order),
    trainInputs: new Float32Array(memory.train.inputs),
    trainTargets: new Float32Array(memory.train.targets),
    rows: {
      inputs: new Float32Array(rowsCapacity * memory.shape.inputSize),
      targets: new Float32Array(rowsCapacity * memory.shape.outputSize),
      count: 0,
    },
  };
}

function train(task: TrainTask, views: SessionViews): TrainStepsResult {
  const { rank, globalBatch, session } = task;
  const { layout, parameters, gradients, control, stats } = views;
  const workers = session.workers;
  const trainCount = session.train.count;
  const slot = gradients.subarray(
    rank * layout.slotStride,
    rank * layout.slotStride + layout.count,
  );
  const [ownStart, ownEnd] = parameterRange(layout.count, rank, workers);
  const steps = task.toStep - task.fromStep;
  const lossSums = new Float64Array(steps);
  const correct = new Float64Array(steps);

  const statsBase = rank * kStatsSlotsPerWorker;
  for (let index = 0; index < steps; index++) {
    const step = task.fromStep + index;
    const started = performance.now();

    // gather this worker's shard of the global batch
    const batchStart = step * globalBatch;
    const batchSize = Math.min(globalBatch, trainCount - batchStart);
    const [shardStart, shardEnd] = shardRange(batchSize, rank, workers);
    const rows = gatherRows(views, batchStart + shardStart, shardEnd - shardStart);

    // compute the shard's summed gradients into this worker's slot
    if (rows.count > 0) {
      const loss = views.engine.gradients(rows, parameters, slot);
      lossSums[index] = loss.lossSum;
      correct[index] = loss.correct;
      stats[statsBase + kStatsLossSum] += loss.lossSum;
      stats[statsBase + kStatsCorrect] += loss.correct;
    } else {
      slot.fill(0);
    }
    const computed = performance.now();

    // all-reduce and update: once every slot is written, each worker owns
    // one range of the vector, sums it over all slots and applies the
    // optimizer to it; nobody reads parameters until every range is done
    arriveAndWait(control, workers);
    const reduceStarted = performance.now();
    applyUpdate(
      session.optimizer,
      task.updatesBefore + index + 1,
      parameters,
      views.optimizerState,
      { values: gradients, slots: workers, stride: layout.slotStride, scale: 1 / batchSize },
      ownStart,
      ownEnd,
    );
    const updated = performance.now();
    arriveAndWait(control, workers);
    if (rank === 0) Atomics.add(control, kStepsDone, 1);
    stats[statsBase + kStatsComputeMilliseconds] += computed - started;
    stats[statsBase + kStatsUpdateMilliseconds] += updated - reduceStarted;
    stats[statsBase + kStatsWaitMilliseconds] +=
      reduceStarted - computed + (performance.now() - updated);
  }
  return { lossSums, correct };
}

/** Copies `count` samples, in epoch order from position `first`, into scratch rows. */
function gatherRows(views: SessionViews, first: number, count: number): ShardRows {
  const rows = ensureCapacity(views, count);
  const inputSize = views.layout.layers[0].inputSize;
  const outputSize = views.layout.layers[views.layout.layers.length - 1].outputSize;
  for (let row = 0; row < count; row++) {
    const sample = views.order[first + row];
    rows.inputs.set(
      views.trainInputs.subarray(sample * inputSize, (sample + 1) * inputSize),
      row * inputSize,
    );
    rows.targets.set(
      views.trainTargets.subarray(sample * outputSize, (sample + 1) * outputSize),
      row * outputSize,
    );
  }
  rows.count = count;
  return rows;
}

function ensureCapacity(views: SessionViews, count: number): ShardRows {
  const inputSize = views.layout.layers[0].inputSize;
  const outputSize = views.layout.layers[views.layout.layers.length - 1].outputSize;
  if (views.rows.inputs.length < count * inputSize) {
    views.rows = {
      inputs: new Float32Array(count * inputSize),
      targets: new Float32Array(count * outputSize),
      count: 0,
    };
  }
  return views.rows;
}

function evaluate(task: EvaluateTask, views: SessionViews): EvaluateResult {
  const inputSize = views.layout.layers[0].inputSize;
  const outputSize = views.layout.layers[views.layout.layers.length - 1].outputSize;
  const inputs = new Float32Array(task.samples.inputs);
  const targets = new Float32Array(task.samples.targets);
  const predictions = new Int32Array(task.end - task.start);
  const chunk = 512;
  let lossSum = 0;
  let correct = 0;

  // samples of an evaluation set are already contiguous: pass views, not copies
  for (let first = task.start; first < task.end; first += chunk) {
    const count = Math.min(chunk, task.end - first);
    const rows: ShardRows = {
      inputs: inputs.subarray(first * inputSize, (first + count) * inputSize),
      targets: targets.subarray(first * outputSize, (first + count) * outputSize),
      count,
    };
    const loss = views.engine.evaluate(
      rows,
      views.parameters,
      predictions.subarray(first - task.start),
    );
    lossSum += loss.lossSum;
    correct += loss.correct;
  }
  return { lossSum, correct, predictions };
}
