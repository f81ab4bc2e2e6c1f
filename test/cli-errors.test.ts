// Bad command lines get one clear message naming the flag or file, a non-zero
// exit status and no stack trace.

import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { hasStackTrace, runCli } from './helpers/cli.js';

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

test('unknown flags and option values exit 2 with the usage hint', async () => {
  await expectFailure(
    ['train', '--optimizer', 'adagrad'],
    2,
    /Invalid values:[\s\S]*optimizer[\s\S]*syncgrad --help/,
  );
  await expectFailure(['train', '--backend', 'gpu'], 2, /Invalid values:[\s\S]*backend/);
  await expectFailure(['train', '--epochz', '3'], 2, /Unknown argument: epochz/);
  await expectFailure([], 2, /Name a command/);
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
