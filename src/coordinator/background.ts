// Training off the caller's thread. `trainInWorker` runs the whole coordinator
// (dataset loading and decoding, normalization, the epoch loop, evaluation)
// in a dedicated thread and talks to it through comlink, so an application's
// own event loop (a server, a UI) stays responsive while a run loads tens of
// thousands of images or normalizes them. Progress callbacks cross back as
// comlink proxies; aborting the signal aborts the run in the other thread.

import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

import * as errors from '../shared/errors.js';
import type { TrainOptions } from './options.js';
import type { TrainingSummary } from './trainer.js';

type Callbacks = Pick<TrainOptions, 'onEpoch' | 'onProgress' | 'onLoadProgress' | 'onNotice'>;

/**
 * What the background thread exposes. Each callback travels as its own
 * argument because comlink proxies top-level arguments only; an absent one
 * stays undefined.
 */
export interface BackgroundTrainer {
  train(
    options: Omit<TrainOptions, 'signal' | keyof Callbacks>,
    onEpoch: Callbacks['onEpoch'],
    onProgress: Callbacks['onProgress'],
    onLoadProgress: Callbacks['onLoadProgress'],
    onNotice: Callbacks['onNotice'],
  ): Promise<TrainingSummary>;
  abort(): void;
}

const workerFile = fileURLToPath(new URL('./background-worker.js', import.meta.url));

/** Same as `train`, but the coordinator runs in its own thread. */
export async function trainInWorker(options: TrainOptions): Promise<TrainingSummary> {
  const { signal, onEpoch, onProgress, onLoadProgress, onNotice, ...rest } = options;
  if (signal?.aborted) throw new errors.TrainingAbortedError('Training was aborted.');
  const worker = new Worker(workerFile);
  const remote = Comlink.wrap<BackgroundTrainer>(nodeEndpoint(worker));
  const abort = () => void remote.abort();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    const proxied = <T extends object>(callback: T | undefined) =>
      callback && Comlink.proxy(callback);
    return await remote.train(
      rest,
      proxied(onEpoch),
      proxied(onProgress),
      proxied(onLoadProgress),
      proxied(onNotice),
    );
  } catch (error) {
    throw reviveError(error);
  } finally {
    signal?.removeEventListener('abort', abort);
    remote[Comlink.releaseProxy]();
    await worker.terminate();
  }
}

/** Errors arrive as plain Errors carrying their name; give them their class back. */
function reviveError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const classes: Record<string, new (...args: never[]) => Error> = {
    OptionError: errors.OptionError,
    DatasetError: errors.DatasetError,
    ModelFileError: errors.ModelFileError,
    TrainingAbortedError: errors.TrainingAbortedError,
    BackendError: errors.BackendError,
    EngineError: errors.EngineError,
    TrainingFailedError: errors.TrainingFailedError,
    SyncgradError: errors.SyncgradError,
  };
  const revived = classes[error.name];
  if (!revived) return error;
  const copy = Object.create(revived.prototype) as Error;
  Object.assign(copy, error, { name: error.name, message: error.message, stack: error.stack });
  return copy;
}
