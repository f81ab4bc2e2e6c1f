// Checkpoints and exact resume through the library: a run stopped at any
// step and resumed ends with the parameters of the run never stopped; other
// worker counts agree within rounding; a changed setting is refused; a
// damaged newest checkpoint is reported and the one before it used.

import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { listCheckpoints, readCheckpoint } from '../src/coordinator/checkpoint.js';
import { train } from '../src/coordinator/trainer.js';
import type { TrainOptions } from '../src/coordinator/options.js';
import { OptionError } from '../src/shared/errors.js';
import { temporaryFolder } from './data-fixtures.js';
import { syntheticImages } from './helpers/synthetic.js';

// 300 images, 10% held out: 270 to train, 17 steps an epoch at batch 16 (the last of 14)
const images = syntheticImages(300, 3, 21, 8, 8);
const kSettings: TrainOptions = {
  dataset: images,
  workers: 2,
  epochs: 3,
  batchSize: 16,
  hiddenSizes: [12],
  seed: 5,
};

let reference: Promise<Awaited<ReturnType<typeof train>>> | undefined;
function uninterrupted() {
  reference ??= train(kSettings);
  return reference;
}

// mid-epoch, the first step, an epoch's last step, and the next epoch's first
for (const stopAt of [1, 9, 17, 18, 40]) {
  test(`a run stopped after update ${stopAt} and resumed ends with the same parameters`, async (t) => {
    const folder = join(await temporaryFolder(t), 'checkpoints');

    const first = await train({ ...kSettings, maxSteps: stopAt, checkpointDir: folder });
    const notices: string[] = [];
    const resumed = await train({ ...kSettings, resume: folder, onNotice: (m) => notices.push(m) });

    const full = await uninterrupted();
    assert.equal(first.steps, stopAt);
    assert.match(notices.join('\n'), new RegExp(`resuming from .*update ${stopAt}`));
    assert.equal(resumed.steps, full.steps);
    assert.equal(resumed.paramsDigest, full.paramsDigest);
    assert.deepEqual(resumed.stepLosses, full.stepLosses);
    assert.deepEqual(
      resumed.history.map((epoch) => [epoch.epoch, epoch.steps, epoch.loss, epoch.validationLoss]),
      full.history.map((epoch) => [epoch.epoch, epoch.steps, epoch.loss, epoch.validationLoss]),
    );
  });
}

test('resuming with another worker count agrees within float rounding', async (t) => {
  const folder = join(await temporaryFolder(t), 'checkpoints');

  await train({ ...kSettings, maxSteps: 20, checkpointDir: folder });
  const resumed = await train({ ...kSettings, workers: 1, resume: folder });

  const full = await uninterrupted();
  const worst = full.model.parameters.reduce(
    (most, value, index) => Math.max(most, Math.abs(value - resumed.model.parameters[index])),
    0,
  );
  // one worker sums a batch's gradients in another order than two: float32 rounding
  assert.ok(worst < 1e-4, `largest parameter difference ${worst}`);
  assert.equal(resumed.steps, full.steps);
});

test('resuming with a setting that changes the run is refused, naming it', async (t) => {
  const folder = join(await temporaryFolder(t), 'checkpoints');
  await train({ ...kSettings, maxSteps: 5, checkpointDir: folder });
  const changes: [TrainOptions, RegExp][] = [
    [{ ...kSettings, hiddenSizes: [13] }, /the model/],
    [{ ...kSettings, learningRate: 0.01 }, /the optimizer \(--optimizer, --lr, --momentum\)/],
    [{ ...kSettings, batchSize: 32 }, /--batch-size: 16 in the checkpoint, 32 now/],
    [{ ...kSettings, seed: 6 }, /--seed: 5 in the checkpoint, 6 now/],
    [{ ...kSettings, dataset: syntheticImages(300, 3, 22, 8, 8) }, /the training data differs/],
  ];

  for (const [settings, message] of changes) {
    await assert.rejects(train({ ...settings, resume: folder }), (error: unknown) => {
      assert.ok(error instanceof OptionError, String(error));
      assert.equal(error.option, 'resume');
      assert.match(error.message, message);
      assert.match(error.message, /cannot be continued with these settings/);
      return true;
    });
  }
});

