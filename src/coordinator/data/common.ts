// Small helpers the dataset loaders share: where the cache lives, how a caught
// error is quoted inside a DatasetError, folder creation that cannot spin, and
// the order names are sorted in.
import type { Stats } from 'node:fs';
import { mkdir, rmdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';

/** `$SYNCGRAD_CACHE_DIR`, else `$XDG_CACHE_HOME/syncgrad`, else `~/.cache/syncgrad`. */
export function defaultCacheDir(): string {
  const environment = process.env;
  if (environment.SYNCGRAD_CACHE_DIR) return environment.SYNCGRAD_CACHE_DIR;
  if (environment.XDG_CACHE_HOME) return join(environment.XDG_CACHE_HOME, 'syncgrad');
  return join(homedir(), '.cache', 'syncgrad');
}

/**
 * The message of a caught value, with its cause when it has one (fetch puts
 * the reason there). A cause the message already quotes is not repeated:
 * node-tar's "zlib: unexpected end of file" carries "unexpected end of file".
 */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message}: ${cause}` : error.message;
}

/** The `code` of a Node system error (`'ENOENT'`, ...), or undefined. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Makes `path` an existing folder, creating missing parents one at a time.
 * Throws a plain Error, one line naming the folder, with the system error's
 * `code` (ENOTDIR when an ancestor is a file) and that folder as `path`, when
 * an ancestor is not a folder or a component cannot be created.
 */
export async function ensureDirectory(path: string): Promise<void> {
  await createDirectories(path);
}

/**
 * Does what `ensureDirectory` does and returns the folders it created,
 * outermost first, so a caller can take them back after a failure.
 *
 * Node's `mkdir(path, { recursive: true })` is not used: on a file system
 * such as procfs, where mkdir fails with ENOENT under an existing folder, it
 * retries forever. Here the nearest existing ancestor is found first, then
 * each missing component gets one plain mkdir, and the first failure ends it.
 */
export async function createDirectories(path: string): Promise<string[]> {
  // walk up to the nearest ancestor that exists; it has to be a folder
  const missing: string[] = [];
  let existing = resolve(path);
  for (;;) {
    let stats: Stats | undefined;
    try {
      stats = await stat(existing);
    } catch (error) {
      const code = errorCode(error);
      // ENOTDIR: a component above is not a folder, and the walk reaches it next
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw folderError(
          code,
          existing,
          `${existing} cannot be inspected (${systemReason(error)})`,
        );
      }
    }
    if (stats?.isDirectory()) break;
    if (stats !== undefined) throw folderError('ENOTDIR', existing, `${existing} is not a folder`);
    const parent = dirname(existing);
    if (parent === existing) throw folderError('ENOENT', existing, `no part of ${path} exists`);
    missing.unshift(existing);
    existing = parent;
  }

  // then each missing component, one plain mkdir at a time
  const created: string[] = [];
  for (const folder of missing) {
    try {
      await mkdir(folder);
    } catch (error) {
      const raced = errorCode(error) === 'EEXIST' && (await isDirectory(folder));
      if (raced) continue;
      throw folderError(
        errorCode(error),
        folder,
        `${folder} cannot be created (${systemReason(error)})`,
      );
    }
    created.push(folder);
  }
  return created;
}

/** Removes `folders` (as returned by `createDirectories`) innermost first, where still empty. */
export async function removeEmptyDirectories(folders: string[]): Promise<void> {
  for (const folder of [...folders].reverse()) {
    try {
      await rmdir(folder);
    } catch {
      return; // not empty, or gone: the folders above stay too
    }
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
}

/** "ENOENT: no such file or directory" out of "ENOENT: no such file or directory, mkdir '/x'". */
function systemReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = errorCode(error);
  return code !== undefined && message.startsWith(`${code}: `) ? message.split(', ')[0] : message;
}

/** A plain Error carrying the system error's `code` and the folder it concerns as `path`. */
function folderError(code: string | undefined, path: string, message: string): Error {
  return Object.assign(new Error(message), { path }, code === undefined ? {} : { code });
}

/**
 * Orders strings by Unicode code point. Plain `<` compares UTF-16 units, which
 * puts characters beyond U+FFFF (stored as surrogates, 0xD800-0xDFFF) before
 * those from U+E000 to U+FFFF; remapping the two ranges at the first differing
 * unit restores code-point order without splitting the strings.
 */
export function compareCodePoints(left: string, right: string): number {
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index++) {
    const leftUnit = left.charCodeAt(index);
    const rightUnit = right.charCodeAt(index);
    if (leftUnit !== rightUnit) return codePointRank(leftUnit) - codePointRank(rightUnit);
  }
  return left.length - right.length;
}

function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/**
 * Compressed bytes given to `gunzipPrefix`. Deflate expands at most about
 * 1,032 to 1, so this bounds what sniffing a gzipped file unpacks to near 1 MB,
 * while any header syncgrad looks for lies in the first few hundred bytes.
 */
const kPrefixBytes = 1024;

/**
 * What the start of a gzip stream unpacks to, for recognizing a file without
 * unpacking it whole; empty when the start is damaged.
 */
export function gunzipPrefix(packed: Uint8Array): Buffer {
  try {
    return gunzipSync(packed.subarray(0, kPrefixBytes), {
      finishFlush: zlibConstants.Z_SYNC_FLUSH, // keep what a partial stream gives
    });
  } catch {
    return Buffer.alloc(0);
  }
}
