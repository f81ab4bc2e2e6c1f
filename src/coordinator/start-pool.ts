// Starting the worker pool with the engine the options ask for, and falling
// back to a slower engine or backend, with a one-line notice, when the faster
// one cannot load on this machine and the user left the choice to syncgrad.

import { EngineError } from '../shared/errors.js';
import type { ResolvedOptions } from './options.js';
import { WorkerPool } from './pool.js';

/**
 * A pool whose threads have all loaded their engine.
 * - 'auto' tries onnx, then tfjs.
 * - tfjs with the backend left to its default tries wasm, then the pure
 *   JavaScript cpu backend.
 * An engine or backend named explicitly must load, or the run fails with its
 * error: a user who asked for it should not silently get something slower.
 */
export async function startPool(
  settings: ResolvedOptions,
  backendChosen: boolean,
): Promise<WorkerPool> {
  if (settings.engine === 'tfjs') return startTfjs(settings, backendChosen);
  try {
    return await started(new WorkerPool(settings.workers, 'onnx', 'wasm'));
  } catch (error) {
    if (settings.engine === 'onnx') {
      throw new EngineError(`${reason(error)}. Use --engine tfjs to train with TensorFlow.js.`);
    }
    settings.onNotice?.(
      `the onnx engine could not load (${reason(error)}); training with the slower tfjs engine`,
    );
    return startTfjs(settings, backendChosen);
  }
}

async function startTfjs(settings: ResolvedOptions, backendChosen: boolean): Promise<WorkerPool> {
  try {
    return await started(new WorkerPool(settings.workers, 'tfjs', settings.backend));
  } catch (error) {
    if (backendChosen || settings.backend !== 'wasm') throw error;
    settings.onNotice?.(
      `the wasm backend failed to load (${reason(error)}); training on the slower cpu backend`,
    );
    return started(new WorkerPool(settings.workers, 'tfjs', 'cpu'));
  }
}

async function started(pool: WorkerPool): Promise<WorkerPool> {
  try {
    await pool.probe();
    return pool;
  } catch (error) {
    await pool.close();
    throw error;
  }
}

function reason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
}
