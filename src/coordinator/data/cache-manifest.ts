// The manifest syncgrad writes into a folder it unpacks into the cache: each
// file's size and SHA-256. A later load checks the folder against it before
// reading, so a file damaged or replaced in the cache is never used as data.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, errorCode } from './common.js';

/** The manifest's name inside the folder it describes. */
export const kCacheManifest = 'syncgrad-manifest.json';

/** Bumped when the layout below changes, so an older manifest fails the check, not the parse. */
const kManifestVersion = 1;

/** Chunks the files are hashed in: large reads keep the check near the disk's speed. */
const kHashChunkBytes = 1 << 20;

interface ManifestEntry {
  name: string;
  size: number;
  sha256: string;
}

interface CacheManifest {
  version: number;
  files: ManifestEntry[];
}

/**
 * Writes the manifest of `files` (names inside `folder`) into `folder`. It
 * goes to a temporary name first and is renamed into place, so a manifest is
 * either whole or absent, never half written.
 */
export async function writeCacheManifest(folder: string, files: readonly string[]): Promise<void> {
  const entries: ManifestEntry[] = [];
  for (const name of files) {
    const path = join(folder, name);
    entries.push({ name, size: (await stat(path)).size, sha256: await sha256OfFile(path) });
  }
  const manifest: CacheManifest = { version: kManifestVersion, files: entries };
  const partial = join(folder, `${kCacheManifest}.${process.pid}.partial`);
  try {
    await writeFile(partial, `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(partial, join(folder, kCacheManifest));
  } finally {
    await rm(partial, { force: true });
  }
}

/**
 * Checks `folder` against its manifest: each of `files` must be listed, and
 * have the size and SHA-256 recorded there. Returns undefined when all match,
 * else what differs, in words, for a message.
 */
export async function checkCacheManifest(
  folder: string,
  files: readonly string[],
): Promise<string | undefined> {
  const manifest = await readManifest(join(folder, kCacheManifest));
  if (typeof manifest === 'string') return manifest;

  const problems: string[] = [];
  for (const name of files) {
    const recorded = manifest.files.find((entry) => entry.name === name);
    if (recorded === undefined) {
      problems.push(`${kCacheManifest} does not list ${name}`);
      continue;
    }
    const path = join(folder, name);
    const size = await stat(path).then(
      (stats) => (stats.isFile() ? stats.size : undefined),
      () => undefined,
    );
    if (size === undefined) {
      problems.push(`${name} is missing`);
    } else if (size !== recorded.size) {
      problems.push(`${name} is ${size} bytes, but was ${recorded.size} bytes when unpacked`);
    } else {
      const sha256 = await sha256OfFile(path).catch((error: unknown) => error);
      if (typeof sha256 !== 'string') {
        problems.push(`${name} cannot be read (${describe(sha256)})`);
      } else if (sha256 !== recorded.sha256) {
        problems.push(`${name} has SHA-256 ${sha256}, but ${recorded.sha256} when unpacked`);
      }
    }
  }
  return problems.length === 0 ? undefined : problems.join('; ');
}

/** The parsed manifest, or what is wrong with it. */
async function readManifest(path: string): Promise<CacheManifest | string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return `it has no ${kCacheManifest}`;
    return `its ${kCacheManifest} cannot be read (${describe(error)})`;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return `its ${kCacheManifest} is not JSON (${describe(error)})`;
  }
  const manifest = parsed as Partial<CacheManifest> | null;
  const valid =
    manifest?.version === kManifestVersion &&
    Array.isArray(manifest.files) &&
    manifest.files.every(
      (entry: Partial<ManifestEntry> | null) =>
        typeof entry?.name === 'string' &&
        typeof entry.size === 'number' &&
        typeof entry.sha256 === 'string',
    );
  if (!valid) return `its ${kCacheManifest} is not a version ${kManifestVersion} manifest`;
  return manifest as CacheManifest;
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: kHashChunkBytes })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}
