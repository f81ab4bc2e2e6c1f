// The native gradient engine: the MLP's training and evaluation graphs (see
// onnx-graph.ts) run by onnxruntime-node's CPU build, one single-threaded
// session per worker, so the pool's threads are the only parallelism.
//
// onnxruntime-node accepts tensors over ordinary ArrayBuffers only; a view of
// a SharedArrayBuffer is refused with "Invalid argument". So each call copies
// the shared parameters into a private replica and copies the gradients it
// wrote privately into the worker's shared slot: two copies of the parameter
// vector per step (0.75 MB each for the 188k-parameter textbook MLP). The
// shard's rows are gathered into private memory by the worker (see
// worker.ts), 8-bit pixels staying 8-bit until the graph casts them, and every other
// tensor, graph outputs included, is a view of buffers allocated once here,
// so a step allocates nothing large.

import type { InferenceSession, Tensor } from 'onnxruntime-node';

import { EngineError } from '../shared/errors.js';
import type { ModelShape, ParameterLayout } from '../shared/layout.js';
import type { PixelType } from '../shared/messages.js';
import type { GradientEngine, ShardLoss, ShardRows } from './engine.js';
import { evaluationGraph, gradientNames, parameterNames, trainingGraph } from './onnx-graph.js';

type Ort = typeof import('onnxruntime-node');

let loading: Promise<Ort> | undefined;

/** Loads onnxruntime-node once per thread, with a clear error when it cannot load. */
export function loadOnnxRuntime(): Promise<Ort> {
  loading ??= importOnnxRuntime();
  return loading;
}

async function importOnnxRuntime(): Promise<Ort> {
  if (process.env.SYNCGRAD_TEST_FAULT === 'onnx-unavailable') {
    throw new EngineError(
      'onnxruntime-node is switched off by SYNCGRAD_TEST_FAULT=onnx-unavailable',
    );
  }
  const moduleName = 'onnxruntime-node';
  try {
    const module = (await import(moduleName)) as Ort & { default?: Ort };
    return module.default ?? module;
  } catch (error) {
    const text = error instanceof Error ? error.message.split('\n')[0] : String(error);
    if (/Cannot find (module|package)/.test(text)) {
      throw new EngineError(
        `the optional package ${moduleName} is not installed; install it with ` +
          `'ONNXRUNTIME_NODE_INSTALL=skip npm install ${moduleName}'`,
      );
    }
    throw new EngineError(`${moduleName} failed to load its native library: ${text}`);
  }
}

const kSessionOptions: InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

function pixelTypeOf(rows: ShardRows): PixelType {
  return rows.inputs instanceof Uint8Array ? 'uint8' : 'float32';
}

export class OnnxEngine implements GradientEngine {
  /** Private replica of the parameters, refreshed from shared memory per call. */
  private readonly parameters: Float32Array;
  /** Private gradients, laid out like the parameters; the graph writes here. */
  private readonly gradientValues: Float32Array;
  private readonly parameterFeeds: Record<string, Tensor> = {};
  private readonly lossSum = new Float32Array(1);
  private readonly correct = new Float32Array(1);
  /** The training graph's outputs: the two scalars and every gradient, made once. */
  private readonly trainingFetches: Record<string, Tensor>;
  /**
   * Sessions by graph and pixel type, each made when first needed: a run
   * trains on one pixel type, and its test set may bring the other.
   */
  private readonly sessions = new Map<string, Promise<InferenceSession>>();

  private constructor(
    private readonly ort: Ort,
    private readonly shape: ModelShape,
    private readonly layout: ParameterLayout,
  ) {
    this.parameters = new Float32Array(layout.count);
    this.gradientValues = new Float32Array(layout.count);
    this.trainingFetches = {
      loss_sum: new ort.Tensor('float32', this.lossSum, []),
      correct: new ort.Tensor('float32', this.correct, []),
    };
    layout.layers.forEach((layer, index) => {
      const kernelShape = [layer.outputSize, layer.inputSize];
      const parameters = parameterNames(index);
      const gradients = gradientNames(index);
      this.parameterFeeds[parameters.kernel] = this.view(
        this.parameters,
        layer.kernelOffset,
        kernelShape,
      );
      this.parameterFeeds[parameters.bias] = this.view(this.parameters, layer.biasOffset, [
        layer.outputSize,
        1,
      ]);
      this.trainingFetches[gradients.kernel] = this.view(
        this.gradientValues,
        layer.kernelOffset,
        kernelShape,
      );
      this.trainingFetches[gradients.bias] = this.view(this.gradientValues, layer.biasOffset, [
        layer.outputSize,
      ]);
    });
  }

