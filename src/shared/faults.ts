// The test-only fault switch, SYNCGRAD_TEST_FAULT, read by the coordinator
// and by the workers alike: it injects a failure at a chosen step, so tests
// can check that training survives it. Unset, it does nothing.
//
//   worker-throw@N   a worker throws during step N
//   worker-exit@N    a worker thread exits during step N
//   worker-kill@N    a worker parks itself in step N and the coordinator
//                    terminates its thread there
//   nonfinite@N      a worker's loss is NaN at step N
//   nonfinite-gradient@N
//                    one of a worker's gradients is NaN at step N, its loss finite
//   checkpoint-enospc@N, checkpoint-eacces@N
//                    the checkpoint written after update N fails (disk full,
//                    permission denied) after part of it is written
//   checkpoint-pause@N
//                    the checkpoint written after update N stalls for 2 s
//                    before its rename, saying so on stderr (to kill it there)
//
// A trailing `!` repeats a worker fault on every recomputation of the step.

export type FaultKind =
  | 'throw'
  | 'exit'
  | 'kill'
  | 'nonfinite'
  | 'nonfinite-gradient'
  | 'checkpoint-enospc'
  | 'checkpoint-eacces'
  | 'checkpoint-pause';

export interface Fault {
  kind: FaultKind;
  step: number;
  repeated: boolean;
}

const kKinds = [
  'worker-throw',
  'worker-exit',
  'worker-kill',
  'nonfinite-gradient',
  'nonfinite',
  'checkpoint-enospc',
  'checkpoint-eacces',
  'checkpoint-pause',
];
const kPattern = new RegExp(`^(${kKinds.join('|')})@(\\d+)(!?)$`);

/** The fault the environment asks for, or undefined. */
export function injectedFault(): Fault | undefined {
  const match = kPattern.exec(process.env.SYNCGRAD_TEST_FAULT ?? '');
  if (!match) return undefined;
  const kind = match[1].replace(/^worker-/, '') as FaultKind;
  return { kind, step: Number(match[2]), repeated: match[3] === '!' };
}
