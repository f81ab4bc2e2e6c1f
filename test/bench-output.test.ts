// The bench's outputs: the SVG chart of throughput and efficiency, and the CSV
// table of every row and peer.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parse } from 'csv-parse/sync';

import { renderBenchChart } from '../src/coordinator/bench/chart.js';
import { benchCsv } from '../src/coordinator/bench/csv.js';
import type { BenchEngine, BenchRow, PeerRow } from '../src/coordinator/bench/types.js';

// A training step of the textbook MLP (188,660 parameters) costs about
// 6 × 188,660 = 1,131,960 floating-point operations per sample, forward and
// backward; the engine's single-core matrix multiply is taken as 50 GFLOP/s.
const kFlopsPerSample = 6 * 188_660;
const kCoreGflops = 50;

/** A row whose speedup and efficiency follow from its rate and the 1-worker rate. */
function row(
  kind: BenchRow['kind'],
  engine: BenchEngine,
  inputSize: number,
  globalBatch: number,
  workers: number,
  samplesPerSecond: number,
  oneWorkerRate: number,
): BenchRow {
  const speedup = samplesPerSecond / oneWorkerRate;
  const gflops = (samplesPerSecond * kFlopsPerSample) / 1e9;
  return {
    kind,
    engine,
    inputSize,
    globalBatch,
    workers,
    samplesPerSecond,
    speedup,
    efficiency: speedup / workers,
    ...(kind === 'measured' ? { gflops, fractionOfPeak: gflops / (workers * kCoreGflops) } : {}),
  };
}

// onnx, 784 inputs, batch 128: 1 worker 40,000 samples/s; 2 workers 70,000
// → speedup 1.75, efficiency 0.875; the cost model predicts 4 workers at
// 112,000 (2.8, 0.7) and 8 at 160,000 (4, 0.5).
// tfjs, 784 inputs, batch 128: 20,000 then 36,000 → 1.8, 0.9.
// onnx, 3072 inputs, batch 512: 12,000 then 21,000 → 1.75, 0.875; predicted
// 4 workers at 33,600 → 2.8, 0.7.
const rows: BenchRow[] = [
  row('measured', 'onnx', 784, 128, 1, 40_000, 40_000),
  {
    ...row('measured', 'onnx', 784, 128, 2, 70_000, 40_000),
    // a step of 128 samples at 70,000 samples/s takes 1.8286 ms
    breakdown: {
      gather: 0.1,
      compute: 1.2,
      wait: 0.2,
      allReduce: 0.25,
      update: 0.05,
      overhead: 0.0286,
    },
  },
  row('predicted', 'onnx', 784, 128, 4, 112_000, 40_000),
  row('predicted', 'onnx', 784, 128, 8, 160_000, 40_000),
  row('measured', 'tfjs', 784, 128, 1, 20_000, 20_000),
  row('measured', 'tfjs', 784, 128, 2, 36_000, 20_000),
  row('measured', 'onnx', 3072, 512, 1, 12_000, 12_000),
  row('measured', 'onnx', 3072, 512, 2, 21_000, 12_000),
  row('predicted', 'onnx', 3072, 512, 4, 33_600, 12_000),
];

const peers: PeerRow[] = [
  {
    peer: 'tfjs-node',
    configuration: 'model.fit, 1 thread',
    inputSize: 784,
    globalBatch: 128,
    samplesPerSecond: 15_000,
  },
  {
    peer: 'PyTorch',
    configuration: 'torch, 2 threads',
    inputSize: 784,
    globalBatch: 128,
    samplesPerSecond: 55_000,
  },
  {
    peer: 'PyTorch',
    configuration: 'torch, 2 threads',
    inputSize: 3072,
    globalBatch: 512,
    samplesPerSecond: 9_000,
  },
];

/** The point markers Vega drew, by their aria-label, which names panel and kind. */
function markers(svg: string, panel: 'throughput' | 'efficiency', kind: BenchRow['kind']) {
  return [...svg.matchAll(/<path\b[^>]*>/g)]
    .map((match) => match[0])
    .filter((path) => path.includes('aria-roledescription="point"'))
    .filter((path) => path.includes(`aria-label="${panel}, ${kind}: `));
}

/** Every opened element is closed, in order: enough to call the output well formed. */
function assertBalancedTags(svg: string): void {
  const open: string[] = [];
  for (const [tag, closing, name, selfClosing] of svg.matchAll(/<(\/?)([\w:-]+)[^>]*?(\/?)>/g)) {
    if (selfClosing) continue;
    if (!closing) open.push(name);
    else assert.equal(open.pop(), name, `unbalanced ${tag}`);
  }
  assert.deepEqual(open, []);
}

test('the chart is one SVG document with titled axes and a marker per row', async () => {
  const svg = await renderBenchChart(rows, peers);

  assert.ok(svg.startsWith('<svg'));
  assert.ok(svg.endsWith('</svg>'));
  assertBalancedTags(svg);
  for (const title of [
    'syncgrad training throughput',
    'workers (threads)',
    'throughput (samples/s)',
    'parallel efficiency',
    'Throughput, 784 inputs (MNIST)',
    'Parallel efficiency, 3072 inputs (CIFAR-10)',
  ]) {
    assert.ok(svg.includes(`>${title}</text>`), title);
  }
  // 6 measured and 3 predicted rows, each marked on both panels of its input size
  assert.equal(markers(svg, 'throughput', 'measured').length, 6);
  assert.equal(markers(svg, 'efficiency', 'measured').length, 6);
  assert.equal(markers(svg, 'throughput', 'predicted').length, 3);
  assert.equal(markers(svg, 'efficiency', 'predicted').length, 3);
  assert.ok(svg.includes('aria-label="throughput, measured: onnx, batch 128, 2 workers, 70000'));
  assert.ok(
    svg.includes('aria-label="efficiency, measured: tfjs, batch 128, 2 workers, efficiency 0.900'),
  );
});

