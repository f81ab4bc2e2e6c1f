// Lists an image-folder dataset with fast-glob: its class subfolders, their
// PNG, JPEG, GIF and BMP files in label order, a digest that tells the decoded
// cache whether it still fits, and the count of everything else found there,
// which is skipped. Names are taken literally, spaces and brackets included.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import fastGlob from 'fast-glob';
import type { Entry as FastGlobEntry } from 'fast-glob';

import { DatasetError, OptionError } from '../../shared/errors.js';
import { compareCodePoints, describe } from './common.js';
import { isDatasetName } from './named.js';
import { kDatasetKinds, kImageFile } from './source-kind.js';

/** The image extensions, as messages list them. */
const kExtensionList = '.png, .jpg, .jpeg, .gif or .bmp';

/** The training folder (`--dataset`), or a test folder (`--test`) checked against it. */
export type FolderRole = { kind: 'dataset' } | { kind: 'test'; given: string; trainFolder: string };

/** Entries of a dataset folder that hold no images of it, by why they were skipped. */
export interface SkippedEntries {
  /** Files in a class folder whose extension is not .png, .jpg, .jpeg, .gif or .bmp (any case). */
  notImages: number;
  /** Files and folders whose name starts with a dot, at any level. */
  hidden: number;
  /** Files at the top level, beside the class folders. */
  outsideClasses: number;
  /** Folders inside a class folder; their contents are not read. */
  nestedFolders: number;
}

/** The images of a folder in label order, with a digest of their paths, sizes and mtimes. */
export interface FolderListing {
  folder: string;
  classNames: string[];
  files: string[];
  labels: Int32Array;
  digest: Buffer;
  skipped: SkippedEntries;
}

export async function listFolder(folder: string, role: FolderRole): Promise<FolderListing> {
  const root = resolve(folder);
  const what = role.kind === 'test' ? `test folder ${root} (--test)` : `dataset folder ${root}`;
  const isFolder = await stat(root).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
  if (!isFolder) throw missingFolder(root, role);
  const skipped: SkippedEntries = { notImages: 0, hidden: 0, outsideClasses: 0, nestedFolders: 0 };

  // one fast-glob walk, two levels deep
  const entries = await listEntries(root, what);
  const classNames: string[] = [];
  const byClass = new Map<string, string[]>();
  for (const entry of entries) {
    const parts = entry.path.split('/');
    const folder = entry.dirent.isDirectory();
    if (parts.some((part) => part.startsWith('.'))) {
      if (parts.at(-1)!.startsWith('.')) skipped.hidden++;
    } else if (parts.length === 1) {
      if (folder) classNames.push(parts[0]);
      else skipped.outsideClasses++;
    } else if (folder) {
      skipped.nestedFolders++;
    } else if (kImageFile.test(parts[1])) {
      const images = byClass.get(parts[0]) ?? [];
      images.push(parts[1]);
      byClass.set(parts[0], images);
    } else {
      skipped.notImages++;
    }
  }
  classNames.sort(compareCodePoints);
  if (classNames.length === 0) {
    throw new DatasetError(
      root,
      `${what} has no class subfolders; expected ${root}/<class>/<image>, one subfolder ` +
        `per class of ${kExtensionList} files${likeTraining(role)}`,
    );
  }
  if (classNames.length === 1 && role.kind === 'dataset') {
    throw new DatasetError(
      root,
      `${what} has 1 class subfolder (${classNames[0]}); a classifier needs at least 2, so ` +
        `add one subfolder of images for each further class`,
    );
  }

  // the images of each class, likewise in code-point order
  for (const name of classNames) {
    byClass.set(name, (byClass.get(name) ?? []).sort(compareCodePoints));
  }
  const empty = classNames.filter((name) => byClass.get(name)?.length === 0);
  if (empty.length > 0) {
    throw new DatasetError(
      root,
      `class folder(s) ${empty.join(', ')} in ${what} have no images; expected ` +
        `${kExtensionList} files directly inside each class folder (a folder of train/ and ` +
        `test/ splits is passed as the dataset train/ with --test test/)`,
    );
  }

  // label order, and the digest that decides whether the cache still fits (synchronous
  // stat calls: several times faster than thread-pool ones for tens of thousands of files)
  const files: string[] = [];
  const labels: number[] = [];
  const hash = createHash('sha256').update(`${root}\n`);
  classNames.forEach((name, label) => {
    for (const image of byClass.get(name) ?? []) {
      const path = `${name}/${image}`;
      const file = `${root}/${path}`;
      const { size, mtimeMs } = statOrFail(file);
      files.push(file);
      labels.push(label);
      hash.update(`${path}\t${size}\t${mtimeMs}\n`);
    }
  });
  const digest = hash.digest();
  return { folder: root, classNames, files, labels: Int32Array.from(labels), digest, skipped };
}

/** One line on what a listing skipped, or undefined when it skipped nothing. */
export function skippedNotice(listing: FolderListing): string | undefined {
  const { notImages, hidden, outsideClasses, nestedFolders } = listing.skipped;
  const parts = [
    counted(
      notImages,
      'file that is not a PNG, JPEG, GIF or BMP image',
      'files that are not PNG, JPEG, GIF or BMP images',
    ),
    counted(hidden, 'hidden file or folder', 'hidden files or folders'),
    counted(
      outsideClasses,
      'file outside the class subfolders',
      'files outside the class subfolders',
    ),
    counted(nestedFolders, 'folder inside a class folder', 'folders inside class folders'),
  ].filter((part) => part !== '');
  if (parts.length === 0) return undefined;
  const list =
    parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
  return `ignored ${list} in ${listing.folder}`;
}

function counted(count: number, one: string, many: string): string {
  if (count === 0) return '';
  return `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
}

function missingFolder(root: string, role: FolderRole): Error {
  if (role.kind === 'dataset') {
    return new DatasetError(
      root,
      `dataset folder ${root} does not exist or is not a folder; expected ${kDatasetKinds} ` +
        `(a folder holds one subfolder of ${kExtensionList} images per class)`,
    );
  }
  const found = isDatasetName(role.given)
    ? `--test ${role.given} names a dataset, not a folder`
    : `--test ${role.given}: ${root} does not exist or is not a folder`;
  return new OptionError(
    'test',
    `${found}; a test set must be a folder of class subfolders like the training folder ` +
      `${role.trainFolder}, so pass such a folder (or a manifest .csv) with --test, or leave ` +
      `--test out`,
  );
}

function likeTraining(role: FolderRole): string {
  return role.kind === 'test' ? `, like the training folder ${role.trainFolder}` : '';
}

/**
 * Every entry of the dataset folder and its class folders (two levels), hidden
 * ones included so they can be counted, following symbolic links.
 */
async function listEntries(root: string, what: string): Promise<FastGlobEntry[]> {
  try {
    return await fastGlob('**', {
      cwd: root,
      deep: 2,
      dot: true,
      onlyFiles: false,
      objectMode: true,
      followSymbolicLinks: true,
      suppressErrors: false,
    });
  } catch (error) {
    throw new DatasetError(
      root,
      `cannot list ${what} (${describe(error)}); expected a readable folder, so check its ` +
        `permissions`,
    );
  }
}

function statOrFail(file: string): { size: number; mtimeMs: number } {
  try {
    return statSync(file);
  } catch (error) {
    throw new DatasetError(
      file,
      `cannot read image ${file} (${describe(error)}); expected a readable file, so check ` +
        `its permissions or remove it`,
    );
  }
}
