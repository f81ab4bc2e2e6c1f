// The MLP's forward and backward pass, with every matrix product run by a
// TensorFlow.js matMul kernel and the cheap element-wise steps done in place
// on typed arrays.
//
// Three measured facts of the wasm backend shape this file.
// - matMul is about ten times slower when an operand is flagged transposed,
//   and the automatic gradient of a dense layer uses exactly those products.
//   So no product here is flagged; transposed operands are written out.
// - The right operand of a matMul is repacked by XNNPACK on every call with a
//   new tensor, which for the 784×200 kernel costs more than the product. So
//   kernels are stored output-major (K = Wᵀ, see layout.ts) and only ever
//   appear on the left, and the engine works with activations transposed, one
//   column per sample: zᵀ = K·aᵀ, dK = dZᵀ·a, dAᵀ = Kᵀ·dZᵀ. Only
//   activation-sized matrices are packed; Kᵀ of the upper, smaller layers is
//   written out by a loop, which costs less than packing K would.
// - Each op costs 10 to 130 µs of dispatch whatever its size, more than the
//   arithmetic of a bias, a ReLU or a softmax over one shard. So those run as
//   loops here, and a step costs 8 kernel calls instead of about 45.

import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import type { ParameterLayout } from '../shared/layout.js';
import type { Tf } from './backend.js';
import type { GradientEngine, ShardLoss, ShardRows } from './engine.js';

export class TfjsEngine implements GradientEngine {
  // Every intermediate array lives in a buffer kept from one step to the
  // next. Large fresh ArrayBuffers are mapped and unmapped per step, and
  // unmapping memory in a process of several busy threads interrupts all of
  // them, which measurably slowed two concurrent workers.
  private readonly buffers = new Map<string, Float32Array>();

  constructor(
    private readonly tf: Tf,
    private readonly layout: ParameterLayout,
  ) {}

  async gradients(
    rows: ShardRows,
    parameters: Float32Array,
    gradients: Float32Array,
  ): Promise<ShardLoss> {
    const layers = this.layout.layers;
    const count = rows.count;
    const kernels = this.uploadKernels(parameters);
    try {
      // forward, keeping each layer's input: aᵀ, one column per sample
      const columns = this.forward(rows, parameters, kernels);
      let deltaT = this.scratch('delta', count * layers[layers.length - 1].outputSize);
      const loss = softmaxCrossEntropy(columns[layers.length], rows.targets, count, deltaT);

      // backward from dZᵀ = softmax - target, summed over the shard
      for (let index = layers.length - 1; index >= 0; index--) {
        const layer = layers[index];
        const input = transpose(
          columns[index],
          layer.inputSize,
          count,
          this.scratch('input', count * layer.inputSize),
        );
        const kernelGradient = this.multiply(deltaT, [layer.outputSize, count], input, [
          count,
          layer.inputSize,
        ]);
        this.read(kernelGradient, gradients, layer.kernelOffset);
        this.tf.dispose(kernelGradient);
        rowSums(deltaT, layer.outputSize, count, gradients, layer.biasOffset);
        if (index === 0) break;

        // dAᵀ = Kᵀ·dZᵀ, then ReLU passes it where its output was positive
        const kernel = parameters.subarray(layer.kernelOffset, layer.biasOffset);
        const kernelT = transpose(
          kernel,
          layer.outputSize,
          layer.inputSize,
          this.scratch('kernel', kernel.length),
        );
        const product = this.multiply(kernelT, [layer.inputSize, layer.outputSize], deltaT, [
          layer.outputSize,
          count,
        ]);
        deltaT = this.scratch(`delta-${index}`, product.size);
        this.read(product, deltaT, 0);
        this.tf.dispose(product);
        reluBackward(deltaT, columns[index]);
      }
      return loss;
    } finally {
      this.tf.dispose(kernels);
    }
  }

  async evaluate(
    rows: ShardRows,
    parameters: Float32Array,
    predictions: Int32Array,
  ): Promise<ShardLoss> {
    const kernels = this.uploadKernels(parameters);
    try {
      const columns = this.forward(rows, parameters, kernels);
      return softmaxCrossEntropy(
        columns[this.layout.layers.length],
        rows.targets,
        rows.count,
        undefined,
        predictions,
      );
    } finally {
      this.tf.dispose(kernels);
    }
  }

  liveTensors(): number {
    return this.tf.memory().numTensors;
  }

  async dispose(): Promise<void> {
    this.buffers.clear();
  }

  /** Every layer's input transposed, then the logits transposed: `layers + 1` arrays. */
  private forward(rows: ShardRows, parameters: Float32Array, kernels: Tensor2D[]): Float32Array[] {
    const layers = this.layout.layers;
    const count = rows.count;
    const inputs = rows.inputs.subarray(0, count * layers[0].inputSize);
    const scratch = this.scratch('columns', inputs.length);
    const columns = [
      inputs instanceof Uint8Array
        ? transposePixels(inputs, count, layers[0].inputSize, scratch)
        : transpose(inputs, count, layers[0].inputSize, scratch),
    ];
    layers.forEach((layer, index) => {
      const product = this.multiply(
        kernels[index],
        [layer.outputSize, layer.inputSize],
        columns[index],
        [layer.inputSize, count],
      );
      const z = this.scratch(`z-${index}`, product.size);
      this.read(product, z, 0);
      this.tf.dispose(product);
      addBias(
        z,
        parameters.subarray(layer.biasOffset, layer.biasOffset + layer.outputSize),
        count,
        index + 1 < layers.length,
      );
      columns.push(z);
    });
    return columns;
  }

