// The entropy-coded part of a baseline JPEG: Huffman-decodes each block's
// coefficients, dequantizes them and hands them to the IDCT, MCU by MCU.
import { Unsupported, kZigzag } from './jpeg-format.js';
import type { Component, HuffmanTable } from './jpeg-format.js';
import { inverseDct } from './jpeg-samples.js';

/**
 * Reads the entropy-coded bits MSB first, dropping the zero stuffed after each
 * 0xFF. It stops at a marker and never reads past one: running out of bits
 * means truncated or corrupt data, which is left for sharp to judge.
 */
class BitReader {
  private buffer = 0;
  private count = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private position: number,
  ) {}

  /** Tops the buffer up to at least 25 bits where the data allows. */
  private fill(): void {
    while (this.count <= 24) {
      const byte = this.bytes[this.position];
      if (byte === undefined) return;
      if (byte === 0xff) {
        if (this.bytes[this.position + 1] !== 0) return;
        this.position += 2;
      } else this.position += 1;
      this.buffer = (this.buffer << 8) | byte;
      this.count += 8;
    }
  }

  read(bitCount: number): number {
    if (this.count < bitCount) this.fill();
    if (this.count < bitCount) throw new Unsupported();
    this.count -= bitCount;
    return (this.buffer >>> this.count) & ((1 << bitCount) - 1);
  }

  /** The next eight bits without consuming them, or -1 when fewer are left. */
  peekByte(): number {
    if (this.count < 8) this.fill();
    return this.count < 8 ? -1 : (this.buffer >>> (this.count - 8)) & 0xff;
  }

  skip(bitCount: number): void {
    this.count -= bitCount;
  }

  /** Where reading stopped: at the marker after the data, unless more data follows. */
  end(): number {
    return this.position;
  }
}

function readSymbol(reader: BitReader, table: HuffmanTable): number {
  // codes of up to 8 bits come from the lookup table
  const peeked = reader.peekByte();
  if (peeked >= 0) {
    const entry = table.lookup[peeked];
    if (entry !== 0) {
      reader.skip(entry >> 8);
      return entry & 0xff;
    }
  }

  // longer ones bit by bit against each length's largest code
  let code = reader.read(1);
  let length = 1;
  while (code > table.maxCode[length]) {
    if (++length > 16) throw new Unsupported();
    code = (code << 1) | reader.read(1);
  }
  const value = table.values[code + table.valueOffset[length]];
  if (value === undefined) throw new Unsupported();
  return value;
}

/** A coefficient of `size` bits: the upper half of the range as is, the lower half negative. */
function readSigned(reader: BitReader, size: number): number {
  if (size > 16) throw new Unsupported();
  const value = reader.read(size);
  return value < 1 << (size - 1) ? value - (1 << size) + 1 : value;
}

/** Huffman-decodes every block of the scan into its component's samples; returns the end. */
export function decodeScan(
  bytes: Uint8Array,
  start: number,
  components: Component[],
  quantTables: Int32Array[],
  dcTables: HuffmanTable[],
  acTables: HuffmanTable[],
): number {
  const reader = new BitReader(bytes, start);
  const coefficients = new Float64Array(64);
  const workspace = new Float64Array(64);
  const predictions = new Float64Array(components.length);

  const decodeBlock = (index: number, blockRow: number, blockColumn: number) => {
    const component = components[index];
    const quant = quantTables[component.quantTable];
    const ac = acTables[component.acTable];
    coefficients.fill(0);
    const dcSize = readSymbol(reader, dcTables[component.dcTable]);
    predictions[index] += dcSize === 0 ? 0 : readSigned(reader, dcSize);
    coefficients[0] = predictions[index] * quant[0];
    for (let k = 1; k < 64; ) {
      const symbol = readSymbol(reader, ac);
      const size = symbol & 15;
      if (size === 0) {
        if (symbol !== 0xf0) break; // end of block
        k += 16;
        continue;
      }
      k += symbol >> 4;
      if (k > 63) throw new Unsupported();
      const natural = kZigzag[k];
      coefficients[natural] = readSigned(reader, size) * quant[natural];
      k++;
    }
    const stride = component.blocksWide * 8;
    const offset = blockRow * 8 * stride + blockColumn * 8;
    inverseDct(coefficients, workspace, component.samples, offset, stride);
  };

  // MCUs in raster order
  const [first] = components;
  const single = components.length === 1;
  const mcusWide = single ? first.blocksWide : first.blocksWide / first.horizontal;
  const mcusHigh = single ? first.blocksHigh : first.blocksHigh / first.vertical;
  for (let mcu = 0; mcu < mcusWide * mcusHigh; mcu++) {
    const mcuRow = Math.floor(mcu / mcusWide);
    const mcuColumn = mcu % mcusWide;
    if (single) {
      decodeBlock(0, mcuRow, mcuColumn);
      continue;
    }
    for (let index = 0; index < components.length; index++) {
      const { vertical, horizontal } = components[index];
      for (let v = 0; v < vertical; v++) {
        for (let h = 0; h < horizontal; h++) {
          decodeBlock(index, mcuRow * vertical + v, mcuColumn * horizontal + h);
        }
      }
    }
  }
  return reader.end();
}

