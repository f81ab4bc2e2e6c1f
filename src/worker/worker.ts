// The code every pool thread runs: training steps between barriers, forward
// passes for evaluation, and a probe that loads the backend. Workers never
// print; they return numbers and the coordinator reports them.

import { threadId } from 'node:worker_threads';

import {
  kStatsAllReduceMilliseconds,
  kStatsComputeMilliseconds,
  kStatsCorrect,
  kStatsGatherMilliseconds,
  kStatsLiveTensors,
  kStatsLossSum,
  kStatsUpdateMilliseconds,
  kStatsWaitMilliseconds,
  kStatsSlotsPerWorker,
  kNonFiniteStep,
  kStepsDone,
  modelMemoryLayout,
  parameterLayout,
  parameterRange,
  shardRange,
} from '../shared/layout.js';
import type { ParameterLayout } from '../shared/layout.js';
import type {
  EngineName,
  EvaluateResult,
  EvaluateTask,
  MatMulResult,
  ProbeResult,
  PixelType,
  SessionMemory,
  SharedSamples,
  TrainStepsResult,
  TrainTask,
  WorkerTask,
} from '../shared/messages.js';
import {
  applyUpdate,
  optimizerStateSize,
  reduceGradients,
  slotIsFinite,
  slotView,
} from '../shared/optimizers.js';
import type { ModelMemory } from '../shared/optimizers.js';
import { arriveAndWait } from './barrier.js';
import { faultFor, injectFault } from './fault-injection.js';
import type { GradientEngine, ShardRows } from './engine.js';

// Each engine is imported when a task first needs it, so a thread loads
// onnxruntime or TensorFlow.js, never both, and pays only for the one it runs.
const tfjs = () => import('./backend.js');
const onnx = () => import('./onnx-engine.js');

/** Typed views on a session's shared memory, built once per session per thread. */
interface SessionViews {
  id: string;
  layout: ParameterLayout;
  engine: GradientEngine;
  model: ModelMemory;
  parameters: Float32Array;
  control: Int32Array;
  stats: Float64Array;
  order: Int32Array;
  train: SampleViews;
  /** This thread's scratch rows for gathering a shard. */
  rows: ShardRows;
}

/** Typed views on a shared sample set. */
interface SampleViews {
  pixels: Uint8Array | Float32Array;
  labels: Int32Array;
  /** The set's stored samples in order, or undefined when it is all of them. */
  indices: Int32Array | undefined;
}

function sampleViews(samples: SharedSamples): SampleViews {
  return {
    pixels:
      samples.pixelType === 'uint8'
        ? new Uint8Array(samples.pixels)
        : new Float32Array(samples.pixels),
    labels: new Int32Array(samples.labels),
    indices: samples.indices === undefined ? undefined : new Int32Array(samples.indices),
  };
}

let current: SessionViews | undefined;

export default async function runTask(
  task: WorkerTask,
): Promise<TrainStepsResult | EvaluateResult | ProbeResult | MatMulResult> {
  if (task.kind === 'probe') return probe(task.engine, task.backend);
  if (task.kind === 'matmul') return (await import('./matmul-rate.js')).measureMatMulRate(task);
  if (current?.id !== task.session.id) {
    await current?.engine.dispose();
    current = undefined;
    current = await openSession(task);
  }
  return task.kind === 'train' ? train(task, current) : evaluate(task, current);
}

async function probe(engine: EngineName, backend: TrainTask['backend']): Promise<ProbeResult> {
  if (engine === 'onnx') {
    await (await onnx()).loadOnnxRuntime();
    return { engine, backend: 'native', threadId };
  }
  const tf = await (await tfjs()).loadBackend(backend);
  return { engine, backend: tf.getBackend(), threadId };
}

async function openSession(task: TrainTask | EvaluateTask): Promise<SessionViews> {
  const memory: SessionMemory = task.session;
  const layout = parameterLayout(memory.shape);
  const engine: GradientEngine =
    task.engine === 'onnx'
      ? await (await onnx()).OnnxEngine.create(memory.shape, layout, memory.train.pixelType)
      : new (await import('./tfjs-engine.js')).TfjsEngine(
          await (await tfjs()).loadBackend(task.backend),
          layout,
        );
  const modelLayout = modelMemoryLayout(
    layout,
    optimizerStateSize(memory.optimizer),
    memory.workers,
  );
  const rowsCapacity = 1024;
  return {
    id: memory.id,
    layout,
    engine,
    model: { memory: memory.model, layout: modelLayout, slots: memory.workers },
    parameters: new Float32Array(
      memory.model.buffer,
      modelLayout.parametersByteOffset,
      layout.count,
    ),
    control: new Int32Array(memory.control),
    stats: new Float64Array(memory.stats),
    order: new Int32Array(memory.order),
    train: sampleViews(memory.train),
    rows: scratchRows(memory.train.pixelType, rowsCapacity, memory.shape),
  };
}

