// Seeded damage to dataset files, for the loader fuzz test: bytes cut, flipped,
// inserted, deleted or appended; gzip wrapping and damaged gzip streams; a file
// replaced by text; header fields of IDX and image files set to extreme values;
// CSV cells and line endings gone wrong. Every step says in words what it did,
// so a failing case can be rebuilt by hand from its description.
import { gzipSync } from 'node:zlib';

import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** A seeded source of the random choices one fuzz stream makes. */
export class Fuzz {
  private readonly random: ReturnType<typeof xoroshiro128plus>;

  constructor(seed: number, stream: number) {
    this.random = xoroshiro128plus((seed ^ Math.imul(stream + 1, 0x9e3779b1)) | 0);
  }

  /** A whole number from `min` to `max`, both included. */
  int(min: number, max: number): number {
    return uniformInt(this.random, min, max);
  }

  chance(probability: number): boolean {
    return this.int(0, 999_999) < probability * 1_000_000;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  bytes(length: number): Buffer {
    return Buffer.from(Array.from({ length }, () => this.int(0, 255)));
  }
}

/** One kind of damage: the damaged bytes, and what was done in words. */
export type Damage = (bytes: Buffer, fuzz: Fuzz) => [Buffer, string];

/** Applies `steps` kinds of damage drawn from `menu`, in turn; returns the bytes and the steps. */
export function corrupt(
  bytes: Buffer,
  fuzz: Fuzz,
  menu: readonly Damage[],
  steps = fuzz.pick([1, 1, 1, 2, 3]),
): [Buffer, string[]] {
  const done: string[] = [];
  for (let step = 0; step < steps; step++) {
    const [damaged, said] = fuzz.pick(menu)(bytes, fuzz);
    bytes = damaged;
    done.push(said);
  }
  return [bytes, done];
}

export const truncate: Damage = (bytes, fuzz) => {
  const length = fuzz.chance(0.15) ? 0 : fuzz.int(0, bytes.length);
  return [bytes.subarray(0, length), `cut to ${length} of ${bytes.length} bytes`];
};

export const flipBytes: Damage = (bytes, fuzz) => {
  const copy = Buffer.from(bytes);
  if (copy.length === 0) return [copy, 'no byte to flip'];
  const places = Array.from({ length: fuzz.int(1, 6) }, () => fuzz.int(0, copy.length - 1));
  for (const place of places) copy[place] ^= fuzz.int(1, 255);
  return [copy, `flipped the bytes at ${places.join(', ')}`];
};

const insertRun: Damage = (bytes, fuzz) => {
  const at = fuzz.int(0, bytes.length);
  const length = fuzz.int(1, 64);
  const run = fuzz.chance(0.5) ? fuzz.bytes(length) : Buffer.alloc(length, fuzz.pick([0, 0xff]));
  const inserted = Buffer.concat([bytes.subarray(0, at), run, bytes.subarray(at)]);
  return [inserted, `inserted ${length} bytes at ${at}`];
};

const deleteRun: Damage = (bytes, fuzz) => {
  const at = fuzz.int(0, bytes.length);
  const length = fuzz.int(1, 32);
  const kept = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + length)]);
  return [kept, `deleted up to ${length} bytes at ${at}`];
};

const appendGarbage: Damage = (bytes, fuzz) => {
  const garbage = fuzz.chance(0.5) ? fuzz.bytes(fuzz.int(1, 200)) : Buffer.from('\ngarbage\n');
  return [Buffer.concat([bytes, garbage]), `appended ${garbage.length} bytes of garbage`];
};

const gzipWrap: Damage = (bytes) => [gzipSync(bytes), 'gzipped'];

/** The last 8 bytes of a gzip stream: the CRC-32 and the unpacked length. */
const damageTrailer: Damage = (bytes, fuzz) => {
  const copy = Buffer.from(bytes);
  const at = Math.max(0, copy.length - fuzz.int(1, 8));
  if (at < copy.length) copy[at] ^= fuzz.int(1, 255);
  return [copy, `flipped the trailer byte at ${at}`];
};

const damageGzip: Damage = (bytes, fuzz) => {
  const [damaged, step] = fuzz.pick([truncate, flipBytes, deleteRun, damageTrailer, appendGarbage])(
    gzipSync(bytes),
    fuzz,
  );
  return [damaged, `gzipped, then ${step}`];
};

/** The bytes as `xxd -p` writes them: 30 bytes a line in hex. */
function plainHexDump(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return (hex.match(/.{1,60}/g) ?? []).join('\n') + '\n';
}

