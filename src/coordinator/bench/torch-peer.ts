// The PyTorch peer of `syncgrad bench`: finds a Python that has torch, then
// trains the same MLP with peers/torch_peer.py and reads back the training
// throughput that script measured.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { SyncgradError } from '../../shared/errors.js';
import type { OptimizerName } from '../../shared/optimizers.js';

const execFileAsync = promisify(execFile);

/** Importing torch from a cold disk cache takes seconds; this is far more. */
const kProbeTimeoutMs = 60_000;

/** Interpreter start-up, `import torch` in each process and gloo's rendezvous. */
const kStartupAllowanceSeconds = 120;

/** What probeTorch found. */
export interface TorchInfo {
  /** The Python interpreter that imported torch. */
  python: string;
  /** torch.__version__, e.g. '2.3.1' or Debian's '1.13.0a0'. */
  version: string;
  /** Whether torch.distributed and its gloo backend are there, as `processes` > 1 needs. */
  distributed: boolean;
}

export interface TorchPeerOptions {
  inputSize: number;
  hiddenSizes: readonly number[];
  outputSize: number;
  /** Samples per step over all processes; each process trains on its share. */
  globalBatch: number;
  optimizer: OptimizerName;
  learningRate: number;
  /** Compute threads in each process. */
  threads: number;
  /** 1 trains in one process; more train with torch.distributed over gloo. */
  processes: number;
  /** Length of the timed run, in seconds. */
  seconds: number;
  /** Untimed steps before the timed run. Default 10. */
  warmupSteps?: number;
  /** Seed of the synthetic data and the initial parameters. Default 1. */
  seed?: number;
  /** Make the labels a fixed function of the inputs, so the loss falls. Default false. */
  learnable?: boolean;
  /** The Python interpreter to run. Default: the one probeTorch() finds. */
  python?: string;
}

/** The JSON line peers/torch_peer.py prints. */
export interface TorchPeerResult {
  samplesPerSecond: number;
  /** Timed steps, after the warm-up. */
  steps: number;
  /** Length of the timed run, in seconds. */
  seconds: number;
  /** Compute threads in each process. */
  threads: number;
  processes: number;
  globalBatch: number;
  torchVersion: string;
  /** The BLAS library the products ran on, e.g. 'OpenBLAS 0.3.21, 1 thread (/usr/lib/...)'. */
  blas: string;
  /** Loss of the first step (of process 0's shard when distributed). */
  firstLoss: number;
  /** Loss of the last timed step (of process 0's shard when distributed). */
  lastLoss: number;
}

const kProbeScript = [
  'import json, torch',
  'import torch.distributed as distributed',
  'gloo = distributed.is_available() and distributed.is_gloo_available()',
  'print(json.dumps({"version": torch.__version__, "distributed": bool(gloo)}))',
].join('\n');

/**
 * The interpreters probeTorch tries when given none: SYNCGRAD_PYTHON alone
 * when set, else python3 on the PATH and then the system's, since a pyenv or
 * virtual-environment python3 often lacks the torch that the system packages
 * installed.
 */
export function pythonCandidates(): string[] {
  const chosen = process.env.SYNCGRAD_PYTHON;
  if (chosen !== undefined && chosen !== '') return [chosen];
  return ['python3', '/usr/bin/python3'];
}

/**
 * Finds a Python that can import torch: `python` alone when given, else the
 * first of pythonCandidates(). Resolves to undefined, never rejects, when
 * there is no such interpreter or it has no torch.
 */
export async function probeTorch(python?: string): Promise<TorchInfo | undefined> {
  for (const candidate of python === undefined ? pythonCandidates() : [python]) {
    const info = await probeOne(candidate);
    if (info !== undefined) return info;
  }
  return undefined;
}

async function probeOne(python: string): Promise<TorchInfo | undefined> {
  try {
    const { stdout } = await execFileAsync(python, ['-c', kProbeScript], {
      timeout: kProbeTimeoutMs,
    });
    const found = JSON.parse(lastLine(stdout)) as { version?: unknown; distributed?: unknown };
    if (typeof found.version !== 'string') return undefined;
    return { python, version: found.version, distributed: found.distributed === true };
  } catch {
    return undefined;
  }
}

/** The default interpreter of runTorchPeer, probed once per process. */
let defaultTorch: Promise<TorchInfo | undefined> | undefined;

/**
 * Trains the MLP with PyTorch for `seconds` after a warm-up and returns the
 * rate it measured. Rejects with a SyncgradError naming the command when
 * Python or torch is missing or the script fails.
 */
