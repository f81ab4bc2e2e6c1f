// Loads TensorFlow.js with the requested backend inside a worker thread.
// Workers need only the core and one backend, not the layers, converter and
// data packages of the full @tensorflow/tfjs bundle; leaving those out keeps
// each extra worker's memory small.

import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

import { BackendError } from '../shared/errors.js';
import type { BackendName } from '../shared/messages.js';

export type Tf = typeof tf;

let loading: Promise<Tf> | undefined;
let loadedName: BackendName | undefined;

/** The TensorFlow.js module with `name` as its active backend, loaded once per thread. */
export function loadBackend(name: BackendName): Promise<Tf> {
  if (loading && loadedName === name) return loading;
  loadedName = name;
  loading = activate(name);
  return loading;
}

async function activate(name: BackendName): Promise<Tf> {
  // this thread chooses its backend itself: no advice banner from TensorFlow.js
  tf.env().set('PROD', true);
  if (name === 'wasm') {
    if (process.env.SYNCGRAD_TEST_FAULT === 'wasm-unavailable') {
      throw new BackendError(
        'the wasm backend is switched off by SYNCGRAD_TEST_FAULT=wasm-unavailable',
      );
    }
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // one thread per worker: the parallelism is the pool's, not the kernel's
    wasm.setThreadsCount(1);
  } else if (name === 'tensorflow') {
    await loadTensorflowAddon();
  }
  if (!(await tf.setBackend(name))) {
    throw new BackendError(
      `The TensorFlow.js backend '${name}' failed to initialize in a worker thread.`,
    );
  }
  await tf.ready();
  return tf;
}

async function loadTensorflowAddon(): Promise<void> {
  const moduleName = '@tensorflow/tfjs-node';
  try {
    await import(moduleName);
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    if (/Cannot find (module|package)/.test(text)) {
      throw new BackendError(
        `--backend tensorflow needs the optional package ${moduleName}, which is not installed. ` +
          `Install it with 'npm install ${moduleName}' (its install step downloads ` +
          `libtensorflow), or use --backend wasm.`,
      );
    }
    if (/did not self-register/.test(text)) {
      throw new BackendError(
        `${moduleName} loaded in one worker thread but its native addon refuses to load in a ` +
          `second one ("Module did not self-register"). Use --backend tensorflow with ` +
          `--workers 1, or --backend wasm for several workers.`,
      );
    }
    throw new BackendError(`${moduleName} failed to load in a worker thread: ${text}`);
  }
}
