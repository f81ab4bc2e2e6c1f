// Evaluation of a saved model with TensorFlow.js itself: the model folder is
// loaded with tf.loadLayersModel and run with model.predict, independently of
// the engine that trained it.

import * as tf from '@tensorflow/tfjs';

import { DatasetError } from '../shared/errors.js';
import { pixelDivisor } from '../shared/images.js';
import type { LabelledImages } from '../shared/images.js';
import { evaluationReport } from './metrics.js';
import type { EvaluationReport } from './metrics.js';
import type { LoadedModel } from './model-io.js';

/** Uses the wasm backend in this thread when it loads, the cpu backend otherwise. */
export async function useFastestLocalBackend(): Promise<string> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    if (await tf.setBackend('wasm')) return 'wasm';
  } catch {
    // the pure JavaScript backend below always works
  }
  await tf.setBackend('cpu');
  return 'cpu';
}

/** Accuracy and loss of a loaded model on labelled images (8-bit pixels scaled by 1/255). */
export function evaluateLoadedModel(
  model: LoadedModel,
  images: LabelledImages,
  source: EvaluationReport['source'] = 'test',
): EvaluationReport {
  const expected = model.inputShape.join('x');
  const found = `${images.height}x${images.width}x${images.channels}`;
  if (expected !== found) {
    throw new DatasetError(
      images.source,
      `The model expects ${expected} images but ${images.source} has ${found}. Evaluate it on ` +
        `data like the data it was trained on.`,
    );
  }
  if (images.classNames.join('\n') !== model.classNames.join('\n')) {
    throw new DatasetError(
      images.source,
      `The model was trained on classes [${model.classNames.join(', ')}] but ${images.source} ` +
        `has [${images.classNames.join(', ')}].`,
    );
  }

  const inputSize = images.height * images.width * images.channels;
  const predictions = new Int32Array(images.count);
  const chunk = 1024;
  const divisor = pixelDivisor(images.pixels);
  let lossSum = 0;
  for (let first = 0; first < images.count; first += chunk) {
    const count = Math.min(chunk, images.count - first);
    const inputs = new Float32Array(count * inputSize);
    for (let i = 0; i < inputs.length; i++)
      inputs[i] = images.pixels[first * inputSize + i] / divisor;
    const labels = images.labels.subarray(first, first + count);
    const [predicted, losses] = tf.tidy(() => {
      const batch = tf.tensor4d(inputs, [count, images.height, images.width, images.channels]);
      const probabilities = model.layers.predict(batch) as tf.Tensor2D;
      const targets = tf.oneHot(tf.tensor1d(labels, 'int32'), model.classNames.length);
      // Keras's categorical cross-entropy on probabilities clips them to [1e-7, 1 - 1e-7]
      const clipped = tf.clipByValue(probabilities, 1e-7, 1 - 1e-7);
      const loss = tf.neg(tf.sum(tf.mul(targets, tf.log(clipped))));
      return [tf.argMax(probabilities, 1), loss];
    });
    predictions.set(predicted.dataSync() as Int32Array, first);
    lossSum += losses.dataSync()[0];
    tf.dispose([predicted, losses]);
  }
  return evaluationReport(source, lossSum, predictions, images.labels, model.classNames);
}
