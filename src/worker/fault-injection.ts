// The worker's side of the test-only fault switch (SYNCGRAD_TEST_FAULT, see
// shared/faults.ts): which task misbehaves, and how.

import { threadId } from 'node:worker_threads';

import { injectedFault } from '../shared/faults.js';
import type { Fault } from '../shared/faults.js';
import { kParkedThread } from '../shared/layout.js';
import type { TrainTask } from '../shared/messages.js';

/** The test-only fault this task injects, if any: on its first run, or on every run with `!`. */
export function faultFor(task: TrainTask): Fault | undefined {
  const fault = injectedFault();
  if (fault === undefined || fault.kind.startsWith('checkpoint')) {
    return undefined;
  }
  // one worker misbehaves: the last rank, so a one-worker run is hit too
  if (task.rank !== task.session.workers - 1) return undefined;
  return task.attempt === 0 || fault.repeated ? fault : undefined;
}

export function injectFault(kind: Fault['kind'], control: Int32Array): void {
  if (kind === 'throw') throw new Error('injected fault: a worker threw (SYNCGRAD_TEST_FAULT)');
  if (kind === 'exit') process.exit(3);
  if (kind === 'kill') {
    // parked in Atomics.wait, where terminating the thread is safe: a thread
    // terminated inside onnxruntime's native code takes the process with it
    Atomics.store(control, kParkedThread, threadId);
    for (;;) Atomics.wait(control, kParkedThread, threadId);
  }
}