  /** A kept buffer of `length` floats for one purpose; its contents are stale. */
  private scratch(purpose: string, length: number): Float32Array {
    let buffer = this.buffers.get(purpose);
    if (!buffer || buffer.length < length) {
      buffer = new Float32Array(length);
      this.buffers.set(purpose, buffer);
    }
    return buffer.subarray(0, length);
  }

  private uploadKernels(parameters: Float32Array): Tensor2D[] {
    return this.layout.layers.map((layer) =>
      this.tf.tensor2d(parameters.subarray(layer.kernelOffset, layer.biasOffset), [
        layer.outputSize,
        layer.inputSize,
      ]),
    );
  }

  /** a · b, with the arrays' shapes given; the caller disposes the result. */
  private multiply(
    a: Tensor2D | Float32Array,
    aShape: [number, number],
    b: Float32Array,
    bShape: [number, number],
  ): Tensor2D {
    const tf = this.tf;
    const left = a instanceof Float32Array ? tf.tensor2d(a, aShape) : a;
    const right = tf.tensor2d(b, bShape);
    const result = tf.matMul(left, right);
    if (left !== a) left.dispose();
    right.dispose();
    return result as Tensor2D;
  }

  /**
   * Copies a result into `out` at `offset`. On the wasm backend it reads the
   * backend's heap directly, saving dataSync's intermediate copy of up to
   * 600 KB per kernel gradient.
   */
  private read(tensor: Tensor, out: Float32Array, offset: number): void {
    const backend = this.tf.backend() as Partial<BackendWasm>;
    const heap = (backend.wasm as { HEAPF32?: Float32Array } | undefined)?.HEAPF32;
    if (backend.dataIdMap && heap) {
      const start =
        backend.dataIdMap.get(tensor.dataId).memoryOffset / Float32Array.BYTES_PER_ELEMENT;
      out.set(heap.subarray(start, start + tensor.size), offset);
    } else {
      out.set(tensor.dataSync() as Float32Array, offset);
    }
  }
}

/** Adds `bias[unit]` to row `unit` of the `units × count` matrix zᵀ, then ReLU when asked. */
function addBias(zT: Float32Array, bias: Float32Array, count: number, relu: boolean): void {
  for (let unit = 0; unit < bias.length; unit++) {
    const shift = bias[unit];
    for (let index = unit * count; index < (unit + 1) * count; index++) {
      const value = zT[index] + shift;
      zT[index] = relu && value < 0 ? 0 : value;
    }
  }
}

/**
 * Summed cross-entropy of softmax(logits) against one-hot targets (`count`
 * rows), from the transposed logits (`classes × count`), computed through
 * log-softmax for stability. Writes (softmax - target)ᵀ into `deltaT` and the
 * predicted classes into `predictions` when given.
 */
function softmaxCrossEntropy(
  logitsT: Float32Array,
  targets: Float32Array,
  count: number,
  deltaT?: Float32Array,
  predictions?: Int32Array,
): ShardLoss {
  const classes = logitsT.length / Math.max(1, count);
  let lossSum = 0;
  let correct = 0;
  for (let sample = 0; sample < count; sample++) {
    const row = sample * classes;
    let best = 0;
    let target = 0;
    for (let k = 1; k < classes; k++) {
      if (logitsT[k * count + sample] > logitsT[best * count + sample]) best = k;
      if (targets[row + k] > targets[row + target]) target = k;
    }
    const largest = logitsT[best * count + sample];
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(logitsT[k * count + sample] - largest);
    const logSum = Math.log(sum) + largest;
    for (let k = 0; k < classes; k++) {
      const logProbability = logitsT[k * count + sample] - logSum;
      lossSum -= targets[row + k] * logProbability;
      if (deltaT) deltaT[k * count + sample] = Math.exp(logProbability) - targets[row + k];
    }
    if (best === target) correct++;
    if (predictions) predictions[sample] = best;
  }
  return { lossSum, correct, copyMilliseconds: 0 };
}

/** Writes into `result` the `columns × rows` transpose of a row-major `rows × columns` matrix. */
function transpose(
  values: Float32Array,
  rows: number,
  columns: number,
  result: Float32Array,
): Float32Array {
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++)
      result[column * rows + row] = values[row * columns + column];
  }
  return result;
}

/**
 * The transpose of a `rows × columns` matrix of 8-bit pixels, each divided by
 * 255: the same floats the onnx engine's graph computes (a float32 division
 * and a double one rounded to float32 agree for every 8-bit value).
 */
function transposePixels(
  values: Uint8Array,
  rows: number,
  columns: number,
  result: Float32Array,
): Float32Array {
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++)
      result[column * rows + row] = values[row * columns + column] / 255;
  }
  return result;
}

/** Sums each row of a `rows × columns` matrix into `out` from `offset`. */
function rowSums(
  values: Float32Array,
  rows: number,
  columns: number,
  out: Float32Array,
  offset: number,
): void {
  for (let row = 0; row < rows; row++) {
    let sum = 0;
    for (let index = row * columns; index < (row + 1) * columns; index++) sum += values[index];
    out[offset + row] = sum;
  }
}

/**
 * dZᵀ of the layer below, in place, from its dAᵀ and its ReLU output aᵀ: the
 * gradient passes where the output was positive, as ReLU's derivative is 1
 * there and 0 elsewhere.
 */
function reluBackward(inputGradientT: Float32Array, activationT: Float32Array): void {
  for (let index = 0; index < inputGradientT.length; index++) {
    if (!(activationT[index] > 0)) inputGradientT[index] = 0;
  }
}
