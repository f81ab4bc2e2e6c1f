// The single-core matrix-multiply rate of each engine, measured on one
// product the size of the first layer's, as the yardstick of how much of the
// engine's speed a training step achieves.

import type { MatMulResult, MatMulTask } from '../shared/messages.js';
import { productGraph } from './onnx-graph.js';

export async function measureMatMulRate(task: MatMulTask): Promise<MatMulResult> {
  const { m, k, n } = task;
  const a = Float32Array.from({ length: m * k }, (_, i) => ((i % 7) - 3) / 7);
  const b = Float32Array.from({ length: k * n }, (_, i) => ((i % 5) - 2) / 5);
  const multiply =
    task.engine === 'onnx' ? await onnxProduct(a, b, task) : await tfjsProduct(a, b, task);

  // warm up, then repeat for the requested time
  for (let i = 0; i < 5; i++) await multiply();
  let repeats = 0;
  const started = performance.now();
  const until = started + task.seconds * 1000;
  while (performance.now() < until || repeats < 5) {
    await multiply();
    repeats++;
  }
  const seconds = (performance.now() - started) / 1000;
  return { gflops: (2 * m * k * n * repeats) / seconds / 1e9, repeats };
}

async function onnxProduct(a: Float32Array, b: Float32Array, task: MatMulTask) {
  const ort = await (await import('./onnx-engine.js')).loadOnnxRuntime();
  const session = await ort.InferenceSession.create(productGraph(task.m, task.k, task.n), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const feeds = {
    a: new ort.Tensor('float32', a, [task.m, task.k]),
    b: new ort.Tensor('float32', b, [task.k, task.n]),
  };
  const fetches = {
    product: new ort.Tensor('float32', new Float32Array(task.m * task.n), [task.m, task.n]),
  };
  return async () => {
    await session.run(feeds, fetches);
  };
}

async function tfjsProduct(a: Float32Array, b: Float32Array, task: MatMulTask) {
  const tf = await (await import('./backend.js')).loadBackend(task.backend);
  const left = tf.tensor2d(a, [task.m, task.k]);
  const right = tf.tensor2d(b, [task.k, task.n]);
  return async () => {
    const product = tf.matMul(left, right);
    await product.data();
    product.dispose();
  };
}
