// The explicit backward pass of each engine against TensorFlow.js's automatic
// differentiation (tf.grads) of the same model on the pure JavaScript backend,
// and the shape of the onnx engine's graph.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { parameterLayout } from '../src/shared/layout.js';
import type { ModelShape } from '../src/shared/layout.js';
import { loadBackend } from '../src/worker/backend.js';
import type { GradientEngine } from '../src/worker/engine.js';
import { OnnxEngine } from '../src/worker/onnx-engine.js';
import { trainingGraph } from '../src/worker/onnx-graph.js';
import { TfjsEngine } from '../src/worker/tfjs-engine.js';
import onnxProto from 'onnx-proto';
import { randomRows, randomParameters } from './helpers/synthetic.js';

/** Summed cross-entropy of the MLP and its gradient, by tf.grads on the cpu backend. */
async function referenceGradients(
  shape: ModelShape,
  parameters: Float32Array,
  inputs: Float32Array,
  targets: Float32Array,
  count: number,
): Promise<{ loss: number; gradients: Float32Array }> {
  await tf.setBackend('cpu');
  const layout = parameterLayout(shape);
  const flat = tf.tensor1d(parameters);
  const x = tf.tensor2d(inputs.subarray(0, count * shape.inputSize), [count, shape.inputSize]);
  const y = tf.tensor2d(targets.subarray(0, count * shape.outputSize), [count, shape.outputSize]);
  const loss = (vector: tf.Tensor) => {
    let activation: tf.Tensor = x;
    layout.layers.forEach((layer, index) => {
      // kernels are stored output-major: one row of inputs per output unit
      const kernel = vector
        .slice(layer.kernelOffset, layer.biasOffset - layer.kernelOffset)
        .reshape([layer.outputSize, layer.inputSize])
        .transpose();
      const bias = vector.slice(layer.biasOffset, layer.outputSize);
      const z = tf.add(tf.matMul(activation, kernel), bias);
      activation = index + 1 < layout.layers.length ? tf.relu(z) : z;
    });
    return tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(activation))));
  };
  const [gradient] = tf.grads(loss)([flat]);
  const value = tf.tidy(() => loss(flat).dataSync()[0]);
  const result = { loss: value, gradients: gradient.dataSync() as Float32Array };
  tf.dispose([flat, x, y, gradient]);
  return result;
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

const kShapes: ModelShape[] = [
  { inputSize: 13, hiddenSizes: [7, 5], outputSize: 4 },
  { inputSize: 784, hiddenSizes: [200, 150], outputSize: 10 },
  { inputSize: 9, hiddenSizes: [6], outputSize: 3 },
];

const kEngines: { name: string; create: (shape: ModelShape) => Promise<GradientEngine> }[] = [
  {
    name: 'onnx engine',
    create: (shape) => OnnxEngine.create(shape, parameterLayout(shape), 'float32'),
  },
  ...(['wasm', 'cpu'] as const).map((backend) => ({
    name: `tfjs engine (${backend})`,
    create: async (shape: ModelShape) => {
      const engineTf = await loadBackend(backend);
      await engineTf.setBackend(backend);
      return new TfjsEngine(engineTf, parameterLayout(shape));
    },
  })),
];

for (const { name, create } of kEngines) {
  for (const shape of kShapes) {
    test(`${name} gradients of a ${shape.inputSize}-${shape.hiddenSizes.join('-')}-${shape.outputSize} shard match tf.grads within 1e-5`, async () => {
      const layout = parameterLayout(shape);
      const parameters = randomParameters(layout, 7);
      const rows = randomRows(shape, 16, 11);

      const engine = await create(shape);
      const gradients = new Float32Array(layout.count);
      const tensorsBefore = engine.liveTensors();
      const loss = await engine.gradients(rows, parameters, gradients);
      const tensorsAfter = engine.liveTensors();
      await engine.dispose();
      const reference = await referenceGradients(
        shape,
        parameters,
        rows.inputs as Float32Array,
        rows.targets,
        rows.count,
      );

      assert.ok(
        Math.abs(loss.lossSum - reference.loss) <= 1e-5 * Math.max(1, reference.loss),
        `loss ${loss.lossSum} vs ${reference.loss}`,
      );
      const difference = maxAbsDifference(gradients, reference.gradients);
      assert.ok(difference <= 1e-5, `largest gradient difference ${difference}`);
      assert.ok(maxAbsDifference(gradients, new Float32Array(layout.count)) > 1e-3);
      assert.equal(tensorsAfter, tensorsBefore, 'the engine must free every tensor it creates');
    });
  }
}

test('the onnx engine reads gradients out of shared memory parameters and writes them into it', async () => {
  const shape = kShapes[0];
  const layout = parameterLayout(shape);
  const shared = new Float32Array(new SharedArrayBuffer(layout.count * 4));
  shared.set(randomParameters(layout, 7));
  const slot = new Float32Array(new SharedArrayBuffer(layout.count * 4));
  const rows = randomRows(shape, 5, 3);
  const engine = await OnnxEngine.create(shape, layout, 'float32');
  const loss = await engine.gradients(rows, shared, slot);
  await engine.dispose();

  const reference = await referenceGradients(
    shape,
    shared,
    rows.inputs as Float32Array,
    rows.targets,
    5,
  );
  assert.ok(maxAbsDifference(slot, reference.gradients) <= 1e-5);
  assert.ok(loss.copyMilliseconds > 0, 'the copies to and from shared memory are timed');
});

test('the training graph transposes operands by Gemm attributes, never by Transpose nodes', () => {
  const model = onnxProto.onnx.ModelProto.decode(
    trainingGraph({ inputSize: 784, hiddenSizes: [200, 150], outputSize: 10 }),
  );
  const nodes = model.graph!.node!;
  const transposes = nodes.filter((node) => node.opType === 'Transpose');
  // the one Transpose turns the [rows, classes] one-hot targets into columns
  assert.deepEqual(
    transposes.map((node) => node.input),
    [['targets']],
  );
  const gemms = nodes.filter((node) => node.opType === 'Gemm');
  assert.equal(
    gemms.length,
    3 + 3 + 2,
    'a forward and a kernel-gradient product per layer, dA for two',
  );
});
