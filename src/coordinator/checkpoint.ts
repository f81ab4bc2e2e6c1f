// Checkpoint files: everything a run needs to continue exactly where it
// stopped (parameters, optimizer state, the position in the epoch order, the
// history so far), the settings that must match to resume, and a SHA-256 that
// must match before any of it is trusted. Writes are atomic: a temporary file,
// fsync, rename, fsync of the folder; a crash at any moment leaves the earlier
// checkpoints as they were.

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { OptionError } from '../shared/errors.js';
import { describe } from './data/common.js';
import type { EpochRecord } from './options.js';

/*
 * Layout of a checkpoint file:
 *   0  magic "SGCKPT01"                      8 bytes
 *   8  byte length of the header JSON        uint32 little-endian
 *  12  SHA-256 of everything after byte 44   32 bytes
 *  44  header JSON (CheckpointHeader)
 *      model bytes: parameters and optimizer state, as in shared memory
 */
const kMagic = Buffer.from('SGCKPT01', 'latin1');
const kDigestOffset = 12;
const kFixedBytes = 44;
const kPrefix = 'checkpoint-';
const kSuffix = '.sgc';

/** What must be the same to resume: a change to any of these changes the run. */
export interface RunIdentity {
  shape: { inputSize: number; hiddenSizes: number[]; outputSize: number };
  optimizer: unknown;
  batchSize: number;
  seed: number;
  validationSplit: number | undefined;
  /** SHA-256 of the training set's pixels and labels, and of the validation indices. */
  data: string;
}

/** Where a run stands between two steps. */
export interface RunPosition {
  /** Updates applied so far. */
  updates: number;
  /** The epoch in progress, counted from 1. */
  epoch: number;
  /** Steps of that epoch already done. */
  stepInEpoch: number;
  /** The epoch's loss, correct count and samples so far, for its record. */
  epochLossSum: number;
  epochCorrect: number;
  epochSamples: number;
  epochSeconds: number;
  history: EpochRecord[];
  stepLosses: number[];
  trainingSeconds: number;
  samplesSeen: number;
}

export interface CheckpointHeader {
  format: 1;
  identity: RunIdentity;
  position: RunPosition;
  /** Workers of the run that wrote it, for the log; resuming may use another count. */
  workers: number;
  /** Length of the model bytes after the header. */
  modelBytes: number;
}

export interface Checkpoint {
  file: string;
  header: CheckpointHeader;
  model: Uint8Array;
}

/** The file of the checkpoint taken after `updates` updates. */
export function checkpointFile(directory: string, updates: number): string {
  return join(directory, `${kPrefix}${String(updates).padStart(10, '0')}${kSuffix}`);
}

/**
 * Writes a checkpoint atomically and then removes all but the newest `keep`.
 * `beforeRename` runs between the fsync and the rename (a test hook that can
 * stall or fail the write at its most delicate point).
 */
export async function writeCheckpoint(
  directory: string,
  header: Omit<CheckpointHeader, 'format' | 'modelBytes'>,
  model: Uint8Array,
  keep: number,
  beforeRename?: (temporary: string) => Promise<void>,
): Promise<string> {
  const full: CheckpointHeader = { format: 1, ...header, modelBytes: model.byteLength };
  const json = Buffer.from(JSON.stringify(full), 'utf8');
  const fixed = Buffer.alloc(kFixedBytes);
  kMagic.copy(fixed, 0);
  fixed.writeUInt32LE(json.length, 8);
  createHash('sha256').update(json).update(model).digest().copy(fixed, kDigestOffset);

  const file = checkpointFile(directory, header.position.updates);
  const temporary = join(directory, `.${kPrefix}${randomBytes(4).toString('hex')}.tmp`);
  await mkdir(directory, { recursive: true });
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(Buffer.concat([fixed, json]));
    await handle.write(model);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await beforeRename?.(temporary);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(directory);
  await prune(directory, keep);
  return file;
}

/** Checkpoint files of `directory`, newest first; stray temporary files are ignored. */
export async function listCheckpoints(directory: string): Promise<string[]> {
  const names = await readdir(directory);
  return names
    .filter((name) => name.startsWith(kPrefix) && name.endsWith(kSuffix))
    .sort()
    .reverse()
    .map((name) => join(directory, name));
}

/**
 * The newest checkpoint of `directory` that reads back whole and matches its
 * SHA-256; each newer one that does not is reported through `onNotice` and
 * skipped. An OptionError naming --resume when there is none.
 */
