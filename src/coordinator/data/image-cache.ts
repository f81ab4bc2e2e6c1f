// The decoded-image cache: one file per image folder holding its labels and raw
// pixels, so later runs skip decoding. A cache file is trusted only when its
// header, the folder listing it was built from and its SHA-256 all check out;
// anything else is treated as absent and rebuilt. A cache folder that cannot be
// read or written is reported to the caller, which decides what that costs.
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ensureDirectory, errorCode } from './common.js';
import { sharedPixels } from '../../shared/images.js';

/*
 * Layout, all integers unsigned 32-bit little-endian:
 *   0  magic "SGIMAGES"          8 bytes
 *   8  format version            (kVersion)
 *  12  image count
 *  16  height, 20 width, 24 channels
 *  28  byte length of the metadata JSON
 *  32  SHA-256 of the folder listing the images were decoded from (32 bytes)
 *  64  SHA-256 of everything after the fixed header (32 bytes)
 *  96  metadata JSON: { folder, classNames, bad }, bad listing the files left out
 *      labels, count x int32 in the machine's byte order (the cache stays on it)
 *      pixels, count x height x width x channels bytes
 */
const kMagic = Buffer.from('SGIMAGES', 'latin1');
/** 2: JPEGs decoded by jpeg-js, whose pixels differ slightly from those of version 1. */
const kVersion = 2;
const kFixedHeaderBytes = 96;
const kListingDigestOffset = 32;
const kPayloadDigestOffset = 64;

export interface CachedImages {
  count: number;
  height: number;
  width: number;
  channels: number;
  classNames: string[];
  labels: Int32Array;
  pixels: Uint8Array;
  /** Files that could not be decoded and were left out, with the reason, to report again. */
  bad?: { file: string; reason: string }[];
}

/** Where the cache of `folder` (an absolute path, of a folder or a manifest) lives. */
export function imageCacheFile(cacheDir: string, folder: string): string {
  const name = createHash('sha256').update(folder).digest('hex');
  return join(cacheDir, 'images', `${name}.bin`);
}

/**
 * Reads a cache file built under `listingDigest` (which callers mix from the
 * listing and the reading options that change the pixels), or gives
 * undefined when there is none or it is stale or damaged. Throws the
 * system error when the file cannot even be opened for another reason than
 * being absent (a cache folder that is a file, or one without permission).
 */
export async function readImageCache(
  file: string,
  listingDigest: Buffer,
): Promise<CachedImages | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  try {
    // the fixed header, checked against the listing and the file's real length
    const header = Buffer.alloc(kFixedHeaderBytes);
    const { bytesRead } = await handle.read(header, 0, kFixedHeaderBytes, 0);
    if (bytesRead !== kFixedHeaderBytes || !header.subarray(0, 8).equals(kMagic)) return undefined;
    if (header.readUInt32LE(8) !== kVersion) return undefined;
    const listing = header.subarray(kListingDigestOffset, kListingDigestOffset + 32);
    if (!listing.equals(listingDigest)) return undefined;
    const count = header.readUInt32LE(12);
    const height = header.readUInt32LE(16);
    const width = header.readUInt32LE(20);
    const channels = header.readUInt32LE(24);
    const metadataBytes = header.readUInt32LE(28);
    const pixelBytes = count * height * width * channels;
    const { size } = await handle.stat();
    if (size !== kFixedHeaderBytes + metadataBytes + 4 * count + pixelBytes) return undefined;

    // the rest, straight into the arrays handed out, hashed on the way
    const metadata = Buffer.alloc(metadataBytes);
    const labels = new Int32Array(count);
    const pixels = sharedPixels(pixelBytes);
    const labelBytes = new Uint8Array(labels.buffer);
    let position = kFixedHeaderBytes;
    const hash = createHash('sha256');
    for (const part of [metadata, labelBytes, pixels]) {
      const { bytesRead: partBytes } = await handle.read(part, 0, part.length, position);
      if (partBytes !== part.length) return undefined;
      hash.update(part);
      position += part.length;
    }
    const expected = header.subarray(kPayloadDigestOffset, kPayloadDigestOffset + 32);
    if (!hash.digest().equals(expected)) return undefined;

    const { classNames, bad } = JSON.parse(metadata.toString('utf8')) as Pick<
      CachedImages,
      'classNames' | 'bad'
    >;
    return { count, height, width, channels, classNames, labels, pixels, bad: bad ?? [] };
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

/**
 * Writes a cache file through a temporary file and a rename, so a reader sees
 * the old file or the complete new one. On failure the temporary file is
 * removed and the error thrown; no half-written file is left under either name.
 */
export async function writeImageCache(
  file: string,
  listingDigest: Buffer,
  folder: string,
  images: CachedImages,
): Promise<void> {
  const { classNames, bad } = images;
  const metadata = Buffer.from(JSON.stringify({ folder, classNames, bad: bad ?? [] }), 'utf8');
  const { labels } = images;
  const labelBytes = new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength);
  const payload = [metadata, labelBytes, images.pixels];

  // fixed header
  const header = Buffer.alloc(kFixedHeaderBytes);
  kMagic.copy(header, 0);
  header.writeUInt32LE(kVersion, 8);
  header.writeUInt32LE(images.count, 12);
  header.writeUInt32LE(images.height, 16);
  header.writeUInt32LE(images.width, 20);
  header.writeUInt32LE(images.channels, 24);
  header.writeUInt32LE(metadata.length, 28);
  listingDigest.copy(header, kListingDigestOffset);
  const hash = createHash('sha256');
  for (const part of payload) hash.update(part);
  hash.digest().copy(header, kPayloadDigestOffset);

  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await ensureDirectory(dirname(file));
    await writeFile(temporary, [header, ...payload]);
    await rename(temporary, file);
  } catch (error) {
    // rm fails too (ENOTDIR, not ENOENT) when the folder is a file; that must
    // not replace the error that says why the write failed
    await rm(temporary, { force: true }).catch(() => {});
    throw error;
  }
}
