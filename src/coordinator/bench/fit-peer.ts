// The TensorFlow.js peer of `syncgrad bench`: tfjs-layers `model.fit` of the
// same MLP on one thread. The measurement runs in a worker thread of its own
// (fit-peer-worker.ts), so the caller's TensorFlow.js state is left as it was
// and the main thread stays free to draw progress.

import { Worker } from 'node:worker_threads';

import { OptionError, SyncgradError } from '../../shared/errors.js';
import type { FitPeerReply, FitPeerRequest, FitPeerResult } from './fit-peer-worker.js';

export type { FitPeerResult } from './fit-peer-worker.js';

export interface FitPeerOptions {
  inputSize: number;
  hiddenSizes: number[];
  outputSize: number;
  /** Samples per model.fit batch. */
  globalBatch: number;
  /** Adam's learning rate (betas 0.9 and 0.999, epsilon 1e-7). */
  learningRate: number;
  /** Length of the timed run, in seconds, after three warm-up batches. */
  seconds: number;
  /** The TensorFlow.js backend, on one thread. Default 'wasm'. */
  backend?: 'wasm' | 'cpu';
}

/**
 * Trains the MLP with tfjs-layers `model.fit` on learnable synthetic data for
 * about `seconds` and resolves to its throughput over the timed batches.
 * Rejects with an OptionError for an option that cannot work, and with a
 * SyncgradError when the measuring thread fails or exits early.
 */
export async function measureModelFit(options: FitPeerOptions): Promise<FitPeerResult> {
  const request = checkOptions(options);
  const worker = new Worker(new URL('./fit-peer-worker.js', import.meta.url));
  try {
    return await new Promise<FitPeerResult>((resolve, reject) => {
      worker.once('message', (reply: FitPeerReply) => {
        if (reply.kind === 'result') resolve(reply.result);
        else reject(failure(request, reply.message));
      });
      worker.once('error', (error) => reject(failure(request, error.message)));
      // after a reply this settles nothing; before one it is an early exit
      worker.once('exit', (code) =>
        reject(failure(request, `the thread exited with code ${code}`)),
      );
      worker.postMessage(request);
    });
  } finally {
    await worker.terminate();
  }
}

function failure(request: FitPeerRequest, reason: string): SyncgradError {
  const hint = /wasm|WebAssembly/i.test(reason)
    ? " If the wasm backend cannot load here, measure with backend 'cpu'."
    : '';
  return new SyncgradError(
    `The model.fit peer (backend '${request.backend}', batch ${request.globalBatch}) failed in ` +
      `its worker thread: ${reason.replace(/\.$/, '')}.${hint}`,
  );
}

function checkOptions(options: FitPeerOptions): FitPeerRequest {
  wholeNumber('inputSize', options.inputSize, 1);
  wholeNumber('outputSize', options.outputSize, 2);
  wholeNumber('globalBatch', options.globalBatch, 1);
  const { hiddenSizes } = options;
  if (hiddenSizes.length === 0 || hiddenSizes.some((size) => !Number.isInteger(size) || size < 1)) {
    throw new OptionError(
      'hiddenSizes',
      `hiddenSizes must list one or more positive whole layer widths, got ` +
        `[${hiddenSizes.join(', ')}]. Example: [200, 150].`,
    );
  }
  positive('learningRate', options.learningRate, 'Example: 0.001.');
  positive('seconds', options.seconds, 'Example: 3.');
  const backend = options.backend ?? 'wasm';
  if (backend !== 'wasm' && backend !== 'cpu') {
    throw new OptionError('backend', `backend must be 'wasm' or 'cpu', got '${String(backend)}'.`);
  }
  return { ...options, hiddenSizes: [...hiddenSizes], backend };
}

function wholeNumber(option: string, value: number, minimum: number): void {
  if (!Number.isInteger(value) || value < minimum) {
    throw new OptionError(
      option,
      `${option} must be a whole number of at least ${minimum}, got ${value}.`,
    );
  }
}

function positive(option: string, value: number, hint: string): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new OptionError(option, `${option} must be a positive number, got ${value}. ${hint}`);
  }
}