test('checkpoints are kept newest first, and a damaged newest one gives way to the one before', async (t) => {
  const folder = join(await temporaryFolder(t), 'checkpoints');
  await train({
    ...kSettings,
    maxSteps: 30,
    checkpointDir: folder,
    checkpointEvery: { steps: 5 },
    keepCheckpoints: 2,
  });
  const files = await listCheckpoints(folder);
  // every 5 updates up to 30, the last two kept; no temporary files left behind
  assert.deepEqual(
    files.map((file) => file.split('/').at(-1)),
    ['checkpoint-0000000030.sgc', 'checkpoint-0000000025.sgc'],
  );
  assert.deepEqual((await readdir(folder)).length, 2);
  const newest = await readCheckpoint(files[0]);
  assert.equal(newest.header.position.updates, 30);

  // flip one byte of the newest: its SHA-256 no longer matches
  const damaged = await readFile(files[0]);
  damaged[damaged.length - 10] ^= 0xff;
  await writeFile(files[0], damaged);
  const notices: string[] = [];
  const resumed = await train({ ...kSettings, resume: folder, onNotice: (m) => notices.push(m) });

  assert.match(
    notices.join('\n'),
    /checkpoint-0000000030\.sgc is damaged \(its SHA-256 does not match/,
  );
  assert.match(notices.join('\n'), /resuming from .*checkpoint-0000000025\.sgc: update 25/);
  assert.equal(resumed.paramsDigest, (await uninterrupted()).paramsDigest);
});

test('--resume of a folder with no checkpoint is an OptionError', async (t) => {
  const folder = await temporaryFolder(t);

  await assert.rejects(train({ ...kSettings, resume: folder }), (error: unknown) => {
    assert.ok(error instanceof OptionError);
    assert.match(error.message, /holds no checkpoint; .* or start afresh without --resume/);
    return true;
  });
});

test('checkpoint folders are checked before any data is loaded', async (t) => {
  const root = await temporaryFolder(t);
  const used = join(root, 'used');
  await train({ ...kSettings, maxSteps: 3, checkpointDir: used });
  const file = join(root, 'a-file');
  await writeFile(file, 'not a folder');
  const cases: [TrainOptions, string, RegExp][] = [
    [
      { ...kSettings, checkpointDir: used },
      'checkpoint-dir',
      /already holds checkpoints of an earlier run; pass --resume/,
    ],
    [
      { ...kSettings, checkpointDir: join(file, 'sub') },
      'checkpoint-dir',
      /cannot be used as a folder/,
    ],
    [{ ...kSettings, resume: file }, 'resume', /is a file; expected the --checkpoint-dir folder/],
    [{ ...kSettings, resume: join(root, 'none') }, 'resume', /does not exist/],
    [
      { ...kSettings, checkpointEvery: { steps: 5 } },
      'checkpoint-every',
      /without --checkpoint-dir/,
    ],
    [{ ...kSettings, resume: '' }, 'resume', /--resume needs a folder name/],
  ];

  for (const [settings, option, message] of cases) {
    await assert.rejects(train(settings), (error: unknown) => {
      assert.ok(error instanceof OptionError, String(error));
      assert.equal(error.option, option);
      assert.match(error.message, message);
      return true;
    });
  }
});

test('an explicit default validation split resumes like the default itself', async (t) => {
  const folder = join(await temporaryFolder(t), 'checkpoints');

  await train({ ...kSettings, maxSteps: 5, checkpointDir: folder });
  const resumed = await train({ ...kSettings, validationSplit: 0.1, resume: folder });

  assert.equal(resumed.paramsDigest, (await uninterrupted()).paramsDigest);
});