  /** An engine whose training session for `pixelType` is ready before the first step. */
  static async create(
    shape: ModelShape,
    layout: ParameterLayout,
    pixelType: PixelType,
  ): Promise<OnnxEngine> {
    const engine = new OnnxEngine(await loadOnnxRuntime(), shape, layout);
    await engine.session('train', pixelType);
    return engine;
  }

  async gradients(
    rows: ShardRows,
    parameters: Float32Array,
    gradients: Float32Array,
  ): Promise<ShardLoss> {
    const started = performance.now();
    this.parameters.set(parameters.subarray(0, this.layout.count));
    const copiedIn = performance.now();
    const training = await this.session('train', pixelTypeOf(rows));
    await training.run(this.feeds(rows), this.trainingFetches);
    const computed = performance.now();
    gradients.set(this.gradientValues);
    const copyMilliseconds = copiedIn - started + (performance.now() - computed);
    return { lossSum: this.lossSum[0], correct: this.correct[0], copyMilliseconds };
  }

  async evaluate(
    rows: ShardRows,
    parameters: Float32Array,
    predictions: Int32Array,
  ): Promise<ShardLoss> {
    this.parameters.set(parameters.subarray(0, this.layout.count));
    const predicted = new Int32Array(rows.count);
    const evaluation = await this.session('evaluate', pixelTypeOf(rows));
    await evaluation.run(this.feeds(rows), {
      loss_sum: new this.ort.Tensor('float32', this.lossSum, []),
      correct: new this.ort.Tensor('float32', this.correct, []),
      predictions: new this.ort.Tensor('int32', predicted, [rows.count]),
    });
    predictions.set(predicted);
    return { lossSum: this.lossSum[0], correct: this.correct[0], copyMilliseconds: 0 };
  }

  liveTensors(): number {
    return 0;
  }

  async dispose(): Promise<void> {
    const sessions = await Promise.all(this.sessions.values());
    this.sessions.clear();
    await Promise.all(sessions.map((session) => session.release()));
  }

  private session(graph: 'train' | 'evaluate', pixelType: PixelType): Promise<InferenceSession> {
    const key = `${graph} ${pixelType}`;
    let session = this.sessions.get(key);
    if (session === undefined) {
      const bytes =
        graph === 'train'
          ? trainingGraph(this.shape, pixelType)
          : evaluationGraph(this.shape, pixelType);
      session = this.ort.InferenceSession.create(bytes, kSessionOptions);
      this.sessions.set(key, session);
    }
    return session;
  }

  private feeds(rows: ShardRows): Record<string, Tensor> {
    const inputSize = this.layout.layers[0].inputSize;
    const outputSize = this.layout.layers[this.layout.layers.length - 1].outputSize;
    const pixels = this.private(rows.inputs.subarray(0, rows.count * inputSize));
    const targets = this.private(rows.targets.subarray(0, rows.count * outputSize));
    return {
      ...this.parameterFeeds,
      inputs:
        pixels instanceof Uint8Array
          ? new this.ort.Tensor('uint8', pixels, [rows.count, inputSize])
          : new this.ort.Tensor('float32', pixels, [rows.count, inputSize]),
      targets: new this.ort.Tensor('float32', targets, [rows.count, outputSize]),
    };
  }

  /** `values` itself, or a copy when it lives in shared memory, which onnxruntime refuses. */
  private private<T extends Uint8Array | Float32Array>(values: T): T {
    if (!(values.buffer instanceof SharedArrayBuffer)) return values;
    return values.slice() as T;
  }

  private view(values: Float32Array, offset: number, dims: number[]): Tensor {
    const size = dims.reduce((product, dim) => product * dim, 1);
    return new this.ort.Tensor('float32', values.subarray(offset, offset + size), dims);
  }
}