async function train(task: TrainTask, views: SessionViews): Promise<TrainStepsResult> {
  const { rank, globalBatch, session } = task;
  const { layout, model, parameters, control, stats } = views;
  const workers = session.workers;
  const trainCount = session.train.count;
  const slot = slotView(model, rank, layout.count);
  const [ownStart, ownEnd] = parameterRange(layout.count, rank, workers);
  const steps = task.toStep - task.fromStep;
  const lossSums = new Float64Array(steps);
  const correct = new Float64Array(steps);
  const skipped: number[] = [];
  let stoppedAt = 0;
  const fault = faultFor(task);

  const statsBase = rank * kStatsSlotsPerWorker;
  for (let index = 0; index < steps; index++) {
    const step = task.fromStep + index;
    const update = task.updatesBefore + index + 1;
    const started = performance.now();
    if (fault?.step === update) injectFault(fault.kind, control);

    // gather this worker's shard of the global batch
    const batchStart = step * globalBatch;
    const batchSize = Math.min(globalBatch, trainCount - batchStart);
    const [shardStart, shardEnd] = shardRange(batchSize, rank, workers);
    const rows = gatherRows(
      views,
      views.train,
      views.order,
      batchStart + shardStart,
      shardEnd - shardStart,
    );
    const gathered = performance.now();

    // compute the shard's summed gradients into this worker's slot
    let copyMilliseconds = 0;
    if (rows.count > 0) {
      const loss = await views.engine.gradients(rows, parameters, slot);
      if (fault?.kind === 'nonfinite' && fault.step === update) loss.lossSum = Number.NaN;
      if (fault?.kind === 'nonfinite-gradient' && fault.step === update) slot[0] = Number.NaN;
      // a non-finite loss or gradient is flagged before the barrier, so every
      // worker sees it after the barrier and all skip or stop together
      if (!Number.isFinite(loss.lossSum) || !slotIsFinite(model, rank)) {
        Atomics.compareExchange(control, kNonFiniteStep, 0, update);
      }
      lossSums[index] = loss.lossSum;
      correct[index] = loss.correct;
      copyMilliseconds = loss.copyMilliseconds;
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
    const arrived = performance.now();
    const nonFinite = Atomics.load(control, kNonFiniteStep) === update;
    if (nonFinite && task.onNonFinite === 'stop') {
      stoppedAt = update;
      break;
    }
    if (nonFinite) skipped.push(update);
    else reduceGradients(model, rank, ownStart, ownEnd, 1 / batchSize);
    const reduced = performance.now();
    if (!nonFinite) applyUpdate(session.optimizer, update, model, rank, ownStart, ownEnd);
    const updated = performance.now();
    arriveAndWait(control, workers);
    if (rank === 0) Atomics.add(control, kStepsDone, 1);

    stats[statsBase + kStatsGatherMilliseconds] += gathered - started;
    stats[statsBase + kStatsComputeMilliseconds] += computed - gathered - copyMilliseconds;
    stats[statsBase + kStatsWaitMilliseconds] += arrived - computed;
    stats[statsBase + kStatsAllReduceMilliseconds] +=
      copyMilliseconds + (reduced - arrived) + (performance.now() - updated);
    stats[statsBase + kStatsUpdateMilliseconds] += updated - reduced;
  }
  stats[statsBase + kStatsLiveTensors] = views.engine.liveTensors();
  return { lossSums, correct, skipped, stoppedAt };
}

/**
 * Copies the samples at `count` positions from `first` of `positions` (the
 * epoch order, or an evaluation set's indices; absent: the positions
 * themselves) into scratch rows: pixels as stored, labels one-hot.
 */
function gatherRows(
  views: SessionViews,
  samples: SampleViews,
  positions: Int32Array | undefined,
  first: number,
  count: number,
): ShardRows {
  const { inputSize, outputSize } = shapeOf(views.layout);
  const pixelType: PixelType = samples.pixels instanceof Uint8Array ? 'uint8' : 'float32';
  const rows = ensureRows(views, pixelType, count);
  rows.targets.fill(0, 0, count * outputSize);
  for (let row = 0; row < count; row++) {
    const sample = positions === undefined ? first + row : positions[first + row];
    rows.inputs.set(
      samples.pixels.subarray(sample * inputSize, (sample + 1) * inputSize),
      row * inputSize,
    );
    rows.targets[row * outputSize + samples.labels[sample]] = 1;
  }
  rows.count = count;
  return rows;
}

function shapeOf(layout: ParameterLayout): { inputSize: number; outputSize: number } {
  return {
    inputSize: layout.layers[0].inputSize,
    outputSize: layout.layers[layout.layers.length - 1].outputSize,
  };
}

function scratchRows(pixelType: PixelType, capacity: number, shape: SessionMemory['shape']) {
  const size = capacity * shape.inputSize;
  return {
    inputs: pixelType === 'uint8' ? new Uint8Array(size) : new Float32Array(size),
    targets: new Float32Array(capacity * shape.outputSize),
    count: 0,
  };
}

/** This thread's scratch rows, replaced when they are too small or of the other pixel type. */
function ensureRows(views: SessionViews, pixelType: PixelType, count: number): ShardRows {
  const { inputSize, outputSize } = shapeOf(views.layout);
  const { inputs } = views.rows;
  const sameType = inputs instanceof Uint8Array === (pixelType === 'uint8');
  if (!sameType || inputs.length < count * inputSize) {
    const capacity = Math.max(count, Math.floor(inputs.length / inputSize));
    views.rows = scratchRows(pixelType, capacity, { inputSize, outputSize, hiddenSizes: [] });
  }
  return views.rows;
}

async function evaluate(task: EvaluateTask, views: SessionViews): Promise<EvaluateResult> {
  const samples = sampleViews(task.samples);
  const predictions = new Int32Array(task.end - task.start);
  const chunk = 512;
  let lossSum = 0;
  let correct = 0;

  for (let first = task.start; first < task.end; first += chunk) {
    const count = Math.min(chunk, task.end - first);
    const rows = gatherRows(views, samples, samples.indices, first, count);
    const loss = await views.engine.evaluate(
      rows,
      views.parameters,
      predictions.subarray(first - task.start),
    );
    lossSum += loss.lossSum;
    correct += loss.correct;
  }
  return { lossSum, correct, predictions };
}
