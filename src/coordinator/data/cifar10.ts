// CIFAR-10 by name and by path: where its binary batch files are looked for,
// how the official archive is checked, downloaded and unpacked into the cache
// (whose unpacked folders are checked against their manifest before each use),
// and how a folder or archive given as --dataset is read.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DatasetError } from '../../shared/errors.js';
import type { DatasetSplits } from '../../shared/images.js';
import { checkCacheManifest } from './cache-manifest.js';
import { md5OfFile, unpackCifarArchive } from './cifar-archive.js';
import { kCifarFiles, missingCifarFiles, readCifarFolder } from './cifar-binary.js';
import { describe, removeEmptyDirectories } from './common.js';
import { CacheFolderError, createCacheFolder, downloadFile, fileUrl } from './download.js';
import { checkDataDir } from './named.js';
import type { LoadProgress } from './progress.js';
import { kCifarFirstBatch, kCifarFolder } from './source-kind.js';

const kTitle = 'CIFAR-10';
/** The subfolder of a data folder and of the cache that holds CIFAR-10. */
const kName = 'cifar10';
const kArchive = 'cifar-10-binary.tar.gz';
const kBaseUrl = 'https://www.cs.toronto.edu/~kriz/';
/** MD5 of cifar-10-binary.tar.gz as published on https://www.cs.toronto.edu/~kriz/cifar.html. */
const kArchiveMd5 = 'c32a1d4ab5d03f1284b67883e8d87530';

/** The names `--dataset` accepts for CIFAR-10. */
export function isCifarName(dataset: string): dataset is 'cifar10' | 'cifar-10' {
  return dataset === 'cifar10' || dataset === 'cifar-10';
}

export interface CifarLoadOptions {
  dataDir?: string;
  cacheDir: string;
  download: boolean;
  baseUrl?: string;
  /** Replaces the published MD5 of the archive; for serving test files. */
  archiveMd5?: string;
  onProgress?: (event: LoadProgress) => void;
}

/**
 * Finds CIFAR-10 and reads it: first in the data folders (the batch files, or
 * the archive, which is unpacked into the cache), then in the cache, else it
 * downloads the archive into the cache and unpacks it there. An archive that
 * came from the data folder or the server is checked against the published
 * MD5 before it is unpacked.
 */
export async function loadCifar10(options: CifarLoadOptions): Promise<DatasetSplits> {
  const dataDirs = [options.dataDir, process.env.SYNCGRAD_DATA_DIR].filter(
    (folder): folder is string => Boolean(folder),
  );
  await checkDataDir(kTitle, kName, options.dataDir, '--data-dir');
  await checkDataDir(kTitle, kName, process.env.SYNCGRAD_DATA_DIR, 'SYNCGRAD_DATA_DIR');
  const md5 = options.archiveMd5 ?? kArchiveMd5;

  // a folder holding every batch file wins
  const searched: string[] = [];
  for (const folder of batchFolders(dataDirs)) {
    const missing = missingCifarFiles(folder);
    if (missing.length === 0) return readCifarFolder(folder);
    searched.push(describePlace(folder, missing));
  }

  // an unpacked cache folder is what any archive would give, so it comes next
  const cacheFolder = join(options.cacheDir, kName);
  const unpacked = join(cacheFolder, kCifarFolder);
  const cached = await checkUnpacked(unpacked, options);
  if (cached.trusted) return readCifarFolder(unpacked);
  searched.push(
    cached.problem === undefined
      ? `${unpacked} (no such folder)`
      : `${unpacked} (removed: ${cached.problem})`,
  );

  // then an archive in a data folder, or one a download left in the cache
  const archives = [...dataDirs.flatMap((folder) => [folder, join(folder, kName)]), cacheFolder];
  for (const archive of [...new Set(archives)].map((folder) => join(folder, kArchive))) {
    if (!existsSync(archive)) {
      searched.push(`${archive} (no such file)`);
      continue;
    }
    await checkArchiveMd5(archive, md5);
    await unpackInto(archive, unpacked, options);
    return readCifarFolder(unpacked);
  }

  // else download the archive, unpack it and delete it
  const source = fileUrl(options.baseUrl ?? kBaseUrl, kArchive);
  let downloadProblem = 'downloading is turned off';
  if (options.download) {
    const archive = join(cacheFolder, kArchive);
    const created = await createCacheFolder(cacheFolder, options.cacheDir, `download ${kTitle}`);
    try {
      await downloadFile(source, archive, md5, options.onProgress);
    } catch (error) {
      await removeEmptyDirectories(created);
      if (!(error instanceof DatasetError) || error instanceof CacheFolderError) throw error;
      downloadProblem = describe(error);
    }
    if (existsSync(archive)) {
      await unpackInto(archive, unpacked, options);
      await rm(archive, { force: true });
      return readCifarFolder(unpacked);
    }
  }
  const retry = options.download
    ? `or run again once ${source} can be reached`
    : `or allow the download of ${source} into ${cacheFolder}`;
  throw new DatasetError(
    cacheFolder,
    `${kTitle} was not found. Looked for ${kCifarFiles.join(', ')} or the archive ` +
      `${kArchive} in:\n${searched.map((line) => `  - ${line}`).join('\n')}\n` +
      `and could not download it: ${downloadProblem}.\nTo fix it, pass a folder holding the ` +
      `files or the archive with --data-dir (or set SYNCGRAD_DATA_DIR), ${retry}`,
  );
}

