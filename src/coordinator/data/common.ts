// Small helpers the dataset loaders share: where the cache lives, how a caught
// error is quoted inside a DatasetError, and the order names are sorted in.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$SYNCGRAD_CACHE_DIR`, else `$XDG_CACHE_HOME/syncgrad`, else `~/.cache/syncgrad`. */
export function defaultCacheDir(): string {
  const environment = process.env;
  if (environment.SYNCGRAD_CACHE_DIR) return environment.SYNCGRAD_CACHE_DIR;
  if (environment.XDG_CACHE_HOME) return join(environment.XDG_CACHE_HOME, 'syncgrad');
  return join(homedir(), '.cache', 'syncgrad');
}

/** The message of a caught value, with its cause when it has one (fetch puts the reason there). */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && cause !== error.message ? `${error.message}: ${cause}` : error.message;
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