export async function runTorchPeer(options: TorchPeerOptions): Promise<TorchPeerResult> {
  const python = options.python ?? (await defaultPython());
  const script = join(packageRoot(), 'peers', 'torch_peer.py');
  if (!existsSync(script)) {
    throw new SyncgradError(`the PyTorch peer script ${script} is missing; reinstall syncgrad`);
  }

  const args = [
    script,
    `--inputs=${options.inputSize}`,
    `--hidden=${options.hiddenSizes.join(',')}`,
    `--outputs=${options.outputSize}`,
    `--batch=${options.globalBatch}`,
    `--optimizer=${options.optimizer}`,
    `--lr=${options.learningRate}`,
    `--threads=${options.threads}`,
    `--processes=${options.processes}`,
    `--seconds=${options.seconds}`,
    `--warmup-steps=${options.warmupSteps ?? 10}`,
    `--seed=${options.seed ?? 1}`,
    ...(options.learnable === true ? ['--learnable'] : []),
  ];
  const command = [python, ...args].join(' ');

  // the warm-up has no time limit of its own, so allow well over the timed run
  const timeoutSeconds = kStartupAllowanceSeconds + 3 * options.seconds;
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(python, args, {
      timeout: timeoutSeconds * 1000,
      maxBuffer: 16 * 1024 * 1024,
    }));
  } catch (error) {
    throw new SyncgradError(`the PyTorch peer failed: ${command} ${why(error, timeoutSeconds)}`);
  }

  return parseResult(stdout, command);
}

async function defaultPython(): Promise<string> {
  defaultTorch ??= probeTorch();
  const info = await defaultTorch;
  if (info === undefined) {
    throw new SyncgradError(
      `the PyTorch peer needs a Python with torch, and none of ${pythonCandidates().join(', ')} ` +
        'could import it; install it (apt-get install python3-torch) or set SYNCGRAD_PYTHON',
    );
  }
  return info.python;
}

/** Says how a failed execFile ended, with the last line the script wrote to stderr. */
function why(error: unknown, timeoutSeconds: number): string {
  const failure = error as NodeJS.ErrnoException & {
    stderr?: string;
    signal?: string | null;
    killed?: boolean;
  };
  if (failure.code === 'ENOENT') return 'could not start: the interpreter was not found';
  if (typeof failure.code === 'string') return `could not start: ${failure.message}`;

  const stderr = lastLine(failure.stderr ?? '');
  const detail = stderr === '' ? '(nothing on stderr)' : stderr;
  if (failure.killed === true && failure.signal === 'SIGTERM') {
    return `was stopped after ${timeoutSeconds} s without finishing: ${detail}`;
  }
  if (typeof failure.signal === 'string') return `was killed by ${failure.signal}: ${detail}`;
  return `exited with code ${String(failure.code)}: ${detail}`;
}

function parseResult(stdout: string, command: string): TorchPeerResult {
  const line = lastLine(stdout);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new SyncgradError(
      `the PyTorch peer printed no JSON result: ${command} ended its output with '${line}'`,
    );
  }

  const numbers = ['samplesPerSecond', 'steps', 'seconds', 'threads', 'processes'] as const;
  for (const field of [...numbers, 'globalBatch', 'firstLoss', 'lastLoss'] as const) {
    if (typeof parsed[field] !== 'number') {
      throw new SyncgradError(
        `the PyTorch peer's result has no number '${field}': ${command} printed ${line}`,
      );
    }
  }
  for (const field of ['torchVersion', 'blas'] as const) {
    if (typeof parsed[field] !== 'string') {
      throw new SyncgradError(
        `the PyTorch peer's result has no text '${field}': ${command} printed ${line}`,
      );
    }
  }
  return parsed as unknown as TorchPeerResult;
}

function lastLine(text: string): string {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return lines.length === 0 ? '' : lines[lines.length - 1].trim();
}

/**
 * The folder of syncgrad's package.json: this file runs from
 * dist/src/coordinator/bench/, and peers/ lies beside dist/.
 */
function packageRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (isSyncgradManifest(join(directory, 'package.json'))) return directory;
    const parent = dirname(directory);
    if (parent === directory) {
      throw new SyncgradError(
        `no package.json named syncgrad above ${fileURLToPath(import.meta.url)}; ` +
          'the PyTorch peer runs only from an installed or built syncgrad',
      );
    }
    directory = parent;
  }
}

function isSyncgradManifest(path: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown }).name === 'syncgrad';
  } catch {
    return false;
  }
}
