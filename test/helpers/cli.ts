// Runs the real syncgrad CLI in a child process, as a user would.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const cliPath = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The JSON object on the last line of stdout (the --json contract). */
export function lastJsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}

/** True when the output contains a JavaScript stack frame. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+[(:]\d+/m.test(text);
}

/**
 * The arguments of a short training run of the CLI on a tiny dataset: one
 * epoch, 2 workers, global batch 8, a JSON report; `more` flags follow.
 */
export function shortTrainArgs(dataset: string, ...more: string[]): string[] {
  return ['train', '--dataset', dataset, '--epochs', '1', '--workers', '2', '--batch-size', '8']
    .concat(more)
    .concat('--json');
}
