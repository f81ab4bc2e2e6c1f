// A decoder for the plain kind of JPEG (baseline Huffman, 8-bit, gray or
// YCbCr) that gives the same bytes as sharp: libjpeg-turbo's accurate integer
// IDCT, its fancy chroma upsampling and its fixed-point colour conversion. It
// exists for speed (sharp spends about a millisecond per call on a 32x32
// image); anything else, or anything odd, returns undefined and goes to sharp.
import { Unsupported, kZigzag } from './jpeg-format.js';
import type { Component, DecodedImage, HuffmanTable } from './jpeg-format.js';
import { toPixels } from './jpeg-samples.js';
import { decodeScan } from './jpeg-scan.js';

/** Larger images are left to sharp, which also enforces its own pixel limit. */
const kMaxPixels = 1 << 22;

/** Decodes `bytes` when it is a JPEG this decoder reproduces exactly, else undefined. */
export function decodeBaselineJpeg(bytes: Uint8Array): DecodedImage | undefined {
  try {
    return decode(bytes);
  } catch (error) {
    if (error instanceof Unsupported || error instanceof RangeError) return undefined;
    throw error;
  }
}

function decode(bytes: Uint8Array): DecodedImage {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new Unsupported();
  const quantTables: Int32Array[] = [];
  const dcTables: HuffmanTable[] = [];
  const acTables: HuffmanTable[] = [];
  let components: Component[] = [];
  let width = 0;
  let height = 0;
  let position = 2;

  // marker segments up to the single scan
  for (;;) {
    if (bytes[position] !== 0xff) throw new Unsupported();
    const marker = bytes[position + 1];
    const length = (bytes[position + 2] << 8) | bytes[position + 3];
    const body = position + 4;
    const end = position + 2 + length;
    if (length < 2 || end > bytes.length) throw new Unsupported();
    if (marker === 0xdb) readQuantTables(bytes, body, end, quantTables);
    else if (marker === 0xc4) readHuffmanTables(bytes, body, end, dcTables, acTables);
    else if (marker === 0xdd) {
      if (bytes[body] !== 0 || bytes[body + 1] !== 0) throw new Unsupported(); // restart markers
    } else if (marker === 0xc0 || marker === 0xc1) {
      if (bytes[body] !== 8) throw new Unsupported();
      height = (bytes[body + 1] << 8) | bytes[body + 2];
      width = (bytes[body + 3] << 8) | bytes[body + 4];
      if (width * height > kMaxPixels) throw new Unsupported();
      components = readFrame(bytes, body + 5, width, height);
    } else if (marker === 0xda) {
      position = readScanHeader(bytes, body, components);
      break;
    } else if (marker === 0xe2 || marker === 0xee) {
      throw new Unsupported(); // a colour profile or Adobe transform would change the colours
    } else if (marker < 0xe0 || marker > 0xef) {
      if (marker !== 0xfe) throw new Unsupported(); // other frame types and markers
    }
    position = end;
  }
  if (width === 0 || height === 0) throw new Unsupported();
  for (const component of components) {
    if (quantTables[component.quantTable] === undefined) throw new Unsupported();
    if (!dcTables[component.dcTable] || !acTables[component.acTable]) throw new Unsupported();
  }

  // entropy-coded data, then the end-of-image marker
  position = decodeScan(bytes, position, components, quantTables, dcTables, acTables);
  if (bytes[position] !== 0xff || bytes[position + 1] !== 0xd9) throw new Unsupported();
  return toPixels(components, width, height);
}

function readQuantTables(bytes: Uint8Array, start: number, end: number, tables: Int32Array[]) {
  let position = start;
  while (position < end) {
    const precision = bytes[position] >> 4;
    const slot = bytes[position] & 15;
    if (precision > 1 || slot > 3 || position + 1 + 64 * (precision + 1) > end) {
      throw new Unsupported();
    }
    const table = new Int32Array(64);
    for (let index = 0; index < 64; index++) {
      table[kZigzag[index]] =
        precision === 0
          ? bytes[position + 1 + index]
          : (bytes[position + 1 + 2 * index] << 8) | bytes[position + 2 + 2 * index];
    }
    tables[slot] = table;
    position += 1 + 64 * (precision + 1);
  }
}

/**
 * Tables recently built, with the bytes that defined them: files from one
 * encoder usually share their tables, and building one costs more than
 * decoding a small image.
 */
const recentTables: { definition: Uint8Array; table: HuffmanTable }[] = [];
const kRecentTables = 8;

function readHuffmanTables(
  bytes: Uint8Array,
  start: number,
  end: number,
  dcTables: HuffmanTable[],
  acTables: HuffmanTable[],
) {
  let position = start;
  while (position < end) {
    const kind = bytes[position] >> 4;
    const slot = bytes[position] & 15;
    const counts = bytes.subarray(position + 1, position + 17);
    const total = counts.reduce((sum, count) => sum + count, 0);
    if (kind > 1 || slot > 3 || position + 17 + total > end) throw new Unsupported();
    const definition = bytes.subarray(position + 1, position + 17 + total);
    let table = recentTables.find((recent) => sameBytes(recent.definition, definition))?.table;
    if (table === undefined) {
      table = buildHuffmanTable(counts, bytes.slice(position + 17, position + 17 + total));
      recentTables.unshift({ definition: definition.slice(), table });
      recentTables.length = Math.min(recentTables.length, kRecentTables);
    }
    (kind === 0 ? dcTables : acTables)[slot] = table;
    position += 17 + total;
  }
}

