// The peer syncgrad is measured against: tfjs-layers `model.fit` of the same
// MLP, batch and backend on one thread. Prints one JSON line with the
// training throughput and the process's peak resident memory.
//
// usage: node dist/scripts/fit-baseline.js <dataset> <steps> <batch> <backend>

import * as tf from '@tensorflow/tfjs';

import { loadDataset } from '../src/coordinator/data/index.js';
import { buildLayersModel } from '../src/coordinator/model-io.js';
import { initializeParameters } from '../src/coordinator/session.js';
import { parameterLayout } from '../src/shared/layout.js';

const [dataset = 'fashion-mnist', stepsText = '300', batchText = '32', backend = 'wasm'] =
  process.argv.slice(2);
const steps = Number(stepsText);
const batchSize = Number(batchText);

tf.env().set('PROD', true);
if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
await tf.setBackend(backend);

// the same data, normalization, model and initialization as a syncgrad run
const { train } = await loadDataset({ dataset, dataDir: process.env.SYNCGRAD_DATA_DIR });
const count = Math.min(train.count, steps * batchSize);
const inputSize = train.height * train.width * train.channels;
const pixels = new Float32Array(count * inputSize);
for (let i = 0; i < pixels.length; i++) pixels[i] = train.pixels[i] / 255;
const shape = { inputSize, hiddenSizes: [200, 150], outputSize: train.classNames.length };
const parameters = new Float32Array(parameterLayout(shape).count);
initializeParameters(shape, 42, parameters);
const model = buildLayersModel({
  shape,
  inputShape: [train.height, train.width, train.channels],
  classNames: train.classNames,
  parameters,
});
model.compile({
  optimizer: tf.train.adam(0.0005),
  loss: 'categoricalCrossentropy',
  metrics: ['accuracy'],
});

const x = tf.tensor4d(pixels, [count, train.height, train.width, train.channels]);
const y = tf.oneHot(tf.tensor1d(train.labels.subarray(0, count), 'int32'), shape.outputSize);
const started = performance.now();
await model.fit(x, y, { batchSize, epochs: 1, shuffle: true, verbose: 0 });
const seconds = (performance.now() - started) / 1000;

process.stdout.write(
  JSON.stringify({
    samplesPerSecond: count / seconds,
    seconds,
    samples: count,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  }) + '\n',
);
