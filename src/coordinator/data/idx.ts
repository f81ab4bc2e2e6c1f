// Reads IDX files, the format of MNIST and Fashion-MNIST: a 4-byte magic
// number (two zero bytes, an element type, the number of dimensions), one
// big-endian 32-bit size per dimension, then the values, big-endian too. Files
// may be gzipped or raw; the gzip magic bytes decide, never the file name.
import { readFile } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { DatasetError } from '../../shared/errors.js';
import { describe } from './common.js';
import { rejectSavedText } from './saved-text.js';
import { sharedPixels } from '../../shared/images.js';

/** Unpacked bytes kept from a gzipped file that is not IDX, enough to say what it is. */
const kNonIdxBytes = 64 * 1024;

/** Bytes per value by type code, for bounding what a gzipped file may unpack to. */
const kValueBytes: Record<number, number> = { 8: 1, 9: 1, 11: 2, 12: 4, 13: 4, 14: 8 };

/** Type code of unsigned bytes, the element type of the named datasets' files. */
const kUnsignedByte = 0x08;

/** What to do about a damaged file of a named dataset, for the end of its messages. */
const kFixHint = 're-download it, or delete it from the cache so syncgrad fetches it again';

/** What to do about a damaged file given by path. */
const kUserFileHint = 'write or copy the file again';

/** How the messages about a text file under an IDX name speak of the IDX file. */
const kIdxKind = { data: 'the IDX data', file: 'an IDX file', restored: 'out.idx' };

/** The values of an IDX file, in the typed array of its element type. */
export type IdxValues =
  Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** One element type of the format: its name in messages, its width, and its array kind. */
interface ElementType {
  name: string;
  bytes: number;
  integer: boolean;
  create: (length: number) => IdxValues;
  read: (view: DataView, offset: number) => number;
}

/** A typed-array constructor, such as `Int16Array`. */
interface ArrayKind {
  new (length: number): IdxValues;
  readonly BYTES_PER_ELEMENT: number;
}

function elementType(
  name: string,
  kind: ArrayKind,
  integer: boolean,
  read: (view: DataView, offset: number) => number,
): ElementType {
  return {
    name,
    bytes: kind.BYTES_PER_ELEMENT,
    integer,
    create: (length) => new kind(length),
    read,
  };
}

/** The six element types of the format, by type code. */
const kElementTypes: Record<number, ElementType> = {
  0x08: elementType('unsigned bytes', Uint8Array, true, (view, at) => view.getUint8(at)),
  0x09: elementType('signed bytes', Int8Array, true, (view, at) => view.getInt8(at)),
  0x0b: elementType('16-bit integers', Int16Array, true, (view, at) => view.getInt16(at)),
  0x0c: elementType('32-bit integers', Int32Array, true, (view, at) => view.getInt32(at)),
  0x0d: elementType('32-bit floats', Float32Array, false, (view, at) => view.getFloat32(at)),
  0x0e: elementType('64-bit floats', Float64Array, false, (view, at) => view.getFloat64(at)),
};

/** The header and values of one IDX file. */
export interface IdxArray {
  /** The element type's name, such as `'16-bit integers'`. */
  typeName: string;
  /** True for the four integer types, false for the two float types. */
  integer: boolean;
  /** Bytes per value, for naming the byte offset of a value. */
  valueBytes: number;
  dimensions: number[];
  /** The values, in a buffer of their own (not a view into the file's bytes). */
  values: IdxValues;
  /** Where the values start in the file's (unpacked) bytes. */
  dataOffset: number;
  /** True when the file was gzipped, so byte offsets count the unpacked bytes. */
  gzipped: boolean;
}

export interface IdxImages {
  count: number;
  height: number;
  width: number;
  pixels: Uint8Array;
}

/** Reads any IDX file (every element type, any rank), gunzipping it when it is gzipped. */
export async function readIdxArray(path: string): Promise<IdxArray> {
  const { bytes, gzipped } = await readIdxBytes(path, kUserFileHint);
  return { ...parseIdx(bytes, path, kUserFileHint), gzipped };
}

