// Decides what kind of dataset a path holds, from its name, its type and its
// first bytes, so each kind can go to its own reader: a CSV of pixels, a CSV
// manifest of image paths and labels, an IDX images file, the CIFAR-10 binary
// batches (a folder or the official archive) or a folder of class subfolders.
import { open, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';

import { DatasetError } from '../../shared/errors.js';
import { describe, gunzipPrefix } from './common.js';

/** Every kind of dataset `--dataset` takes, for messages that list them. */
export const kDatasetKinds =
  'a dataset name (fashion-mnist, mnist, cifar10), a folder of class subfolders of images, ' +
  'a manifest .csv of image paths and labels, a .csv file of pixels, an IDX images file, or ' +
  'the CIFAR-10 binary batches (a folder or the .tar.gz archive)';

export type SourceKind = 'csv' | 'manifest' | 'idx' | 'cifar-binary' | 'folder';

/** Bytes read to recognize a file: a CSV's first rows, a gzip stream's first block. */
const kSniffBytes = 64 * 1024;

/** The extensions of image files a folder or manifest may hold (any case). */
export const kImageExtensions = ['png', 'jpg', 'jpeg', 'gif', 'bmp'] as const;
export const kImageFile = new RegExp(`\\.(${kImageExtensions.join('|')})$`, 'i');

/** The first batch file of CIFAR-10's binary version, which marks a folder as one. */
export const kCifarFirstBatch = 'data_batch_1.bin';
/** The folder the official CIFAR-10 binary archive unpacks into. */
export const kCifarFolder = 'cifar-10-batches-bin';

export async function sourceKind(path: string, role: '--dataset' | '--test'): Promise<SourceKind> {
  const stats = await stat(path).catch(() => undefined);
  if (stats === undefined) {
    // a missing folder is reported by the folder reader, which knows the layout to suggest
    return /\.(csv|gz|tgz|tar)$/i.test(path) || /idx\d/i.test(path)
      ? missing(path, role)
      : 'folder';
  }
  if (stats.isDirectory()) {
    const cifar = [join(path, kCifarFirstBatch), join(path, kCifarFolder, kCifarFirstBatch)];
    const found = await Promise.all(
      cifar.map((file) =>
        stat(file).then(
          () => true,
          () => false,
        ),
      ),
    );
    return found.some(Boolean) ? 'cifar-binary' : 'folder';
  }

  const head = await readHead(path);
  const name = basename(path).toLowerCase();
  if (name.endsWith('.csv')) return isManifest(head) ? 'manifest' : 'csv';
  if (/\.(tar\.gz|tgz|tar)$/.test(name)) return 'cifar-binary';
  return 'idx';
}

function missing(path: string, role: string): never {
  throw new DatasetError(path, `${role} ${path} does not exist; expected ${kDatasetKinds}`);
}

/** The first bytes of a file, unpacked when it is gzipped (a partial stream is fine). */
async function readHead(path: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
    const buffer = Buffer.alloc(kSniffBytes);
    const { bytesRead } = await handle.read(buffer, 0, kSniffBytes, 0);
    const head = buffer.subarray(0, bytesRead);
    if (head[0] !== 0x1f || head[1] !== 0x8b) return head;
    const unpacked = gunzipPrefix(head);
    return unpacked.length > 0 ? unpacked : head;
  } catch (error) {
    throw new DatasetError(path, `cannot read ${path} (${describe(error)}); check its permissions`);
  } finally {
    await handle?.close();
  }
}

/** Header names of a manifest's path column, any case. */
export const kManifestPathHeaders = ['path', 'file', 'filename', 'image'];

/**
 * A manifest lists image files: a CSV whose first data row (the header
 * skipped) names a file with an image extension in some cell, or whose
 * header names a path column (so that a manifest with no rows is told apart).
 */
function isManifest(head: Buffer): boolean {
  const lines = head.toString('utf8').split(/\r?\n/, 3);
  const cells = (line: string) => line.split(',').map((cell) => cell.trim().replace(/^"|"$/g, ''));
  if (cells(lines[0]).some((cell) => kManifestPathHeaders.includes(cell.toLowerCase()))) {
    return true;
  }
  return lines.slice(0, 2).some((line) => cells(line).some((cell) => kImageFile.test(cell)));
}