/** The bytes as `xxd` writes them: offset, eight groups of two bytes, then the text. */
function xxdDump(bytes: Buffer): string {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16);
    const groups = (row.toString('hex').match(/.{1,4}/g) ?? []).join(' ');
    const text = [...row].map((byte) =>
      byte >= 32 && byte < 127 ? String.fromCharCode(byte) : '.',
    );
    lines.push(`${at.toString(16).padStart(8, '0')}: ${groups.padEnd(39)}  ${text.join('')}`);
  }
  return lines.join('\n') + '\n';
}

const kTexts: Record<string, string> = {
  'a Git LFS pointer':
    'version https://git-lfs.github.com/spec/v1\n' +
    'oid sha256:8d4c1b2b1c7f2f0e1a6b1d0e3f4a5b6c7d8e9f00112233445566778899aabbcc\n' +
    'size 47040016\n',
  'an HTML page':
    '<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n' +
    '<body><h1>Not Found</h1><p>The requested URL was not found.</p></body></html>\n',
  'a JSON error': '{"error": "rate limited", "retry_after": 60}\n',
  'one word': 'null',
};

const replaceWithText: Damage = (bytes, fuzz) => {
  const choice = fuzz.int(0, 3);
  if (choice === 0) return [Buffer.from(plainHexDump(bytes)), 'replaced by its xxd -p hex dump'];
  if (choice === 1) return [Buffer.from(xxdDump(bytes)), 'replaced by its xxd hex dump'];
  const name = fuzz.pick(Object.keys(kTexts));
  return [Buffer.from(kTexts[name]), `replaced by ${name}`];
};

/** Damage any file can take, whatever its format. */
export const kByteDamage: readonly Damage[] = [
  truncate,
  truncate,
  flipBytes,
  flipBytes,
  insertRun,
  deleteRun,
  appendGarbage,
  gzipWrap,
  damageGzip,
  replaceWithText,
];

/** Extreme values for a header field of `width` bytes, with its present value nudged. */
function extremeValue(width: 1 | 2 | 4, present: number, fuzz: Fuzz): number {
  const top = 2 ** (8 * width) - 1;
  const values = [0, 1, 2, top, (top + 1) / 2, (top + 1) / 2 - 1, present + 1, present - 1];
  return Math.min(top, Math.max(0, fuzz.pick(values)));
}

/** A header field: its name for the description, byte offset, width and byte order. */
export interface HeaderField {
  name: string;
  at: number;
  width: 1 | 2 | 4;
  littleEndian?: boolean;
}

/** Sets one of `fields` of a copy of `bytes` to an extreme value. */
export function setField(bytes: Buffer, fields: HeaderField[], fuzz: Fuzz): [Buffer, string] {
  const field = fuzz.pick(fields);
  const copy = Buffer.from(bytes);
  if (field.at + field.width > copy.length) return [copy, `no ${field.name} field to set`];
  const { at, width, littleEndian = false } = field;
  const present = littleEndian ? copy.readUIntLE(at, width) : copy.readUIntBE(at, width);
  const value = extremeValue(width, present, fuzz);
  if (littleEndian) copy.writeUIntLE(value, at, width);
  else copy.writeUIntBE(value, at, width);
  return [copy, `set the ${field.name} (byte ${at}) to ${value}`];
}

/** An IDX header field set to an extreme: the element type, the rank or one size. */
export const idxHeaderDamage: Damage = (bytes, fuzz) => {
  const copy = Buffer.from(bytes);
  if (copy.length < 4) return [copy, 'no IDX header to damage'];
  const choice = fuzz.int(0, 3);
  if (choice === 0) {
    const code = fuzz.pick([0x00, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xff]);
    copy[2] = code;
    return [copy, `set the element type code to 0x${code.toString(16)}`];
  }
  if (choice === 1) {
    const rank = fuzz.pick([0, 1, 2, 3, 4, 5, 255, copy[3] + 1, copy[3] - 1]) & 0xff;
    copy[3] = rank;
    return [copy, `set the dimension count to ${rank}`];
  }
  const sizes = Array.from({ length: copy[3] }, (_, axis) => ({
    name: `size of dimension ${axis}`,
    at: 4 + 4 * axis,
    width: 4 as const,
  }));
  return sizes.length === 0 ? [copy, 'no IDX size to set'] : setField(copy, sizes, fuzz);
};

/**
 * IDX values damaged in place, the header and the length kept: bytes set to
 * 0x00, 0x7f, 0x80 or 0xff (which make NaN, infinities, huge and negative
 * numbers of the wider types) or flipped at random.
 */
export const idxValueDamage: Damage = (bytes, fuzz) => {
  const copy = Buffer.from(bytes);
  const start = copy.length >= 4 ? 4 + 4 * copy[3] : copy.length;
  if (start >= copy.length) return [copy, 'no IDX value to damage'];
  const places = Array.from({ length: fuzz.int(1, 4) }, () => fuzz.int(start, copy.length - 1));
  const value = fuzz.pick([0x00, 0x7f, 0x80, 0xff, -1]);
  for (const place of places) copy[place] = value < 0 ? fuzz.int(0, 255) : value;
  const said = value < 0 ? 'random values' : `0x${value.toString(16)}`;
  return [copy, `set the value bytes at ${places.join(', ')} to ${said}`];
};

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'bmp';