/**
 * Reads CIFAR-10 from a path given as --dataset: a folder holding the batch
 * files directly or in cifar-10-batches-bin/, or an archive, unpacked once into
 * the cache under a name made from its path, size and time of change. An
 * archive given by path is not held to the published MD5, so a repacked or
 * trimmed copy loads too.
 */
export async function loadCifarPath(
  path: string,
  options: { cacheDir: string; onProgress?: (event: LoadProgress) => void },
): Promise<DatasetSplits> {
  const stats = await stat(path);
  if (stats.isDirectory()) {
    const direct = existsSync(join(path, kCifarFirstBatch));
    return readCifarFolder(direct ? path : join(path, kCifarFolder));
  }
  const key = createHash('sha256')
    .update(`${resolve(path)}\n${stats.size}\n${stats.mtimeMs}`)
    .digest('hex')
    .slice(0, 16);
  const unpacked = join(options.cacheDir, kName, 'archives', key, kCifarFolder);
  const cached = await checkUnpacked(unpacked, options);
  if (!cached.trusted) await unpackInto(path, unpacked, options);
  return readCifarFolder(unpacked);
}

/** The data folders' places, each folder itself and its two usual subfolders. */
function batchFolders(dataDirs: string[]): string[] {
  const folders = dataDirs.flatMap((folder) => [
    folder,
    join(folder, kCifarFolder),
    join(folder, kName),
    join(folder, kName, kCifarFolder),
  ]);
  return [...new Set(folders)];
}

function describePlace(folder: string, missing: string[]): string {
  if (!existsSync(folder)) return `${folder} (no such folder)`;
  if (missing.length === kCifarFiles.length) return `${folder} (none of the files)`;
  return `${folder} (missing ${missing.join(', ')})`;
}

async function checkArchiveMd5(archive: string, md5: string): Promise<void> {
  const actual = await md5OfFile(archive);
  if (actual === md5) return;
  const { size } = await stat(archive);
  throw new DatasetError(
    archive,
    `${archive} has md5 ${actual} (${size} bytes), but the official ${kArchive} has md5 ` +
      `${md5}; it is cut short or another file. Delete ${archive} and run again to download ` +
      `it, or put the archive from ${kBaseUrl}${kArchive} in its place`,
  );
}

/**
 * Whether the folder syncgrad unpacked at `folder` still holds what it did:
 * its manifest must list every batch file with its size and SHA-256. A folder
 * there that fails the check is removed, with a notice saying why, so that
 * the caller unpacks it again; `problem` says what was wrong with it.
 */
async function checkUnpacked(
  folder: string,
  options: { onProgress?: (event: LoadProgress) => void },
): Promise<{ trusted: boolean; problem?: string }> {
  if (!existsSync(folder)) return { trusted: false };
  const problem = await checkCacheManifest(folder, kCifarFiles);
  if (problem === undefined) return { trusted: true };
  options.onProgress?.({
    kind: 'notice',
    message:
      `${folder} is not what syncgrad unpacked there (${problem}); removing it to ` +
      `unpack ${kArchive} into it again`,
  });
  try {
    await rm(folder, { recursive: true, force: true });
  } catch (error) {
    throw new CacheFolderError(
      folder,
      `cannot remove ${folder} (${describe(error)}), which does not match what syncgrad ` +
        `unpacked there (${problem}); expected a cache folder syncgrad can write to, so ` +
        `delete it yourself or pass another folder with --cache-dir`,
    );
  }
  return { trusted: false, problem };
}

/** Unpacks `archive` into `destination`, telling the user, since it takes a while. */
async function unpackInto(
  archive: string,
  destination: string,
  options: { cacheDir: string; onProgress?: (event: LoadProgress) => void },
): Promise<void> {
  options.onProgress?.({ kind: 'notice', message: `unpacking ${archive} into ${destination}` });
  // what stands there failed its check (else it would have been read): the
  // cache is syncgrad's own, so it is replaced rather than left blocking the rename
  await rm(destination, { recursive: true, force: true });
  await unpackCifarArchive(archive, destination, options.cacheDir);
}
