// Unpacks a CIFAR-10 binary archive (a .tar.gz or .tar holding
// cifar-10-batches-bin/) into the cache with node-tar. It unpacks into a
// temporary folder beside the destination, adds the manifest later loads check
// the files against, and renames the finished folder into place, so an
// interrupted unpack never leaves a folder that looks complete.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { extract } from 'tar';
import { DatasetError } from '../../shared/errors.js';
import { writeCacheManifest } from './cache-manifest.js';
import { kCifarFiles, missingCifarFiles } from './cifar-binary.js';
import {
  compareCodePoints,
  describe,
  errorCode,
  gunzipPrefix,
  removeEmptyDirectories,
} from './common.js';
import { CacheFolderError, createCacheFolder, writing } from './download.js';
import { describeBytes } from './saved-text.js';
import { kCifarFolder } from './source-kind.js';

/** Bytes read to tell gzip from tar: a tar header is 512 bytes, "ustar" sits at 257. */
const kHeadBytes = 1024;
const kTarMagicOffset = 257;

/** The MD5 of a file, read as a stream so a large archive is never held in memory. */
export async function md5OfFile(path: string): Promise<string> {
  const hash = createHash('md5');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (error) {
    throw new DatasetError(path, `cannot read ${path} (${describe(error)}); check its permissions`);
  }
  return hash.digest('hex');
}

/**
 * Unpacks `cifar-10-batches-bin/` of `archive` into `destination` (which must
 * not exist yet; its parent is created), with the manifest of its files. An
 * archive that is not gzip or tar, cannot be unpacked, or lacks the folder or
 * one of its files is a DatasetError naming the archive; a cache that cannot be written is a
 * CacheFolderError. `cacheDir` is only named in that error.
 */
export async function unpackCifarArchive(
  archive: string,
  destination: string,
  cacheDir: string,
): Promise<void> {
  await checkArchiveHead(archive);
  const parent = join(destination, '..');
  const created = await createCacheFolder(parent, cacheDir, `unpack ${archive}`);
  let scratch: string | undefined;
  let unpacked = false;
  try {
    scratch = await writing(parent, () => mkdtemp(join(parent, '.unpacking-')), parent);

    // node-tar keeps every entry inside the scratch folder (no absolute or '..' paths)
    try {
      await extract({ file: archive, cwd: scratch, strict: true });
    } catch (error) {
      if (errorCode(error)?.startsWith('TAR_') || errorCode(error)?.startsWith('Z_')) {
        throw new DatasetError(
          archive,
          `${archive} cannot be unpacked (${describe(error)}); expected the official ` +
            `cifar-10-binary.tar.gz, which may have been cut short, so delete it and ` +
            `download it again`,
        );
      }
      throw new CacheFolderError(
        scratch,
        `cannot unpack ${archive} into ${scratch} (${describe(error)}); expected a cache ` +
          `folder syncgrad can write to, so free some space or pass another --cache-dir`,
      );
    }

    // the archive must hold the folder, and the folder every file
    const folder = join(scratch, kCifarFolder);
    const top = await readdir(scratch);
    if (!top.includes(kCifarFolder)) {
      throw new DatasetError(
        archive,
        `${archive} holds ${holding(top)} but no ${kCifarFolder}/ folder; expected the ` +
          `official cifar-10-binary.tar.gz, whose files are all inside ${kCifarFolder}/. ` +
          `Pass a folder holding the batch files with --dataset instead, or repack it`,
      );
    }
    const missing = missingCifarFiles(folder);
    if (missing.length > 0) {
      throw new DatasetError(
        archive,
        `${archive} lacks ${missing.join(', ')} in ${kCifarFolder}/, which holds ` +
          `${holding(await readdir(folder))}; expected ${kCifarFiles.join(', ')}, so ` +
          `replace it with the complete official archive`,
      );
    }

    // the manifest goes in before the folder is renamed into place, so a
    // folder another load finds there always has one to be checked against
    await writing(folder, () => writeCacheManifest(folder, kCifarFiles), folder);
    await writing(destination, () => rename(folder, destination), destination);
    unpacked = true;
  } finally {
    // node-tar rejects on a broken stream while entries already begun are still
    // being written, so the removal retries until those writes have landed
    const settle = { maxRetries: 10, retryDelay: 50 };
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true, ...settle });
    // folders created for an unpack that failed go again
    if (!unpacked) await removeEmptyDirectories(created);
  }
}

/** Fails naming `archive` when its first bytes are neither gzip nor a tar header. */
async function checkArchiveHead(archive: string): Promise<void> {
  let head: Buffer;
  try {
    const handle = await open(archive, 'r');
    try {
      const buffer = Buffer.alloc(kHeadBytes);
      const { bytesRead } = await handle.read(buffer, 0, kHeadBytes, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new DatasetError(
      archive,
      `cannot read ${archive} (${describe(error)}); check its permissions`,
    );
  }
  const gzipped = head[0] === 0x1f && head[1] === 0x8b;
  const inner = gzipped ? gunzipPrefix(head) : head;
  const magic = inner.subarray(kTarMagicOffset, kTarMagicOffset + 5).toString('latin1');
  if (magic === 'ustar') return;
  // a gzip stream whose first block is too short to reach the tar magic is left to node-tar
  if (gzipped && inner.length <= kTarMagicOffset) return;
  const what = gzipped ? 'gzip data that is not a tar archive' : describeBytes(head);
  throw new DatasetError(
    archive,
    `${archive} is not a CIFAR-10 archive: it holds ${what}; expected a gzipped tar ` +
      `archive (cifar-10-binary.tar.gz) or a plain tar, so download the binary version ` +
      `from https://www.cs.toronto.edu/~kriz/cifar.html again`,
  );
}

/** At most five of `entries`, for a message about what a folder holds. */
function holding(entries: string[]): string {
  if (entries.length === 0) return 'nothing';
  const sorted = [...entries].sort(compareCodePoints);
  const shown = sorted.slice(0, 5).join(', ');
  return entries.length > 5 ? `${shown} and ${entries.length - 5} more` : shown;
}
