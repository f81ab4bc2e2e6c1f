// Downloads one dataset file over HTTP(S) and checks its MD5 before anyone can
// use it. Bytes go to `<file>.part`, which is renamed only once the checksum
// matches, so an interrupted or wrong download never looks like a complete file.
import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { DatasetError } from '../../shared/errors.js';
import { createDirectories, describe } from './common.js';
import type { LoadProgress } from './progress.js';

/**
 * A download that failed on this machine's side: the cache folder cannot be
 * created or written. Retrying the server does not help, so a caller reports
 * it as it is instead of as a dataset that could not be fetched.
 */
export class CacheFolderError extends DatasetError {}

/**
 * Creates the cache folder `folder` (under `cacheDir`) that a step such as
 * `'download MNIST'` writes into, and returns the folders it created so a
 * failure can take them back; a folder that cannot be created is a
 * CacheFolderError.
 */
export async function createCacheFolder(
  folder: string,
  cacheDir: string,
  step: string,
): Promise<string[]> {
  try {
    return await createDirectories(folder);
  } catch (error) {
    throw new CacheFolderError(
      cacheDir,
      `cannot ${step} into the cache folder ${cacheDir}: ` +
        `${describe(error)}; expected a folder syncgrad can create and write to, so pass a ` +
        `writable folder with --cache-dir (or set SYNCGRAD_CACHE_DIR)`,
    );
  }
}

/** A download that receives nothing for this long is given up. */
const kIdleTimeoutMs = 30_000;

/** Suffix of the file a download writes into until its checksum has been checked. */
export const kPartSuffix = '.part';

/**
 * Fetches `url` into `destination`, whose folder must exist, failing with a
 * DatasetError when the server cannot be reached, answers with an error
 * status, stops midway or sends bytes whose MD5 is not `md5`, and with a
 * CacheFolderError when the file cannot be written. Nothing is left at
 * `destination` then.
 */
export async function downloadFile(
  url: string,
  destination: string,
  md5: string,
  onProgress?: (event: LoadProgress) => void,
): Promise<void> {
  const part = destination + kPartSuffix;
  const file = basename(destination);

  // abort when the connection goes quiet, not after a fixed total time
  const controller = new AbortController();
  let idleTimer = setTimeout(() => controller.abort(), kIdleTimeoutMs);
  const stillAlive = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => controller.abort(), kIdleTimeoutMs);
  };

  let receivedBytes = 0;
  let totalBytes: number | undefined;
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: controller.signal });
    } catch (error) {
      throw failure(url, `the server could not be reached (${reason(error, controller)})`);
    }
    if (!response.ok || response.body === null) {
      throw failure(url, `the server answered ${response.status} ${response.statusText}`.trim());
    }

    // stream into the part file, hashing as the bytes arrive
    const lengthHeader = response.headers.get('content-length');
    totalBytes = lengthHeader === null ? undefined : Number(lengthHeader);
    const hash = createHash('md5');
    const output = await writing(part, () => open(part, 'w'));
    try {
      for await (const chunk of response.body) {
        stillAlive();
        hash.update(chunk);
        await writing(part, () => output.write(chunk));
        receivedBytes += chunk.length;
        onProgress?.({ kind: 'download', file, url, receivedBytes, totalBytes, finished: false });
      }
    } catch (error) {
      if (error instanceof CacheFolderError) throw error;
      const got = `${receivedBytes} of ${totalBytes ?? 'an unknown number of'} bytes`;
      throw failure(url, `the transfer broke off after ${got} (${reason(error, controller)})`);
    } finally {
      await writing(part, () => output.close());
    }

    // only a file with the published checksum takes its final name
    const actual = hash.digest('hex');
    if (actual !== md5) {
      throw new DatasetError(
        url,
        `downloading ${url} gave a file with the wrong checksum: expected md5 ${md5}, ` +
          `got md5 ${actual} (${receivedBytes} bytes); the file was deleted. Try again later, ` +
          `or fetch the file yourself and pass its folder with --data-dir`,
      );
    }
    await writing(destination, () => rename(part, destination));
    onProgress?.({ kind: 'download', file, url, receivedBytes, totalBytes, finished: true });
  } catch (error) {
    await rm(part, { force: true }).catch(() => {});
    const end = { receivedBytes, totalBytes, finished: true, failed: true };
    onProgress?.({ kind: 'download', file, url, ...end });
    throw error;
  } finally {
    clearTimeout(idleTimer);
  }
}

/** The URL of `file` in the folder `baseUrl`, which may or may not end in a slash. */
export function fileUrl(baseUrl: string, file: string): string {
  return new URL(file, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).href;
}

/**
 * Runs one file-system step of writing `path` into the cache, turning its
 * failure into a CacheFolderError that names `what` is written.
 */
export async function writing<T>(
  path: string,
  step: () => Promise<T>,
  what = `the download ${path}`,
): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw new CacheFolderError(
      path,
      `cannot write ${what} (${describe(error)}); expected a cache folder syncgrad can ` +
        `write to, so free some space or fix its permissions, or pass another folder with ` +
        `--cache-dir`,
    );
  }
}

function failure(url: string, what: string): DatasetError {
  return new DatasetError(url, `downloading ${url} failed: ${what}`);
}

function reason(error: unknown, controller: AbortController): string {
  if (controller.signal.aborted) return `no data for ${kIdleTimeoutMs / 1000} s`;
  return describe(error);
}