test('predictions are hollow, dashed and named in the legend', async () => {
  const svg = await renderBenchChart(rows, peers);

  for (const path of markers(svg, 'throughput', 'predicted')) assert.match(path, /fill="white"/);
  for (const path of markers(svg, 'throughput', 'measured'))
    assert.doesNotMatch(path, /fill="white"/);
  assert.ok(svg.includes('>predicted by the cost model</text>'));
  assert.ok(svg.includes('stroke-dasharray="6,4"'));
});

test('peers are rules labelled with their configuration and batch on their input size', async () => {
  const svg = await renderBenchChart(rows, peers, { title: 'syncgrad on a 2-core machine' });

  assert.ok(svg.includes('>syncgrad on a 2-core machine</text>'));
  for (const label of [
    'tfjs-node, model.fit, 1 thread, batch 128',
    'PyTorch, torch, 2 threads, batch 128',
    'PyTorch, torch, 2 threads, batch 512',
  ]) {
    assert.ok(svg.includes(`>${label}</text>`), label);
  }
  assert.ok(svg.includes('stroke-dasharray="1,3"'));
});

test('the chart renders for one engine, one input size, no predictions and no peers', async () => {
  const tfjsOnly = await renderBenchChart(
    rows.filter((row) => row.engine === 'tfjs'),
    [],
  );
  assertBalancedTags(tfjsOnly);
  assert.equal(markers(tfjsOnly, 'throughput', 'measured').length, 2);
  assert.equal(markers(tfjsOnly, 'throughput', 'predicted').length, 0);
  assert.ok(!tfjsOnly.includes('onnx'));
  assert.ok(!tfjsOnly.includes('CIFAR-10'));
  assert.ok(!tfjsOnly.includes('predicted by the cost model'));
  assert.ok(!tfjsOnly.includes('Dotted rules'));

  const wideOnly = await renderBenchChart(
    rows.filter((row) => row.inputSize === 3072),
    peers.filter((peer) => peer.inputSize === 3072),
  );
  assertBalancedTags(wideOnly);
  assert.equal(markers(wideOnly, 'efficiency', 'measured').length, 2);
  assert.equal(markers(wideOnly, 'efficiency', 'predicted').length, 1);
  assert.ok(!wideOnly.includes('MNIST'));

  const nothing = await renderBenchChart([], []);
  assert.ok(nothing.startsWith('<svg'));
  assertBalancedTags(nothing);
});

test('the CSV has a header, a line per row and peer, and each number in its column', () => {
  const records: Record<string, string>[] = parse(benchCsv(rows, peers), { columns: true });

  assert.equal(records.length, rows.length + peers.length);
  assert.deepEqual(Object.keys(records[0]), [
    'kind',
    'engine',
    'peer',
    'configuration',
    'input_size',
    'global_batch',
    'workers',
    'samples_per_second',
    'speedup',
    'efficiency',
    'gflops',
    'fraction_of_peak',
    'breakdown_gather_ms',
    'breakdown_compute_ms',
    'breakdown_wait_ms',
    'breakdown_all_reduce_ms',
    'breakdown_update_ms',
    'breakdown_overhead_ms',
  ]);

  // 70,000 samples/s × 1,131,960 FLOP = 79.2372 GFLOP/s, over 2 cores × 50
  const twoWorkers = records[1];
  assert.equal(twoWorkers.kind, 'measured');
  assert.equal(twoWorkers.engine, 'onnx');
  assert.equal(twoWorkers.peer, '');
  assert.equal(Number(twoWorkers.input_size), 784);
  assert.equal(Number(twoWorkers.global_batch), 128);
  assert.equal(Number(twoWorkers.workers), 2);
  assert.equal(Number(twoWorkers.samples_per_second), 70_000);
  assert.equal(Number(twoWorkers.speedup), 1.75);
  assert.equal(Number(twoWorkers.efficiency), 0.875);
  assert.ok(Math.abs(Number(twoWorkers.gflops) - 79.2372) < 1e-9);
  assert.ok(Math.abs(Number(twoWorkers.fraction_of_peak) - 0.792372) < 1e-9);
  assert.equal(Number(twoWorkers.breakdown_gather_ms), 0.1);
  assert.equal(Number(twoWorkers.breakdown_compute_ms), 1.2);
  assert.equal(Number(twoWorkers.breakdown_wait_ms), 0.2);
  assert.equal(Number(twoWorkers.breakdown_all_reduce_ms), 0.25);
  assert.equal(Number(twoWorkers.breakdown_update_ms), 0.05);
  assert.equal(Number(twoWorkers.breakdown_overhead_ms), 0.0286);

  const predicted = records[2];
  assert.equal(predicted.kind, 'predicted');
  assert.equal(Number(predicted.workers), 4);
  assert.equal(Number(predicted.speedup), 2.8);
  assert.ok(Math.abs(Number(predicted.efficiency) - 0.7) < 1e-12);
  assert.equal(predicted.gflops, '');
  assert.equal(predicted.breakdown_compute_ms, '');

  // a configuration holds a comma, so it must come back whole from its quotes
  const peer = records[rows.length + 1];
  assert.equal(peer.kind, 'peer');
  assert.equal(peer.engine, '');
  assert.equal(peer.peer, 'PyTorch');
  assert.equal(peer.configuration, 'torch, 2 threads');
  assert.equal(Number(peer.input_size), 784);
  assert.equal(Number(peer.global_batch), 128);
  assert.equal(Number(peer.samples_per_second), 55_000);
  assert.equal(peer.workers, '');
  assert.equal(peer.speedup, '');
});
