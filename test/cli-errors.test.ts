// Bad command lines get one clear message naming the flag or file, a non-zero
// exit status and no stack trace.

import assert from 'node:assert/strict';
import { access, mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { saveModel } from '../src/coordinator/model-io.js';
import { train } from '../src/coordinator/trainer.js';
import { hasStackTrace, runCli } from './helpers/cli.js';
import { syntheticImages } from './helpers/synthetic.js';

async function expectFailure(
  args: string[],
  status: number,
  message: RegExp,
  env: Record<string, string> = {},
): Promise<void> {
  const run = await runCli(args, env);
  assert.equal(run.status, status, `exit status of syncgrad ${args.join(' ')}\n${run.stderr}`);
  assert.match(run.stderr, message);
  assert.ok(!hasStackTrace(run.stderr), `stack trace printed:\n${run.stderr}`);
}

test('flag values that cannot work exit 1 with a message naming the flag', async () => {
  await expectFailure(
    ['train', '--workers', '0'],
    1,
    /--workers must be a whole number of at least 1, got 0/,
  );
  await expectFailure(
    ['train', '--workers', '4', '--batch-size', '2'],
    1,
    /--batch-size 2 is smaller than --workers 4/,
  );
  await expectFailure(['train', '--epochs', 'ten'], 1, /--epochs must be a number, got 'ten'/);
  await expectFailure(
    ['train', '--hidden', '200,abc'],
    1,
    /--hidden must list positive whole layer widths .* got '200,abc'/,
  );
  await expectFailure(['train', '--lr', '0'], 1, /--lr must be a positive number, got 0/);
});

test('unknown option values exit 1 naming the flag and the choices', async () => {
  await expectFailure(
    ['train', '--optimizer', 'adagrad'],
    1,
    /--optimizer must be one of adam, sgd, momentum; got 'adagrad'/,
  );
  await expectFailure(['train', '--backend', 'gpu'], 1, /--backend must be one of wasm, cpu/);
});

test('unknown flags exit 2, named once as typed, with the usage hint', async () => {
  await expectFailure(['train', '--max-step', '3'], 2, /unknown option --max-step\n.*--help/);
  await expectFailure([], 2, /Name a command/);
});

test('an unusable --out folder is refused before any training, without hanging', async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'syncgrad-out-'));
  try {
    const file = join(scratch, 'a-file');
    await writeFile(file, 'not a folder');
    await expectFailure(
      ['train', '--out', file],
      1,
      /--out .*a-file cannot be used as the model folder/,
    );
    await expectFailure(['train', '--out', join(file, 'sub')], 1, /--out .*cannot be used/);
    // procfs makes a recursive mkdir loop forever; the folder check must fail instead
    await expectFailure(
      ['train', '--out', '/proc/syncgrad-model'],
      1,
      /--out \/proc\/syncgrad-model/,
    );
    await expectFailure(['train', '--out', ''], 1, /--out needs a folder name/);

    // a bad flag beside --out leaves no new folder behind
    const fresh = join(scratch, 'fresh-model');
    await expectFailure(['train', '--out', fresh, '--lr', '-1'], 1, /--lr must be a positive/);
    await expectFailure(['train', '--out', fresh, '--workers', '0'], 1, /--workers must be/);
    await assert.rejects(readFile(join(fresh, 'model.json')), { code: 'ENOENT' });
    await assert.rejects(access(fresh), { code: 'ENOENT' });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
});

test('a model folder that is not a whole model is a ModelFileError, not a stack trace', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'syncgrad-badmodel-'));
  try {
    for (const contents of ['null', '{}', '{"modelTopology": {}, "weightsManifest": 3}']) {
      await writeFile(join(folder, 'model.json'), contents);
      await expectFailure(
        ['eval', '--model', folder],
        1,
        /is JSON but not a TensorFlow.js Layers model/,
      );
    }

    // a real model whose weights file lost its end
    const summary = await train({
      dataset: syntheticImages(200, 3, 4, 6, 6),
      workers: 1,
      maxSteps: 2,
    });
    await saveModel(summary.model, folder);
    const weights = await readFile(join(folder, 'weights.bin'));
    await writeFile(join(folder, 'weights.bin'), weights.subarray(0, 100));
    await expectFailure(['eval', '--model', folder], 1, /does not load: .*save the model again/);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('a dataset that is not there names where syncgrad looked and how to get it', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'syncgrad-empty-'));
  try {
    await expectFailure(['train', '--dataset', join(empty, 'no-such-folder')], 1, /no-such-folder/);
    await mkdir(join(empty, 'cache'));
    await expectFailure(
      [
        'train',
        '--dataset',
        'mnist',
        '--no-download',
        '--data-dir',
        empty,
        '--cache-dir',
        join(empty, 'cache'),
      ],
      1,
      new RegExp(`${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[\\s\\S]*download`),
    );
    await expectFailure(
      ['eval', '--model', join(empty, 'no-model')],
      1,
      /no-model[\s\S]*syncgrad train --out/,
    );
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});