/** The header fields of each image format worth setting to extremes. */
function imageFields(format: ImageFormat, bytes: Buffer): HeaderField[] {
  if (format === 'png') {
    return [
      { name: 'IHDR width', at: 16, width: 4 },
      { name: 'IHDR height', at: 20, width: 4 },
      { name: 'IHDR bit depth', at: 24, width: 1 },
      { name: 'IHDR colour type', at: 25, width: 1 },
      { name: 'IHDR length', at: 8, width: 4 },
    ];
  }
  if (format === 'gif') {
    return [
      { name: 'screen width', at: 6, width: 2, littleEndian: true },
      { name: 'screen height', at: 8, width: 2, littleEndian: true },
      { name: 'screen flags', at: 10, width: 1 },
    ];
  }
  if (format === 'bmp') {
    return [
      { name: 'file size', at: 2, width: 4, littleEndian: true },
      { name: 'pixel offset', at: 10, width: 4, littleEndian: true },
      { name: 'info header size', at: 14, width: 4, littleEndian: true },
      { name: 'width', at: 18, width: 4, littleEndian: true },
      { name: 'height', at: 22, width: 4, littleEndian: true },
      { name: 'bits per pixel', at: 28, width: 2, littleEndian: true },
      { name: 'compression', at: 30, width: 4, littleEndian: true },
      { name: 'palette size', at: 46, width: 4, littleEndian: true },
    ];
  }
  // a JPEG's frame header (SOF0 or SOF2): its length, height, width and components
  const frame = bytes.findIndex(
    (byte, at) => byte === 0xff && (bytes[at + 1] === 0xc0 || bytes[at + 1] === 0xc2),
  );
  const start = frame < 0 ? 2 : frame;
  return [
    { name: 'frame header length', at: start + 2, width: 2 },
    { name: 'frame height', at: start + 5, width: 2 },
    { name: 'frame width', at: start + 7, width: 2 },
    { name: 'frame components', at: start + 9, width: 1 },
    { name: 'first marker length', at: 4, width: 2 },
  ];
}

/** One header field of an image of `format` set to an extreme value. */
export function imageHeaderDamage(format: ImageFormat): Damage {
  return (bytes, fuzz) => setField(bytes, imageFields(format, bytes), fuzz);
}

/** Cell values that are not a pixel or a label, or are one only by a stretch. */
const kBadCells = [
  'abc',
  'NaN',
  'Infinity',
  '-1',
  '256',
  '3.5',
  '1e3',
  '0x1f',
  '+5',
  '007',
  '99999999999999999999999',
  '1e308',
  '',
  '"',
  '""',
  '"12"',
  '"1,2"',
  'a"b',
  '"multi\n\nline"',
  '\u0000',
  '\u0661\u0662',
  '10000',
  '9999',
];

/** Damage to a CSV file's text: a cell, a column, a row, or the line endings. */
export const csvDamage: Damage = (bytes, fuzz) => {
  const rows = bytes
    .toString('utf8')
    .split(/\r?\n/)
    .filter((line) => line !== '')
    .map((line) => line.split(','));
  if (rows.length === 0) return [bytes, 'no CSV row to damage'];
  const row = fuzz.int(0, rows.length - 1);
  const column = fuzz.int(0, rows[row].length - 1);
  let endings = () => '\n';
  let step: string;
  const choice = fuzz.int(0, 7);
  if (choice <= 2) {
    const cell = fuzz.pick(kBadCells);
    rows[row][column] = cell;
    step = `set row ${row} column ${column} to ${JSON.stringify(cell)}`;
  } else if (choice === 3) {
    rows[row].push(fuzz.pick(['0', '', 'x']));
    step = `added a column to row ${row}`;
  } else if (choice === 4) {
    rows[row].pop();
    step = `removed the last column of row ${row}`;
  } else if (choice === 5) {
    endings = () => fuzz.pick(['\n', '\r\n', '\r', '\n\n', '\r\r\n']);
    step = 'mixed LF, CRLF and CR line endings';
  } else if (choice === 6) {
    rows.splice(row, 0, [...rows[fuzz.int(0, rows.length - 1)]]);
    step = `repeated a row before row ${row}`;
  } else {
    rows.splice(row, 1);
    step = `removed row ${row}`;
  }
  const bom = fuzz.chance(0.1) ? '\ufeff' : '';
  const text = bom + rows.map((cells) => cells.join(',') + endings()).join('');
  return [Buffer.from(text), bom === '' ? step : `${step}, with a byte order mark`];
};
