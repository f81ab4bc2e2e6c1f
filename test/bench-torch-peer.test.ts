// The PyTorch peer of `syncgrad bench` runs real training steps, in one
// process and across two with torch.distributed, and reports a failed run as
// a SyncgradError that names the command.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  probeTorch,
  runTorchPeer,
  type TorchPeerOptions,
} from '../src/coordinator/bench/torch-peer.js';
import { SyncgradError } from '../src/shared/errors.js';
import { requireTool } from './helpers/required-tool.js';

const torch = await probeTorch();
const install =
  'apt-get install python3-torch libopenblas0-pthread, or set SYNCGRAD_PYTHON to a Python with torch';

// a small model and a high learning rate, so a short run learns visibly
const tiny: TorchPeerOptions = {
  inputSize: 32,
  hiddenSizes: [64],
  outputSize: 4,
  globalBatch: 32,
  optimizer: 'adam',
  learningRate: 0.01,
  threads: 1,
  processes: 1,
  seconds: 0.5,
  learnable: true,
};

test('one process with one thread trains on learnable labels and reports its rate', async (t) => {
  if (!requireTool(t, 'PyTorch', torch !== undefined, install)) return;

  const result = await runTorchPeer({ ...tiny, python: torch!.python });

  assert.ok(result.samplesPerSecond > 0, `samplesPerSecond ${result.samplesPerSecond}`);
  assert.ok(result.steps >= 5, `steps ${result.steps}`);
  assert.equal(result.threads, 1);
  assert.equal(result.processes, 1);
  assert.equal(result.globalBatch, 32);
  assert.equal(result.torchVersion, torch!.version);
  assert.ok(
    result.lastLoss < result.firstLoss / 2,
    `loss went from ${result.firstLoss} to ${result.lastLoss} in ${result.steps} steps`,
  );
});

test('two gloo processes share the global batch and report one rate', async (t) => {
  if (!requireTool(t, 'PyTorch', torch !== undefined, install)) return;
  if (!requireTool(t, 'torch.distributed with gloo', torch!.distributed, install)) return;

  // 33 rows split unevenly, 17 and 16
  const result = await runTorchPeer({
    ...tiny,
    globalBatch: 33,
    processes: 2,
    python: torch!.python,
  });

  assert.ok(result.samplesPerSecond > 0, `samplesPerSecond ${result.samplesPerSecond}`);
  assert.ok(result.steps >= 5, `steps ${result.steps}`);
  assert.equal(result.processes, 2);
  assert.equal(result.globalBatch, 33);
  assert.ok(
    result.lastLoss < result.firstLoss / 2,
    `loss went from ${result.firstLoss} to ${result.lastLoss} in ${result.steps} steps`,
  );
});

test('a missing Python interpreter is a SyncgradError naming the command', async () => {
  const python = '/nonexistent/bin/python3';

  await assert.rejects(runTorchPeer({ ...tiny, python }), (error: unknown) => {
    assert.ok(error instanceof SyncgradError);
    assert.match(
      error.message,
      /^the PyTorch peer failed: \/nonexistent\/bin\/python3 \S+torch_peer\.py --inputs=32 /,
    );
    assert.match(error.message, /could not start: the interpreter was not found$/);
    return true;
  });
});

test('a failing script is a SyncgradError with its exit code and last stderr line', async (t) => {
  if (!requireTool(t, 'PyTorch', torch !== undefined, install)) return;

  // argparse rejects a batch smaller than the process count with exit code 2
  const run = runTorchPeer({ ...tiny, globalBatch: 1, processes: 2, python: torch!.python });

  await assert.rejects(run, (error: unknown) => {
    assert.ok(error instanceof SyncgradError);
    assert.match(
      error.message,
      /--processes=2 .*exited with code 2: .*--batch 1 is smaller than --processes 2/,
    );
    return true;
  });
});

test('probing an interpreter that does not exist finds nothing', async () => {
  assert.equal(await probeTorch('/nonexistent/bin/python3'), undefined);
});
