// Faults injected at a chosen step through the test-only switch
// SYNCGRAD_TEST_FAULT: a worker that throws, exits or is killed is replaced
// and its steps recomputed, so the run ends exactly as a fault-free one;
// repeated failures and non-finite losses stop the run naming the step.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { train } from '../src/coordinator/trainer.js';
import type { TrainOptions } from '../src/coordinator/options.js';
import { TrainingFailedError } from '../src/shared/errors.js';
import { temporaryFolder } from './data-fixtures.js';
import { syntheticImages } from './helpers/synthetic.js';

const kSettings: TrainOptions = {
  dataset: syntheticImages(300, 3, 31, 8, 8),
  workers: 2,
  epochs: 2,
  batchSize: 16,
  hiddenSizes: [12],
  seed: 9,
};

/** Runs `settings` with the fault switch set for the pool's threads, which read it as they start. */
async function withFault(fault: string, settings: TrainOptions) {
  process.env.SYNCGRAD_TEST_FAULT = fault;
  try {
    return await train(settings);
  } finally {
    delete process.env.SYNCGRAD_TEST_FAULT;
  }
}

let reference: ReturnType<typeof train> | undefined;
const faultFree = () => (reference ??= train(kSettings));

for (const kind of ['throw', 'exit', 'kill']) {
  test(`a worker that ${kind === 'kill' ? 'is killed' : `${kind}s`} at step 12 is replaced, and the run ends as without it`, async () => {
    const notices: string[] = [];

    const run = await withFault(`worker-${kind}@12`, {
      ...kSettings,
      onNotice: (m) => notices.push(m),
    });

    assert.equal(run.paramsDigest, (await faultFree()).paramsDigest);
    assert.deepEqual(run.stepLosses, (await faultFree()).stepLosses);
    assert.match(notices.join('\n'), /a worker failed during step \d+ .*recomputing steps/);
  });
}

test('a step that fails on every attempt stops the run with a checkpoint of the step before', async (t) => {
  const folder = join(await temporaryFolder(t), 'checkpoints');

  const failure = await withFault('worker-throw@20!', { ...kSettings, checkpointDir: folder }).then(
    () => assert.fail('expected the run to stop'),
    (error: unknown) => error,
  );
  const resumed = await train({ ...kSettings, resume: folder });

  assert.ok(failure instanceof TrainingFailedError, String(failure));
  assert.equal(failure.step, 20);
  assert.match(failure.message, /step 20 failed 3 times \(injected fault: a worker threw/);
  // the model goes back to the start of the phase holding step 20, and is checkpointed there
  const kept = /kept as it was after step (\d+); checkpoint .*checkpoint-0*(\d+)\.sgc/.exec(
    failure.message,
  );
  assert.ok(kept && Number(kept[1]) < 20 && kept[2] === kept[1], failure.message);
  // the checkpoint holds the state before the failing step, so resuming completes the run
  assert.equal(resumed.paramsDigest, (await faultFree()).paramsDigest);
});

test('a non-finite loss stops the run before its update, naming the step', async () => {
  const failure = await withFault('nonfinite@7', kSettings).then(
    () => assert.fail('expected the run to stop'),
    (error: unknown) => error,
  );

  assert.ok(failure instanceof TrainingFailedError, String(failure));
  assert.equal(failure.step, 7);
  assert.match(
    failure.message,
    /step 7: the loss or a gradient is not finite, so training stopped before its update \(after update 6\)/,
  );
});

test('a non-finite gradient with a finite loss stops the run too', async () => {
  const failure = await withFault('nonfinite-gradient@11', kSettings).then(
    () => assert.fail('expected the run to stop'),
    (error: unknown) => error,
  );

  assert.ok(failure instanceof TrainingFailedError, String(failure));
  assert.equal(failure.step, 11);
  assert.match(failure.message, /step 11: the loss or a gradient is not finite/);
});

test('with onNonFinite skip, the step is skipped and training goes on', async () => {
  const notices: string[] = [];

  const run = await withFault('nonfinite@7', {
    ...kSettings,
    onNonFinite: 'skip',
    onNotice: (m) => notices.push(m),
  });

  assert.equal(run.steps, (await faultFree()).steps);
  assert.match(
    notices.join('\n'),
    /step 7: the loss or a gradient is not finite; its update was skipped/,
  );
  assert.notEqual(run.paramsDigest, (await faultFree()).paramsDigest);
  assert.ok(Number.isFinite(run.stepLosses.at(-1)!));
});
