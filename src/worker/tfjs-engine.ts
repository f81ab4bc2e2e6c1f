// The MLP's forward and backward pass written out with TensorFlow.js ops.
//
// The backward pass is explicit rather than taken from tf.grads because the
// wasm backend's matMul runs about ten times slower when either operand is
// flagged as transposed, and the automatic gradient of a dense layer uses
// exactly those products. Here every product is a plain matMul and the only
// transposes are of activation-sized matrices (shard × width), never of a
// weight matrix: dW = (Xᵀ) · dZ and dX = (W · dZᵀ)ᵀ.

import type { Tensor, Tensor2D } from '@tensorflow/tfjs';

import type { ParameterLayout } from '../shared/layout.js';
import type { Tf } from './backend.js';
import type { GradientEngine, ShardLoss, ShardRows } from './engine.js';

interface DenseWeights {
  kernel: Tensor2D;
  bias: Tensor;
}

export class TfjsEngine implements GradientEngine {
  constructor(
    private readonly tf: Tf,
    private readonly layout: ParameterLayout,
  ) {}

  gradients(rows: ShardRows, parameters: Float32Array, gradients: Float32Array): ShardLoss {
    const tf = this.tf;
    const layers = this.layout.layers;
    const outputs = tf.tidy(() => {
      const weights = this.upload(parameters);
      const { inputs, targets } = this.rowTensors(rows);

      // forward, keeping every layer's input for the backward pass
      const layerInputs: Tensor2D[] = [inputs];
      let activation = inputs;
      for (let index = 0; index < layers.length; index++) {
        const z = tf.add(tf.matMul(activation, weights[index].kernel), weights[index].bias) as Tensor2D;
        activation = index + 1 < layers.length ? tf.relu(z) : z;
        layerInputs.push(activation);
      }
      const logits = activation;
      const logProbabilities = tf.logSoftmax(logits);
      const lossSum = tf.neg(tf.sum(tf.mul(targets, logProbabilities)));
      const correct = this.countCorrect(logits, targets);

      // backward: softmax with cross-entropy gives dLoss/dLogits = p - y
      const result: Tensor[] = [lossSum, correct];
      let dz = tf.sub(tf.exp(logProbabilities), targets) as Tensor2D;
      const layerGradients: Tensor[][] = [];
      for (let index = layers.length - 1; index >= 0; index--) {
        const input = layerInputs[index];
        const kernelGradient = tf.matMul(tf.transpose(input), dz);
        const biasGradient = tf.sum(dz, 0);
        layerGradients[index] = [kernelGradient, biasGradient];
        if (index === 0) break;
        const dInput = tf.transpose(tf.matMul(weights[index].kernel, tf.transpose(dz)));
        // ReLU passes gradient where its output was positive
        dz = tf.mul(dInput, tf.step(input)) as Tensor2D;
      }
      for (const pair of layerGradients) result.push(...pair);
      return result;
    });

    // read the gradients out into the worker's slot, then free every tensor
    layers.forEach((layer, index) => {
      gradients.set(outputs[2 + 2 * index].dataSync() as Float32Array, layer.kernelOffset);
      gradients.set(outputs[3 + 2 * index].dataSync() as Float32Array, layer.biasOffset);
    });
    const loss = { lossSum: outputs[0].dataSync()[0], correct: outputs[1].dataSync()[0] };
    tf.dispose(outputs);
    return loss;
  }

  evaluate(rows: ShardRows, parameters: Float32Array, predictions: Int32Array): ShardLoss {
    const tf = this.tf;
    const layers = this.layout.layers;
    const outputs = tf.tidy(() => {
      const weights = this.upload(parameters);
      const { inputs, targets } = this.rowTensors(rows);
      let activation = inputs;
      for (let index = 0; index < layers.length; index++) {
        const z = tf.add(tf.matMul(activation, weights[index].kernel), weights[index].bias) as Tensor2D;
        activation = index + 1 < layers.length ? tf.relu(z) : z;
      }
      const lossSum = tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(activation))));
      return [lossSum, this.countCorrect(activation, targets), tf.argMax(activation, 1)];
    });
    predictions.set(outputs[2].dataSync() as Int32Array);
    const loss = { lossSum: outputs[0].dataSync()[0], correct: outputs[1].dataSync()[0] };
    tf.dispose(outputs);
    return loss;
  }

  liveTensors(): number {
    return this.tf.memory().numTensors;
  }

  private upload(parameters: Float32Array): DenseWeights[] {
    return this.layout.layers.map((layer) => ({
      kernel: this.tf.tensor2d(
        parameters.subarray(layer.kernelOffset, layer.biasOffset),
        [layer.inputSize, layer.outputSize],
      ),
      bias: this.tf.tensor1d(parameters.subarray(layer.biasOffset, layer.biasOffset + layer.outputSize)),
    }));
  }

  private rowTensors(rows: ShardRows): { inputs: Tensor2D; targets: Tensor2D } {
    const first = this.layout.layers[0];
    const last = this.layout.layers[this.layout.layers.length - 1];
    return {
      inputs: this.tf.tensor2d(rows.inputs.subarray(0, rows.count * first.inputSize), [
        rows.count,
        first.inputSize,
      ]),
      targets: this.tf.tensor2d(rows.targets.subarray(0, rows.count * last.outputSize), [
        rows.count,
        last.outputSize,
      ]),
    };
  }

  private countCorrect(logits: Tensor2D, targets: Tensor2D): Tensor {
    const tf = this.tf;
    return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(targets, 1)), 'float32'));
  }
}