/** Reads an IDX file from disk, gunzipping it when it starts with the gzip magic. */
async function readIdxBytes(path: string, hint: string) {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new DatasetError(
      path,
      `cannot read IDX file ${path} (${describe(error)}); expected a readable IDX file, so ` +
        `check the path`,
    );
  }

  const gzipped = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (gzipped) {
    try {
      bytes = await gunzipBounded(bytes, path, hint);
    } catch (error) {
      if (error instanceof DatasetError) throw error;
      throw new DatasetError(
        path,
        `${path} starts like a gzip file but cannot be unpacked (${describe(error)}); ` +
          `it is probably truncated or damaged: ${hint}`,
      );
    }
  }
  diagnoseNonIdx(bytes, path, hint);
  return { bytes, gzipped };
}

/**
 * Unpacks a gzipped file, but never past what its IDX header declares: a
 * small file that inflates to gigabytes is reported as soon as it exceeds its
 * declared size, instead of filling memory first.
 */
function gunzipBounded(packed: Buffer, path: string, hint: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let limit: number | undefined;
    const stream = createGunzip();
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      limit ??= declaredLength(Buffer.concat(chunks));
      if (limit !== undefined && total > limit) {
        stream.destroy();
        if (limit === kNonIdxBytes) {
          resolve(Buffer.concat(chunks).subarray(0, kNonIdxBytes));
          return;
        }
        reject(
          new DatasetError(
            path,
            `${path} unpacks to more than the ${limit} bytes its IDX header declares ` +
              `(unpacking stopped after ${total}); it has extra data at the end or is not ` +
              `the file it claims to be: ${hint}`,
          ),
        );
      }
    });
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
    stream.end(packed);
  });
}

/**
 * The length an IDX file's header declares, once `head` holds the header;
 * `kNonIdxBytes` when `head` does not start like IDX (so enough is kept to
 * diagnose it); undefined while the header is incomplete.
 */
function declaredLength(head: Buffer): number | undefined {
  if (head.length < 4) return undefined;
  const valueBytes = kValueBytes[head[2]];
  if (head[0] !== 0 || head[1] !== 0 || valueBytes === undefined || head[3] === 0) {
    return kNonIdxBytes;
  }
  const headerLength = 4 + 4 * head[3];
  if (head.length < headerLength) return undefined;
  let values = 1;
  for (let axis = 0; axis < head[3]; axis++) values *= head.readUInt32BE(4 + 4 * axis);
  return headerLength + values * valueBytes;
}

/**
 * Recognizes the files most often found under an IDX name that are not IDX
 * data at all, so the message can say what the file is and how to get the
 * real one: an empty file, a Git LFS pointer, a hex dump saved as text.
 */
function diagnoseNonIdx(bytes: Uint8Array, path: string, hint: string): void {
  if (bytes.length === 0) {
    throw new DatasetError(path, `${path} is empty (0 bytes), not an IDX file; ${hint}`);
  }
  rejectSavedText(bytes, path, kIdxKind);
}

