// The CLI stopped from outside: Ctrl-C and SIGTERM leave a checkpoint and the
// conventional status, SIGKILL at random moments (one of them in the middle
// of a checkpoint write) never leaves a checkpoint that cannot be resumed, and
// every resume ends with the parameters of the run never stopped. Disk faults
// while checkpointing are reported without damaging earlier checkpoints.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { listCheckpoints, readCheckpoint } from '../src/coordinator/checkpoint.js';
import { temporaryFolder } from './data-fixtures.js';
import { cliPath, hasStackTrace, lastJsonLine, runCli } from './helpers/cli.js';
import { noise } from './helpers/synthetic.js';

/** 2,000 rows of 64 pixels in 4 classes: 225 steps an epoch at batch 8, a few seconds in all. */
async function writeDataset(folder: string): Promise<string> {
  const next = noise(77);
  const rows = Array.from({ length: 2000 }, (_, index) => {
    const label = index % 4;
    const pixels = Array.from({ length: 64 }, (_, p) =>
      Math.min(255, Math.floor((p % 4 === label ? 150 : 40) + next() * 100)),
    );
    return [label, ...pixels].join(',');
  });
  const file = join(folder, 'rows.csv');
  await writeFile(file, rows.join('\n') + '\n');
  return file;
}

function trainArgs(dataset: string, ...more: string[]): string[] {
  return ['train', '--dataset', dataset, '--epochs', '12', '--workers', '2', '--batch-size', '8']
    .concat(['--hidden', '32', '--json'])
    .concat(more);
}

interface Started {
  stopped: Promise<{
    status: number | null;
    signal: string | null;
    stdout: string;
    stderr: string;
  }>;
  signal: (name: NodeJS.Signals) => void;
  /** Resolves once stderr has printed a line matching `pattern`. */
  printed: (pattern: RegExp) => Promise<void>;
}

function start(args: string[], env: Record<string, string> = {}): Started {
  const child = spawn(process.execPath, [cliPath, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: [RegExp, () => void][] = [];
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    for (const [pattern, resolve] of waiters) if (pattern.test(stderr)) resolve();
  });
  return {
    stopped: new Promise((resolve) =>
      child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })),
    ),
    signal: (name) => child.kill(name),
    printed: (pattern) =>
      new Promise((resolve) => {
        if (pattern.test(stderr)) resolve();
        else waiters.push([pattern, resolve]);
      }),
  };
}

