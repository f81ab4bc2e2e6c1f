// Writes IDX files of every element type for tests: the magic number, the
// big-endian sizes, then the values big-endian, as the format lays them out.
import { writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';

/** The IDX element types by name, with their type codes and value widths. */
export const kIdxTypes = {
  uint8: { code: 0x08, bytes: 1 },
  int8: { code: 0x09, bytes: 1 },
  int16: { code: 0x0b, bytes: 2 },
  int32: { code: 0x0c, bytes: 4 },
  float32: { code: 0x0d, bytes: 4 },
  float64: { code: 0x0e, bytes: 8 },
} as const;

export type IdxTypeName = keyof typeof kIdxTypes;

/** The bytes of an IDX file of `type` with `dimensions`, holding `values` in order. */
export function idxFileBytes(type: IdxTypeName, dimensions: number[], values: number[]): Buffer {
  const { code, bytes } = kIdxTypes[type];
  const header = 4 + 4 * dimensions.length;
  const file = Buffer.alloc(header + bytes * values.length);
  file[2] = code;
  file[3] = dimensions.length;
  dimensions.forEach((size, axis) => file.writeUInt32BE(size, 4 + 4 * axis));
  const write = {
    uint8: (value: number, at: number) => file.writeUInt8(value, at),
    int8: (value: number, at: number) => file.writeInt8(value, at),
    int16: (value: number, at: number) => file.writeInt16BE(value, at),
    int32: (value: number, at: number) => file.writeInt32BE(value, at),
    float32: (value: number, at: number) => file.writeFloatBE(value, at),
    float64: (value: number, at: number) => file.writeDoubleBE(value, at),
  }[type];
  values.forEach((value, index) => write(value, header + bytes * index));
  return file;
}

/** Writes an IDX file to `path`, gzipped when `gzip` is true. */
export async function writeIdxFile(
  path: string,
  type: IdxTypeName,
  dimensions: number[],
  values: number[],
  gzip = false,
): Promise<void> {
  const bytes = idxFileBytes(type, dimensions, values);
  await writeFile(path, gzip ? gzipSync(bytes) : bytes);
}
