// The native gradient engine: the MLP's training and evaluation graphs (see
// onnx-graph.ts) run by onnxruntime-node's CPU build, one single-threaded
// session per worker, so the pool's threads are the only parallelism.
//
// onnxruntime-node accepts tensors over ordinary ArrayBuffers only; a view of
// a SharedArrayBuffer is refused with "Invalid argument". So each call copies
// the shared parameters into a private replica and copies the gradients it
// wrote privately into the worker's shared slot: two copies of the parameter
// vector per step (0.75 MB each for the 188k-parameter textbook MLP). The
// shard's rows are gathered into private memory anyway, and every other
// tensor, graph outputs included, is a view of buffers allocated once here,
// so a step allocates nothing large.

import type { InferenceSession, Tensor } from 'onnxruntime-node';

import { EngineError } from '../shared/errors.js';
import type { ModelShape, ParameterLayout } from '../shared/layout.js';
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
  /** Private copies of evaluation rows, which arrive as views of shared memory. */
  private readonly copies = { inputs: new Float32Array(0), targets: new Float32Array(0) };

  private constructor(
    private readonly ort: Ort,
    private readonly layout: ParameterLayout,
    private readonly training: InferenceSession,
    private readonly evaluation: InferenceSession,
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

  static async create(shape: ModelShape, layout: ParameterLayout): Promise<OnnxEngine> {
    const ort = await loadOnnxRuntime();
    const [training, evaluation] = await Promise.all([
      ort.InferenceSession.create(trainingGraph(shape), kSessionOptions),
      ort.InferenceSession.create(evaluationGraph(shape), kSessionOptions),
    ]);
    return new OnnxEngine(ort, layout, training, evaluation);
  }

  async gradients(
    rows: ShardRows,
    parameters: Float32Array,
    gradients: Float32Array,
  ): Promise<ShardLoss> {
    const started = performance.now();
    this.parameters.set(parameters.subarray(0, this.layout.count));
    const copiedIn = performance.now();
    await this.training.run(this.feeds(rows), this.trainingFetches);
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
    await this.evaluation.run(this.feeds(rows), {
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
    await Promise.all([this.training.release(), this.evaluation.release()]);
  }

  private feeds(rows: ShardRows): Record<string, Tensor> {
    const inputSize = this.layout.layers[0].inputSize;
    const outputSize = this.layout.layers[this.layout.layers.length - 1].outputSize;
    return {
      ...this.parameterFeeds,
      inputs: this.view(this.private('inputs', rows.inputs), 0, [rows.count, inputSize]),
      targets: this.view(this.private('targets', rows.targets), 0, [rows.count, outputSize]),
    };
  }

  /** `values` itself, or a private copy when it lives in shared memory. */
  private private(name: 'inputs' | 'targets', values: Float32Array): Float32Array {
    if (!(values.buffer instanceof SharedArrayBuffer)) return values;
    let copy = this.copies[name];
    if (copy.length < values.length) {
      copy = new Float32Array(values.length);
      this.copies[name] = copy;
    }
    copy.set(values);
    return copy;
  }

  private view(values: Float32Array, offset: number, dims: number[]): Tensor {
    const size = dims.reduce((product, dim) => product * dim, 1);
    return new this.ort.Tensor('float32', values.subarray(offset, offset + size), dims);
  }
}