async function untilCheckpoint(folder: string): Promise<void> {
  for (;;) {
    const names = await readdir(folder).catch(() => [] as string[]);
    if (names.some((name) => name.endsWith('.sgc'))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let reference: Promise<string> | undefined;
function uninterruptedDigest(dataset: string): Promise<string> {
  reference ??= runCli(trainArgs(dataset)).then((run) => {
    assert.equal(run.status, 0, run.stderr);
    return lastJsonLine(run.stdout).paramsDigest as string;
  });
  return reference;
}

let shared: Promise<string> | undefined;
async function dataset(): Promise<string> {
  shared ??= import('node:fs/promises').then(async (fs) => {
    const folder = await fs.mkdtemp(join((await import('node:os')).tmpdir(), 'syncgrad-kills-'));
    process.on('exit', () => void fs.rm(folder, { recursive: true, force: true }));
    return writeDataset(folder);
  });
  return shared;
}

async function resumeToEnd(rows: string, folder: string): Promise<string> {
  const run = await runCli(trainArgs(rows, '--resume', folder));
  assert.equal(run.status, 0, run.stderr);
  return lastJsonLine(run.stdout).paramsDigest as string;
}

for (const [signal, status] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  test(`${signal} leaves a checkpoint, exits ${status}, says how to resume, and the resume completes`, async (t) => {
    const rows = await dataset();
    const folder = join(await temporaryFolder(t), 'checkpoints');
    const run = start(trainArgs(rows, '--checkpoint-dir', folder, '--checkpoint-every', '1epoch'));

    await untilCheckpoint(folder);
    run.signal(signal);
    const stopped = await run.stopped;

    assert.equal(stopped.status, status, stopped.stderr);
    assert.match(
      stopped.stderr,
      /training stopped; checkpoint .*checkpoint-\d+\.sgc\. Resume with the same command and --resume/,
    );
    assert.ok(!hasStackTrace(stopped.stderr), stopped.stderr);
    const newest = await readCheckpoint((await listCheckpoints(folder))[0]);
    assert.ok(newest.header.position.updates > 0);
    assert.equal(await resumeToEnd(rows, folder), await uninterruptedDigest(rows));
  });
}

test('SIGKILL at random moments, one inside a checkpoint write, never costs a resumable checkpoint', async (t) => {
  const rows = await dataset();
  const folder = join(await temporaryFolder(t), 'checkpoints');
  const args = trainArgs(rows, '--checkpoint-dir', folder, '--checkpoint-every', '100');
  const random = noise(Number(process.env.SYNCGRAD_KILL_SEED ?? 5));
  console.log(`# kill seed ${process.env.SYNCGRAD_KILL_SEED ?? 5}`);

  // killed in the middle of writing the checkpoint of update 300, before its rename
  const paused = start(args, { SYNCGRAD_TEST_FAULT: 'checkpoint-pause@300' });
  await paused.printed(/checkpoint write paused before its rename/);
  paused.signal('SIGKILL');
  assert.equal((await paused.stopped).signal, 'SIGKILL');
  const names = await readdir(folder);
  assert.ok(
    names.some((name) => name.endsWith('.tmp')),
    'the write was caught half done',
  );

  // then killed after a random 0.3 to 1.5 s of each resumed run, three times
  for (let kill = 0; kill < 3; kill++) {
    const run = start([...args, '--resume', folder]);
    await new Promise((resolve) => setTimeout(resolve, 300 + random() * 1200));
    run.signal('SIGKILL');
    await run.stopped;
    // whatever the moment, the newest checkpoint (or one before it) reads back whole
    const files = await listCheckpoints(folder);
    assert.ok(files.length > 0);
  }

  assert.equal(await resumeToEnd(rows, folder), await uninterruptedDigest(rows));
});

for (const fault of ['checkpoint-enospc@200', 'checkpoint-eacces@200']) {
  test(`a failed checkpoint write (${fault}) stops the run and damages nothing earlier`, async (t) => {
    const rows = await dataset();
    const folder = join(await temporaryFolder(t), 'checkpoints');
    const args = trainArgs(rows, '--checkpoint-dir', folder, '--checkpoint-every', '100');

    const stopped = await runCli(args, { SYNCGRAD_TEST_FAULT: fault });

    assert.equal(stopped.status, 1);
    assert.match(
      stopped.stderr,
      /cannot write a checkpoint into .* after update 200 \((ENOSPC|EACCES)/,
    );
    assert.match(stopped.stderr, /earlier checkpoints are untouched/);
    assert.ok(!hasStackTrace(stopped.stderr), stopped.stderr);
    const files = await listCheckpoints(folder);
    assert.equal(files.length, 1);
    assert.equal((await readCheckpoint(files[0])).header.position.updates, 100);
    assert.deepEqual(await readdir(folder), [files[0].split('/').at(-1)]);
  });
}

test('with --on-checkpoint-failure continue, a failed write is reported and training goes on', async (t) => {
  const rows = await dataset();
  const folder = join(await temporaryFolder(t), 'checkpoints');
  const args = trainArgs(rows, '--checkpoint-dir', folder, '--checkpoint-every', '100');

  const run = await runCli([...args, '--on-checkpoint-failure', 'continue'], {
    SYNCGRAD_TEST_FAULT: 'checkpoint-enospc@200',
  });

  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /after update 200 \(ENOSPC.*training goes on/);
  assert.equal(lastJsonLine(run.stdout).paramsDigest, await uninterruptedDigest(rows));
});

test('a second Ctrl-C during a checkpoint write quits at once and leaves the earlier ones whole', async (t) => {
  const rows = await dataset();
  const folder = join(await temporaryFolder(t), 'checkpoints');
  const args = trainArgs(rows, '--checkpoint-dir', folder, '--checkpoint-every', '100');
  const run = start(args, { SYNCGRAD_TEST_FAULT: 'checkpoint-pause@300' });

  await run.printed(/checkpoint write paused before its rename/);
  run.signal('SIGINT');
  await run.printed(/SIGINT again to quit at once/);
  run.signal('SIGINT');
  const stopped = await run.stopped;

  // ended by the signal itself, which a shell reports as status 130
  assert.equal(stopped.signal, 'SIGINT');
  // the paused write never reached its rename; the two before it read back whole
  const files = await listCheckpoints(folder);
  const updates = [];
  for (const file of files) updates.push((await readCheckpoint(file)).header.position.updates);
  assert.deepEqual(updates, [200, 100]);
  assert.equal(await resumeToEnd(rows, folder), await uninterruptedDigest(rows));
});