export async function latestCheckpoint(
  directory: string,
  onNotice?: (message: string) => void,
): Promise<Checkpoint> {
  let files: string[];
  try {
    files = await listCheckpoints(directory);
  } catch (error) {
    throw new OptionError(
      'resume',
      `--resume ${directory} cannot be read (${describe(error)}); expected the --checkpoint-dir ` +
        `folder of an earlier run`,
    );
  }
  for (const file of files) {
    const problem = await readCheckpoint(file).then(
      (checkpoint) => checkpoint,
      (error: unknown) => describe(error),
    );
    if (typeof problem !== 'string') return problem;
    const next = file === files.at(-1) ? 'no earlier one is left' : 'trying the one before it';
    onNotice?.(`checkpoint ${file} is damaged (${problem}); ${next}`);
  }
  throw new OptionError(
    'resume',
    files.length === 0
      ? `--resume ${directory} holds no checkpoint; expected the --checkpoint-dir folder of a ` +
          `run that wrote at least one, or start afresh without --resume`
      : `--resume ${directory} holds ${files.length} checkpoints, all damaged (see above); ` +
          `start afresh without --resume, or restore a copy of the folder`,
  );
}

/** Reads and verifies one checkpoint file; throws an Error saying what is wrong. */
export async function readCheckpoint(file: string): Promise<Checkpoint> {
  const bytes = await readFile(file);
  if (bytes.length < kFixedBytes || !bytes.subarray(0, 8).equals(kMagic)) {
    throw new Error('not a syncgrad checkpoint, or cut short before its header');
  }
  const jsonBytes = bytes.readUInt32LE(8);
  const json = bytes.subarray(kFixedBytes, kFixedBytes + jsonBytes);
  const model = bytes.subarray(kFixedBytes + jsonBytes);
  const digest = createHash('sha256').update(json).update(model).digest();
  if (json.length !== jsonBytes || !digest.equals(bytes.subarray(kDigestOffset, kFixedBytes))) {
    throw new Error('its SHA-256 does not match its contents');
  }
  const header = JSON.parse(json.toString('utf8')) as CheckpointHeader;
  if (header.format !== 1 || header.modelBytes !== model.length) {
    throw new Error(`an unknown checkpoint format (${String(header.format)})`);
  }
  return { file, header, model };
}

/**
 * Why a run with `current` settings cannot continue a checkpoint of `saved`,
 * or undefined when it can. Workers may differ; the engine may differ too.
 */
export function identityMismatch(saved: RunIdentity, current: RunIdentity): string | undefined {
  const fields: [keyof RunIdentity, string][] = [
    ['shape', "the model (--hidden, or the data's image size and classes)"],
    ['optimizer', 'the optimizer (--optimizer, --lr, --momentum)'],
    ['batchSize', '--batch-size'],
    ['seed', '--seed'],
    ['validationSplit', '--validation-split'],
    ['data', 'the training data'],
  ];
  const differ = fields.filter(
    ([field]) => JSON.stringify(saved[field]) !== JSON.stringify(current[field]),
  );
  if (differ.length === 0) return undefined;
  return differ
    .map(([field, what]) =>
      field === 'data'
        ? `${what} differs from the data the checkpoint was trained on`
        : `${what}: ${JSON.stringify(saved[field])} in the checkpoint, ` +
          `${JSON.stringify(current[field])} now`,
    )
    .join('; ');
}

/**
 * Removes all but the newest `keep` checkpoints, and the temporary files a
 * killed writer left behind (one writer per folder, so none is in use now).
 */
async function prune(directory: string, keep: number): Promise<void> {
  const files = await listCheckpoints(directory);
  for (const file of files.slice(Math.max(1, keep))) await rm(file, { force: true });
  for (const name of await readdir(directory)) {
    if (name.startsWith(`.${kPrefix}`) && name.endsWith('.tmp')) {
      await rm(join(directory, name), { force: true });
    }
  }
}

/**
 * Checks the checkpoint folders before any data is loaded: `--checkpoint-dir`
 * must be a folder that can be created, and must not already hold another
 * run's checkpoints unless this run resumes from them; `--resume` must be a
 * folder.
 */
export async function checkCheckpointFolders(
  checkpointDir: string | undefined,
  resume: string | undefined,
): Promise<void> {
  if (resume !== undefined) {
    const stats = await stat(resume).catch(() => undefined);
    if (!stats?.isDirectory()) {
      throw new OptionError(
        'resume',
        `--resume ${resume} ${stats ? 'is a file' : 'does not exist'}; expected the ` +
          `--checkpoint-dir folder of an earlier run`,
      );
    }
  }
  if (checkpointDir === undefined) return;
  try {
    await mkdir(checkpointDir, { recursive: true });
  } catch (error) {
    throw new OptionError(
      'checkpoint-dir',
      `--checkpoint-dir ${checkpointDir} cannot be used as a folder (${describe(error)}); ` +
        `name a folder that exists or can be created`,
    );
  }
  if (resume === undefined && (await listCheckpoints(checkpointDir)).length > 0) {
    throw new OptionError(
      'checkpoint-dir',
      `--checkpoint-dir ${checkpointDir} already holds checkpoints of an earlier run; pass ` +
        `--resume ${checkpointDir} to continue that run, or name an empty folder for a new one`,
    );
  }
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } catch {
    // some file systems refuse fsync on a folder; the rename is then as durable as they allow
  } finally {
    await handle.close();
  }
}
