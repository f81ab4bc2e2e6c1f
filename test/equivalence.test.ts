// Data-parallel training must train the model one thread would: the same seed
// and global batch give the same parameters (up to float rounding) and the
// same loss curve for any worker count, and the same run twice gives the same
// bits. Every test runs for both gradient engines.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { train } from '../src/coordinator/trainer.js';
import type { TrainOptions } from '../src/coordinator/options.js';
import { initializeParameters } from '../src/coordinator/session.js';
import { kStreamShuffle, randomStream, shuffleInPlace } from '../src/coordinator/random.js';
import { parameterLayout } from '../src/shared/layout.js';
import {
  applyUpdate,
  createModelMemory,
  optimizerConfig,
  parameterView,
  reduceGradients,
  slotView,
} from '../src/shared/optimizers.js';
import type { EngineName } from '../src/shared/messages.js';
import type { GradientEngine } from '../src/worker/engine.js';
import { OnnxEngine } from '../src/worker/onnx-engine.js';
import { loadBackend } from '../src/worker/backend.js';
import { TfjsEngine } from '../src/worker/tfjs-engine.js';
import { syntheticImages } from './helpers/synthetic.js';

const images = syntheticImages(1000, 10, 5);
const common: TrainOptions = { dataset: images, validationSplit: 0, seed: 9, batchSize: 32 };

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

async function createEngine(
  name: EngineName,
  layout: ReturnType<typeof parameterLayout>,
): Promise<GradientEngine> {
  const shape = { inputSize: 784, hiddenSizes: [200, 150], outputSize: 10 };
  if (name === 'onnx') return OnnxEngine.create(shape, layout, 'float32');
  const tf = await loadBackend('wasm');
  await tf.setBackend('wasm');
  return new TfjsEngine(tf, layout);
}

for (const engineName of ['onnx', 'tfjs'] as const) {
  const base: TrainOptions = { ...common, engine: engineName };

  test(`${engineName} engine: 1 and 2 workers give parameters within 1e-5 after 10 steps`, async () => {
    const one = await train({ ...base, workers: 1, maxSteps: 10 });
    const two = await train({ ...base, workers: 2, maxSteps: 10 });

    const difference = maxAbsDifference(one.model.parameters, two.model.parameters);
    assert.ok(difference <= 1e-5, `largest parameter difference ${difference}`);
    assert.equal(one.steps, 10);
  });

  test(`${engineName} engine: 1, 2 and 3 workers give loss curves within 1e-3 relative over 100 steps`, async () => {
    // 1000 images in batches of 32: step 31 of each epoch is a partial batch of 8
    const one = await train({ ...base, workers: 1, maxSteps: 100 });
    for (const workers of [2, 3]) {
      const many = await train({ ...base, workers, maxSteps: 100 });
      assert.equal(many.stepLosses.length, 100);
      many.stepLosses.forEach((loss, step) => {
        const relative = Math.abs(loss - one.stepLosses[step]) / Math.abs(one.stepLosses[step]);
        assert.ok(
          relative <= 1e-3,
          `${workers} workers, step ${step}: loss ${loss} vs ${one.stepLosses[step]}`,
        );
      });
    }
    assert.ok(
      one.stepLosses[99] < one.stepLosses[0] * 0.5,
      'training must make progress on learnable data',
    );
  });

  test(`${engineName} engine: the same run twice gives the same paramsDigest`, async () => {
    const first = await train({ ...base, workers: 2, maxSteps: 40 });
    const second = await train({ ...base, workers: 2, maxSteps: 40 });
    assert.equal(first.paramsDigest, second.paramsDigest);
    const otherSeed = await train({ ...base, workers: 2, maxSteps: 40, seed: 10 });
    assert.notEqual(otherSeed.paramsDigest, first.paramsDigest);
  });

  test(`${engineName} engine: uneven shards (batch 7 on 2 workers, batch 5 on 3) still match a single-thread loop`, async () => {
    // the reference: one engine, the whole global batch as one shard, mean gradient
    const shape = { inputSize: 784, hiddenSizes: [200, 150], outputSize: 10 };
    const layout = parameterLayout(shape);
    const engine = await createEngine(engineName, layout);

    for (const [batchSize, workers] of [
      [7, 2],
      [5, 3],
    ]) {
      const steps = 12;
      const config = optimizerConfig('adam', 0.0005);
      const model = createModelMemory(layout, config, 1);
      const parameters = parameterView(model, layout.count);
      initializeParameters(shape, 9, parameters);
      const order = Int32Array.from({ length: images.count }, (_, index) => index);
      shuffleInPlace(order, randomStream(9, kStreamShuffle));
      const gradients = slotView(model, 0, layout.count);
      for (let step = 0; step < steps; step++) {
        const inputs = new Float32Array(batchSize * 784);
        const targets = new Float32Array(batchSize * 10);
        for (let row = 0; row < batchSize; row++) {
          const sample = order[step * batchSize + row];
          for (let i = 0; i < 784; i++)
            inputs[row * 784 + i] = images.pixels[sample * 784 + i] / 255;
          targets[row * 10 + images.labels[sample]] = 1;
        }
        await engine.gradients({ inputs, targets, count: batchSize }, parameters, gradients);
        reduceGradients(model, 0, 0, layout.count, 1 / batchSize);
        applyUpdate(config, step + 1, model, 0, 0, layout.count);
      }

      const parallel = await train({ ...base, workers, batchSize, maxSteps: steps });
      const difference = maxAbsDifference(parallel.model.parameters, parameters);
      assert.ok(
        difference <= 1e-5,
        `batch ${batchSize} on ${workers} workers: largest difference ${difference}`,
      );
    }
    await engine.dispose();
  });
}