function sameBytes(one: Uint8Array, other: Uint8Array): boolean {
  if (one.length !== other.length) return false;
  for (let index = 0; index < one.length; index++) if (one[index] !== other[index]) return false;
  return true;
}

/** Canonical codes: each length's codes follow the previous length's, doubled. */
function buildHuffmanTable(counts: Uint8Array, values: Uint8Array): HuffmanTable {
  const maxCode = new Int32Array(17).fill(-1);
  const valueOffset = new Int32Array(17);
  let code = 0;
  let index = 0;
  for (let length = 1; length <= 16; length++) {
    valueOffset[length] = index - code;
    code += counts[length - 1];
    index += counts[length - 1];
    if (code > 1 << length) throw new Unsupported(); // more codes than the length allows
    if (counts[length - 1] > 0) maxCode[length] = code - 1;
    code <<= 1;
  }
  return { lookup: lookupTable(counts, values), maxCode, valueOffset, values };
}

function lookupTable(counts: Uint8Array, values: Uint8Array): Uint16Array {
  const lookup = new Uint16Array(256);
  let code = 0;
  let index = 0;
  for (let length = 1; length <= 8; length++) {
    for (let each = 0; each < counts[length - 1]; each++, code++, index++) {
      const first = code << (8 - length);
      lookup.fill((length << 8) | values[index], first, first + (1 << (8 - length)));
    }
    code <<= 1;
  }
  return lookup;
}

function readFrame(bytes: Uint8Array, start: number, width: number, height: number): Component[] {
  const count = bytes[start];
  if (count !== 1 && count !== 3) throw new Unsupported();
  const components: Component[] = [];
  for (let index = 0; index < count; index++) {
    const offset = start + 1 + 3 * index;
    const horizontal = bytes[offset + 1] >> 4;
    const vertical = bytes[offset + 1] & 15;
    const quantTable = bytes[offset + 2];
    if (horizontal < 1 || horizontal > 2 || vertical < 1 || vertical > 2 || quantTable > 3) {
      throw new Unsupported();
    }
    components.push({
      id: bytes[offset],
      horizontal,
      vertical,
      quantTable,
      dcTable: 0,
      acTable: 0,
      blocksWide: 0,
      blocksHigh: 0,
      width: 0,
      height: 0,
      samples: new Uint8Array(0),
    });
  }

  // sizes follow from the largest sampling factors; storage is whole MCUs
  const maxHorizontal = Math.max(...components.map((component) => component.horizontal));
  const maxVertical = Math.max(...components.map((component) => component.vertical));
  const mcusWide = Math.ceil(width / (8 * maxHorizontal));
  const mcusHigh = Math.ceil(height / (8 * maxVertical));
  for (const component of components) {
    component.width = Math.ceil((width * component.horizontal) / maxHorizontal);
    component.height = Math.ceil((height * component.vertical) / maxVertical);
    // a lone component is not interleaved: its blocks just cover its samples
    const { horizontal, vertical } = component;
    const single = count === 1;
    component.blocksWide = single ? Math.ceil(component.width / 8) : mcusWide * horizontal;
    component.blocksHigh = single ? Math.ceil(component.height / 8) : mcusHigh * vertical;
    component.samples = new Uint8Array(component.blocksWide * component.blocksHigh * 64);
  }
  if (count === 3) checkLayout(components);
  return components;
}

/** YCbCr with all components alike, or with chroma halved both ways (4:2:0); never RGB. */
function checkLayout([luma, blue, red]: Component[]) {
  const isRgb = luma.id === 0x52 && blue.id === 0x47 && red.id === 0x42;
  const alike = (one: Component, other: Component) =>
    one.horizontal === other.horizontal && one.vertical === other.vertical;
  if (isRgb || !alike(blue, red)) throw new Unsupported();
  if (alike(luma, blue)) return;
  const halved = luma.horizontal === 2 && luma.vertical === 2 && blue.horizontal === 1;
  if (!halved || blue.vertical !== 1) throw new Unsupported();
}

function readScanHeader(bytes: Uint8Array, start: number, components: Component[]): number {
  const count = bytes[start];
  if (count !== components.length) throw new Unsupported();
  for (let index = 0; index < count; index++) {
    const component = components[index];
    if (bytes[start + 1 + 2 * index] !== component.id) throw new Unsupported();
    component.dcTable = bytes[start + 2 + 2 * index] >> 4;
    component.acTable = bytes[start + 2 + 2 * index] & 15;
  }
  const spectral = start + 1 + 2 * count;
  if (bytes[spectral] !== 0 || bytes[spectral + 1] !== 63 || bytes[spectral + 2] !== 0) {
    throw new Unsupported();
  }
  return spectral + 3;
}

