// The error classes syncgrad throws for problems a user can fix. The CLI prints
// their message alone (no stack trace) and exits non-zero; anything else that
// escapes is a bug in syncgrad and is printed in full.

/**
 * Base class of every error syncgrad reports to users. Messages follow one
 * pattern: what was wrong and where (file or option), what was expected,
 * what was found, and how to fix it.
 */
export class SyncgradError extends Error {
  override name = 'SyncgradError';
}

/** A command-line flag or library option has a value that cannot work. */
export class OptionError extends SyncgradError {
  override name = 'OptionError';

  constructor(
    readonly option: string,
    message: string,
  ) {
    super(message);
  }
}

/** A dataset file or folder is missing, unreadable or malformed. */
export class DatasetError extends SyncgradError {
  override name = 'DatasetError';

  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** A saved model folder is missing or cannot be read back. */
export class ModelFileError extends SyncgradError {
  override name = 'ModelFileError';

  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** A training run was stopped through its AbortSignal. */
export class TrainingAbortedError extends SyncgradError {
  override name = 'TrainingAbortedError';

  /** The checkpoint written as training stopped, when a checkpoint folder was given. */
  checkpoint?: string;
}

/** The requested compute backend cannot run in worker threads on this machine. */
export class BackendError extends SyncgradError {
  override name = 'BackendError';
}

/** The requested gradient engine cannot load in worker threads on this machine. */
export class EngineError extends SyncgradError {
  override name = 'EngineError';
}

/**
 * Training stopped because a step cannot be completed: a worker failed at it
 * again and again, or its loss was not finite. `step` is the update number.
 */
export class TrainingFailedError extends SyncgradError {
  override name = 'TrainingFailedError';

  /** The checkpoint written as training stopped, when one was. */
  checkpoint?: string;

  constructor(
    readonly step: number,
    message: string,
  ) {
    super(message);
  }
}