/** Checks an IDX header against the bytes actually there, then decodes the values. */
function parseIdx(bytes: Uint8Array, path: string, hint: string): Omit<IdxArray, 'gzipped'> {
  // magic: two zero bytes, the element type, the number of dimensions
  if (bytes.length < 4) {
    throw new DatasetError(
      path,
      `${path} is not an IDX file: expected at least 4 header bytes, found ${bytes.length}; ` +
        hint,
    );
  }
  const type = kElementTypes[bytes[2]];
  if (bytes[0] !== 0 || bytes[1] !== 0 || type === undefined) {
    throw new DatasetError(
      path,
      `${path} is not an IDX file: expected magic 00 00, an element type (08, 09, 0b, 0c, 0d ` +
        `or 0e) and a dimension count, found ${magicOf(bytes)}; ${hint}`,
    );
  }
  const rank = bytes[3];
  if (rank === 0) {
    throw new DatasetError(
      path,
      `${path} declares 0 dimensions (magic ${magicOf(bytes)}); expected at least 1; ${hint}`,
    );
  }
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) {
    throw new DatasetError(
      path,
      `${path} is truncated: expected a ${headerLength}-byte header, found ${bytes.length} ` +
        `bytes in all; ${hint}`,
    );
  }

  // sizes, then exactly their product of values
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dimensions: number[] = [];
  for (let axis = 0; axis < rank; axis++) dimensions.push(view.getUint32(4 + 4 * axis));
  const valueCount = dimensions.reduce((product, size) => product * size, 1);
  const actual = bytes.length - headerLength;
  if (actual !== valueCount * type.bytes) {
    const state = actual < valueCount * type.bytes ? 'is truncated' : 'has extra bytes at the end';
    const width = type.bytes === 1 ? '' : ` of ${type.bytes} bytes (${valueCount * type.bytes})`;
    throw new DatasetError(
      path,
      `${path} ${state}: its header declares ${dimensions.join('x')} = ${valueCount} ` +
        `values${width}, found ${actual} bytes after the header; ${hint}`,
    );
  }

  // values, big-endian in the file, into an array of the machine's order
  let values: IdxValues;
  if (bytes[2] === kUnsignedByte) {
    values = sharedPixels(valueCount);
    values.set(bytes.subarray(headerLength, headerLength + valueCount));
  } else {
    values = type.create(valueCount);
    for (let index = 0; index < valueCount; index++) {
      values[index] = type.read(view, headerLength + index * type.bytes);
    }
  }
  const { name: typeName, integer, bytes: valueBytes } = type;
  return { typeName, integer, valueBytes, dimensions, values, dataOffset: headerLength };
}

/**
 * Reads an IDX file of unsigned bytes with `expectedRank` dimensions, the
 * layout of the named datasets' files; any other type or rank is an error.
 */
async function readUnsignedBytes(path: string, expectedRank: number) {
  const { bytes } = await readIdxBytes(path, kFixHint);
  if (bytes.length >= 4) {
    const elementType = kElementTypes[bytes[2]];
    if (bytes[0] === 0 && bytes[1] === 0 && bytes[2] !== kUnsignedByte && elementType) {
      throw new DatasetError(
        path,
        `${path} is an IDX file of ${elementType.name} (type ${hex(bytes[2])}); the named ` +
          `datasets are read from IDX files of unsigned bytes (type 08), as MNIST and ` +
          `Fashion-MNIST ship them; put the published file in its place, or pass the file by ` +
          `path as --dataset`,
      );
    }
    const expected = `00 00 ${hex(kUnsignedByte)} ${hex(expectedRank)}`;
    if (magicOf(bytes) !== expected) {
      throw new DatasetError(
        path,
        `${path} is not an IDX file of unsigned bytes with ${expectedRank} dimension(s): ` +
          `expected magic ${expected}, found ${magicOf(bytes)}; ${kFixHint}`,
      );
    }
  }
  const { dimensions, values } = parseIdx(bytes, path, kFixHint);
  return { dimensions, values: values as Uint8Array };
}

/** Reads a rank-3 IDX file of unsigned-byte images [count, height, width]. */
export async function readIdxImages(path: string): Promise<IdxImages> {
  const { dimensions, values } = await readUnsignedBytes(path, 3);
  const [count, height, width] = dimensions;
  return { count, height, width, pixels: values };
}

/**
 * Reads a rank-1 IDX file of unsigned-byte labels and checks it matches its
 * image file in count and that every label names one of `classCount` classes.
 */
export async function readIdxLabels(
  path: string,
  imageCount: number,
  imagesPath: string,
  classCount: number,
): Promise<Int32Array> {
  const { dimensions, values } = await readUnsignedBytes(path, 1);
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

function magicOf(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4), (byte) => hex(byte)).join(' ');
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
