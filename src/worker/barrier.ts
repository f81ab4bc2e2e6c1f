// A reusable barrier for the workers of one session, built on the control
// block's arrival counter and generation number.

import { kBarrierArrivals, kBarrierGeneration, kStopRequest } from '../shared/layout.js';
import { kStopMessage } from '../shared/messages.js';

/** Thrown inside a worker when the coordinator has asked the session to stop. */
export class StopRequested extends Error {
  override name = 'StopRequested';
}

// How long a waiting worker sleeps before it looks at the stop flag again. The
// coordinator also notifies the generation slot when it sets the flag, so this
// bound only matters if that wake-up is missed; it costs nothing otherwise.
const kStopCheckMilliseconds = 200;

// Workers of equal shards arrive within microseconds of each other, and a
// futex sleep and wake-up costs tens of microseconds, twice a step. So a
// waiter first polls the generation for a short while and sleeps only if
// the barrier has not opened by then.
const kSpinIterations = 2000;

/**
 * Blocks until all `parties` workers have called it for the same generation.
 *
 * Each caller reads the generation before it arrives. The last to arrive
 * resets the arrival count before it bumps the generation, so a fast worker
 * that races ahead to the next barrier counts itself into a fresh round, and
 * no waiter can mistake the next round's generation for its own. Atomics
 * operations are sequentially consistent, which also makes every plain write
 * to shared memory before the barrier visible to every worker after it: that
 * is what lets gradients and parameters live in ordinary typed arrays.
 */
export function arriveAndWait(control: Int32Array, parties: number): void {
  const generation = Atomics.load(control, kBarrierGeneration);
  if (Atomics.add(control, kBarrierArrivals, 1) === parties - 1) {
    Atomics.store(control, kBarrierArrivals, 0);
    Atomics.add(control, kBarrierGeneration, 1);
    Atomics.notify(control, kBarrierGeneration);
    return;
  }
  for (let spin = 0; spin < kSpinIterations; spin++) {
    if (Atomics.load(control, kBarrierGeneration) !== generation) return;
  }
  while (Atomics.load(control, kBarrierGeneration) === generation) {
    if (Atomics.load(control, kStopRequest) !== 0) throw new StopRequested(kStopMessage);
    Atomics.wait(control, kBarrierGeneration, generation, kStopCheckMilliseconds);
  }
}
