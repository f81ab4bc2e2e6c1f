// Reads IDX files, the format of MNIST and Fashion-MNIST: a 4-byte magic
// number, one big-endian 32-bit size per dimension, then the values. Files may
// be gzipped or raw; the gzip magic bytes decide, never the file name.
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { DatasetError } from '../../shared/errors.js';
import { describe } from './common.js';

const gunzipAsync = promisify(gunzip);

/** Type code of unsigned bytes, the only element type image and label files use. */
const kUnsignedByte = 0x08;

/** What to do about a damaged file, for the end of every message below. */
const kFixHint = 're-download it, or delete it from the cache so syncgrad fetches it again';

/** The header and values of one IDX file. */
export interface IdxArray {
  dimensions: number[];
  /** The values, in a buffer of their own (not a view into the file's bytes). */
  values: Uint8Array;
}

export interface IdxImages {
  count: number;
  height: number;
  width: number;
  pixels: Uint8Array;
}

/** Reads an IDX file from disk, gunzipping it when it starts with the gzip magic. */
export async function readIdxFile(path: string, expectedRank: number): Promise<IdxArray> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new DatasetError(path, `cannot read IDX file ${path}: ${describe(error)}`);
  }

  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = await gunzipAsync(bytes);
    } catch (error) {
      throw new DatasetError(
        path,
        `${path} starts like a gzip file but cannot be unpacked (${describe(error)}); ` +
          `it is probably truncated or damaged: ${kFixHint}`,
      );
    }
  }
  diagnoseNonIdx(bytes, path);
  return parseIdx(bytes, path, expectedRank);
}

/** IDX element types by code, for naming what a file holds. */
const kElementTypes: Record<number, string> = {
  0x08: 'unsigned bytes',
  0x09: 'signed bytes',
  0x0b: '16-bit integers',
  0x0c: '32-bit integers',
  0x0d: '32-bit floats',
  0x0e: '64-bit floats',
};

/**
 * Recognizes the files most often found under an IDX name that are not IDX
 * data at all, so the message can say what the file is and how to get the
 * real one: an empty file, a Git LFS pointer, a hex dump saved as text.
 */
function diagnoseNonIdx(bytes: Uint8Array, path: string): void {
  if (bytes.length === 0) {
    throw new DatasetError(path, `${path} is empty (0 bytes), not an IDX file; ${kFixHint}`);
  }
  const head = Buffer.from(bytes.subarray(0, 200)).toString('latin1');
  if (head.startsWith('version https://git-lfs.github.com/spec/')) {
    throw new DatasetError(
      path,
      `${path} is a Git LFS pointer (${bytes.length} bytes of text naming the real file), not ` +
        `the IDX data; run 'git lfs pull' in the repository it came from, or download the file ` +
        `itself`,
    );
  }
  const plainDump = /^(?:[0-9a-fA-F]{2,8}[ \t]*){4,}/.test(head) && /^[0-9a-fA-F\s]+$/.test(head);
  const xxdDump = /^[0-9a-fA-F]{8}: (?:[0-9a-fA-F]{4} ){2}/.test(head);
  if (plainDump || xxdDump) {
    throw new DatasetError(
      path,
      `${path} holds text hex digits ('${head.slice(0, 24).trim()}...'), a hex dump of an IDX ` +
        `file rather than the binary file; turn it back into bytes with ` +
        `'xxd -r${plainDump ? ' -p' : ''} ${path} out.idx', or download the binary file`,
    );
  }
}

/** Checks the header of an IDX array of unsigned bytes against the bytes actually there. */
export function parseIdx(bytes: Uint8Array, path: string, expectedRank: number): IdxArray {
  // magic: two zero bytes, the element type, the number of dimensions
  const headerLength = 4 + 4 * expectedRank;
  if (bytes.length < 4) {
    throw new DatasetError(
      path,
      `${path} is not an IDX file: expected at least 4 header bytes, found ${bytes.length}; ` +
        kFixHint,
    );
  }
  const found = Array.from(bytes.subarray(0, 4), (byte) => hex(byte)).join(' ');
  const expected = `00 00 ${hex(kUnsignedByte)} ${hex(expectedRank)}`;
  const elementType = kElementTypes[bytes[2]];
  if (bytes[0] === 0 && bytes[1] === 0 && bytes[2] !== kUnsignedByte && elementType) {
    throw new DatasetError(
      path,
      `${path} is an IDX file of ${elementType} (type ${hex(bytes[2])}); syncgrad reads IDX ` +
        `images and labels of unsigned bytes (type 08), as MNIST and Fashion-MNIST ship them; ` +
        `convert its values to 0..255 bytes first`,
    );
  }
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== kUnsignedByte || bytes[3] !== expectedRank) {
    throw new DatasetError(
      path,
      `${path} is not an IDX file of unsigned bytes with ${expectedRank} dimension(s): ` +
        `expected magic ${expected}, found ${found}; ${kFixHint}`,
    );
  }
  if (bytes.length < headerLength) {
    throw new DatasetError(
      path,
      `${path} is truncated: expected a ${headerLength}-byte header, found ${bytes.length} ` +
        `bytes in all; ${kFixHint}`,
    );
  }

  // sizes, then exactly their product of values
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dimensions: number[] = [];
  for (let axis = 0; axis < expectedRank; axis++) dimensions.push(view.getUint32(4 + 4 * axis));
  const valueCount = dimensions.reduce((product, size) => product * size, 1);
  const actual = bytes.length - headerLength;
  if (actual !== valueCount) {
    const state = actual < valueCount ? 'is truncated' : 'has extra bytes at the end';
    throw new DatasetError(
      path,
      `${path} ${state}: its header declares ${dimensions.join('x')} = ${valueCount} values, ` +
        `found ${actual} bytes after the header; ${kFixHint}`,
    );
  }
  return { dimensions, values: new Uint8Array(bytes.subarray(headerLength)) };
}

/** Reads a rank-3 IDX file of images [count, height, width]. */
export async function readIdxImages(path: string): Promise<IdxImages> {
  const { dimensions, values } = await readIdxFile(path, 3);
  const [count, height, width] = dimensions;
  return { count, height, width, pixels: values };
}

/**
 * Reads a rank-1 IDX file of labels and checks it matches its image file in
 * count and that every label names one of `classCount` classes.
 */
export async function readIdxLabels(
  path: string,
  imageCount: number,
  imagesPath: string,
  classCount: number,
): Promise<Int32Array> {
  const { dimensions, values } = await readIdxFile(path, 1);
  if (dimensions[0] !== imageCount) {
    throw new DatasetError(
      path,
      `${path} has ${dimensions[0]} labels but ${imagesPath} has ${imageCount} images; ` +
        `expected one label per image, so the two files are from different sets or one is ` +
        `damaged: ${kFixHint}`,
    );
  }
  const outOfRange = values.findIndex((label) => label >= classCount);
  if (outOfRange >= 0) {
    throw new DatasetError(
      path,
      `${path} has label ${values[outOfRange]} at position ${outOfRange}; expected labels ` +
        `0 to ${classCount - 1}; ${kFixHint}`,
    );
  }
  return Int32Array.from(values);
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
