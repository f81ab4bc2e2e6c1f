// The benchmark end to end: `bench` measures real training rows with their
// breakdown and predictions, and `syncgrad bench` prints its tables, writes
// its three files, and rejects bad flags with one clear line.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { bench } from '../src/coordinator/bench/run-bench.js';
import type { BenchProgress } from '../src/coordinator/bench/run-bench.js';
import { flopsPerSample } from '../src/coordinator/bench/measure.js';
import { cliPath, hasStackTrace, lastJsonLine, runCli } from './helpers/cli.js';

test('flops of a sample: forward, kernel gradients, and input gradients above the first layer', () => {
  // 784-200-150-10: products of 156,800 + 30,000 + 1,500 multiply-adds
  const products = 2 * (784 * 200 + 200 * 150 + 150 * 10);
  const expected = products + products + (products - 2 * 784 * 200);
  assert.equal(
    flopsPerSample({ inputSize: 784, hiddenSizes: [200, 150], outputSize: 10 }),
    expected,
  );
});

test('bench measures each row, relates it to 1 worker, and predicts beyond the cores', async () => {
  const progress: BenchProgress[] = [];
  const report = await bench({
    engines: ['onnx', 'tfjs'],
    inputSizes: [784],
    batches: [32],
    workerCounts: [1, 2],
    seconds: 0.2,
    peers: false,
    predictWorkers: [4],
    onProgress: (event) => progress.push(event),
  });

  const measured = report.rows.filter((row) => row.kind === 'measured');
  assert.equal(measured.length, 4);
  for (const row of measured) {
    assert.ok(row.samplesPerSecond > 0);
    const parts = Object.values(row.breakdown!);
    assert.ok(parts.every((milliseconds) => milliseconds >= 0));
    // the breakdown accounts for the wall time of a step: batch / rate
    const wall = (1000 * row.globalBatch) / row.samplesPerSecond;
    const sum = parts.reduce((total, milliseconds) => total + milliseconds, 0);
    assert.ok(Math.abs(sum - wall) <= 0.05 * wall, `${sum} ms in parts, ${wall} ms per step`);
    assert.ok(row.fractionOfPeak! > 0 && row.gflops! > 0);
  }
  const one = measured.find((row) => row.engine === 'onnx' && row.workers === 1)!;
  const two = measured.find((row) => row.engine === 'onnx' && row.workers === 2)!;
  assert.equal(one.speedup, 1);
  assert.equal(two.speedup, two.samplesPerSecond / one.samplesPerSecond);
  assert.equal(two.efficiency, two.speedup / 2);

  const predicted = report.rows.filter((row) => row.kind === 'predicted');
  assert.deepEqual(
    predicted.map((row) => `${row.engine} ${row.workers}`),
    ['onnx 1', 'onnx 2', 'onnx 4', 'tfjs 1', 'tfjs 2', 'tfjs 4'],
  );
  assert.equal(report.peaks.length, 2);
  assert.equal(report.costModels.length, 2);
  assert.ok(report.ratios.some((ratio) => ratio.name.startsWith('onnx 2 workers / 1 worker')));
  const last = progress[progress.length - 1];
  assert.equal(last.completed, last.total);
  assert.equal(last.total, 2 + 4, 'two matrix-multiply rates and four rows');
});

test('syncgrad bench prints its tables and writes bench.json, bench.csv and bench.svg', async () => {
  const out = await mkdtemp(join(tmpdir(), 'syncgrad-bench-'));
  try {
    const args = ['bench', '--engines', 'onnx', '--batches', '64', '--inputs', '784'];
    const run = await runCli([...args, '--seconds', '0.2', '--no-peers', '--out', out, '--json']);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /measured \(ms are per step/);
    assert.match(run.stdout, /predicted by the cost model beyond/);
    const report = lastJsonLine(run.stdout) as { rows: unknown[] };
    const saved = JSON.parse(await readFile(join(out, 'bench.json'), 'utf8'));
    assert.deepEqual(saved.rows, report.rows);
    const csv = (await readFile(join(out, 'bench.csv'), 'utf8')).trim().split('\n');
    assert.equal(csv.length, 1 + report.rows.length);
    assert.match(await readFile(join(out, 'bench.svg'), 'utf8'), /^<svg/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('a bench flag given twice keeps its last value', async () => {
  const out = await mkdtemp(join(tmpdir(), 'syncgrad-bench-'));
  try {
    const flags = ['--engines', 'onnx', '--inputs', '784', '--workers', '1', '--no-peers'];
    const run = await runCli([
      'bench',
      ...flags,
      '--batches',
      '32',
      '--batches',
      '16',
      '--seconds',
      '0.1',
      '--out',
      out,
      '--json',
    ]);
    assert.equal(run.status, 0, run.stderr);
    const report = lastJsonLine(run.stdout) as { settings: { batches: number[] } };
    assert.deepEqual(report.settings.batches, [16]);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('Ctrl-C stops syncgrad bench with status 130 and leaves earlier results as they were', async () => {
  const out = await mkdtemp(join(tmpdir(), 'syncgrad-bench-'));
  try {
    await writeFile(join(out, 'bench.json'), 'earlier results\n');
    const args = ['bench', '--engines', 'onnx', '--inputs', '784', '--no-peers', '--out', out];
    const child = spawn(process.execPath, [cliPath, ...args, '--seconds', '30'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let interrupted = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
      // interrupt once, when the first training row is under way
      if (!interrupted && /bench 2\//.test(stderr)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));

    assert.equal(status, 130, stderr);
    assert.match(stderr, /the benchmark stopped before the end; nothing was saved/);
    assert.ok(!hasStackTrace(stderr), stderr);
    assert.equal(await readFile(join(out, 'bench.json'), 'utf8'), 'earlier results\n');
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('bad bench flags exit 1 with one line naming the flag', async () => {
  const cases: [string[], RegExp][] = [
    [['--batches', '32,0'], /--batches must list positive whole numbers .* got '32,0'/],
    [['--workers', 'two'], /--workers must list numbers separated by commas, got 'two'/],
    [['--engines', 'onnx,gpu'], /--engines must list onnx, tfjs or both; got 'gpu'/],
    [['--seconds', '-1'], /--seconds must be a positive number of seconds per row, got -1/],
    [['--inputs', '784,'], /--inputs must be a comma-separated list, got '784,'/],
    [['--inputs', '100000000'], /--inputs 100000000 needs [\d.]+ GB .* use inputs of at most/],
    [['--engines', 'onnx', '--out', ''], /--out must name a folder, got ''/],
    [['--engines', 'onnx', '--out', '/proc/none/x'], /--out \/proc\/none\/x cannot hold/],
  ];
  for (const [flags, message] of cases) {
    const run = await runCli(['bench', '--no-peers', ...flags]);
    assert.equal(run.status, 1, `${flags.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.ok(!hasStackTrace(run.stderr), run.stderr);
  }
});
