// The sample side of the baseline JPEG decoder, each step in libjpeg-turbo's
// exact integer arithmetic: the IDCT of one block, chroma upsampling and the
// YCbCr to RGB conversion.
import type { Component, DecodedImage } from './jpeg-format.js';

// fixed-point constants of the accurate integer IDCT: round(x * 2^13)
const k0_298631336 = 2446;
const k0_390180644 = 3196;
const k0_541196100 = 4433;
const k0_765366865 = 6270;
const k0_899976223 = 7373;
const k1_175875602 = 9633;
const k1_501321110 = 12299;
const k1_847759065 = 15137;
const k1_961570560 = 16069;
const k2_053119869 = 16819;
const k2_562915447 = 20995;
const k3_072711026 = 25172;
const kConstScale = 8192; // 2^13

/*
 * Rounding right shifts on doubles (products exceed 32 bits): columns drop
 * 13 - 2 bits, keeping 2 extra bits of precision for the rows, which drop
 * 13 + 2 + 3 (the last 3 are the IDCT's 1/8 scale).
 */
const kColumnHalf = 2 ** 10;
const kColumnScale = 1 / 2 ** 11;
const kRowHalf = 2 ** 17;
const kRowScale = 1 / 2 ** 18;

/**
 * Maps an IDCT output, centred on 0, to a sample the way libjpeg does: its
 * index is taken modulo 1024, so 0..127 and 896..1023 are -128..127 shifted
 * up, 128..511 saturate at 255 and 512..895 at 0.
 */
const kIdctLimit = Uint8Array.from({ length: 1024 }, (_, index) => {
  if (index < 128) return index + 128;
  if (index < 512) return 255;
  return index < 896 ? 0 : index - 896;
});

/** The LL&M integer IDCT in libjpeg's arithmetic: columns into `workspace`, then rows. */
export function inverseDct(
  input: Float64Array,
  workspace: Float64Array,
  output: Uint8Array,
  offset: number,
  stride: number,
) {
  for (let pass = 0; pass < 2; pass++) {
    const source = pass === 0 ? input : workspace;
    const step = pass === 0 ? 8 : 1; // distance between the 8 values of one column or row
    const lineStep = pass === 0 ? 1 : 8;
    const half = pass === 0 ? kColumnHalf : kRowHalf;
    const scale = pass === 0 ? kColumnScale : kRowScale;
    for (let line = 0; line < 8; line++) {
      const base = line * lineStep;
      const x0 = source[base];
      const x1 = source[base + step];
      const x2 = source[base + 2 * step];
      const x3 = source[base + 3 * step];
      const x4 = source[base + 4 * step];
      const x5 = source[base + 5 * step];
      const x6 = source[base + 6 * step];
      const x7 = source[base + 7 * step];

      // even part
      const rotated = (x2 + x6) * k0_541196100;
      const even2 = rotated - x6 * k1_847759065;
      const even3 = rotated + x2 * k0_765366865;
      const even0 = (x0 + x4) * kConstScale;
      const even1 = (x0 - x4) * kConstScale;
      const evenA = even0 + even3;
      const evenD = even0 - even3;
      const evenB = even1 + even2;
      const evenC = even1 - even2;

      // odd part
      const z5 = (x7 + x5 + x3 + x1) * k1_175875602;
      const z1 = (x7 + x1) * -k0_899976223;
      const z2 = (x5 + x3) * -k2_562915447;
      const z3 = (x7 + x3) * -k1_961570560 + z5;
      const z4 = (x5 + x1) * -k0_390180644 + z5;
      const odd0 = x7 * k0_298631336 + z1 + z3;
      const odd1 = x5 * k2_053119869 + z2 + z4;
      const odd2 = x3 * k3_072711026 + z2 + z3;
      const odd3 = x1 * k1_501321110 + z1 + z4;

      // butterflies, then the rounding shift
      const v0 = Math.floor((evenA + odd3 + half) * scale);
      const v1 = Math.floor((evenB + odd2 + half) * scale);
      const v2 = Math.floor((evenC + odd1 + half) * scale);
      const v3 = Math.floor((evenD + odd0 + half) * scale);
      const v4 = Math.floor((evenD - odd0 + half) * scale);
      const v5 = Math.floor((evenC - odd1 + half) * scale);
      const v6 = Math.floor((evenB - odd2 + half) * scale);
      const v7 = Math.floor((evenA - odd3 + half) * scale);
      if (pass === 0) {
        workspace[base] = v0;
        workspace[base + 8] = v1;
        workspace[base + 16] = v2;
        workspace[base + 24] = v3;
        workspace[base + 32] = v4;
        workspace[base + 40] = v5;
        workspace[base + 48] = v6;
        workspace[base + 56] = v7;
      } else {
        const at = offset + line * stride;
        output[at] = kIdctLimit[v0 & 1023];
        output[at + 1] = kIdctLimit[v1 & 1023];
        output[at + 2] = kIdctLimit[v2 & 1023];
        output[at + 3] = kIdctLimit[v3 & 1023];
        output[at + 4] = kIdctLimit[v4 & 1023];
        output[at + 5] = kIdctLimit[v5 & 1023];
        output[at + 6] = kIdctLimit[v6 & 1023];
        output[at + 7] = kIdctLimit[v7 & 1023];
      }
    }
  }
}

// YCbCr to RGB in 16-bit fixed point, tabulated per chroma value as libjpeg does
const kHalf = 1 << 15;
const fixed = (value: number) => Math.floor(value * 65536 + 0.5);
const perChroma = (entry: (centred: number) => number) =>
  Int32Array.from({ length: 256 }, (_, value) => entry(value - 128));
const kRedFromCr = perChroma((cr) => (fixed(1.402) * cr + kHalf) >> 16);
const kBlueFromCb = perChroma((cb) => (fixed(1.772) * cb + kHalf) >> 16);
const kGreenFromCr = perChroma((cr) => -fixed(0.71414) * cr);
const kGreenFromCb = perChroma((cb) => -fixed(0.34414) * cb + kHalf);

function clamp(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : value;
}

/** The decoded components as interleaved pixels: gray as is, YCbCr converted to RGB. */
export function toPixels(components: Component[], width: number, height: number): DecodedImage {
  const channels = components.length;
  const data = new Uint8Array(width * height * channels);
  const rows = components.map((component) => new Uint8Array(2 * component.blocksWide * 8));
  const [lumaRow, blueRow, redRow] = rows;
  for (let y = 0; y < height; y++) {
    for (let index = 0; index < channels; index++) {
      fullRow(components[index], components[0], y, width, rows[index]);
    }
    const at = y * width * channels;
    if (channels === 1) {
      data.set(lumaRow.subarray(0, width), at);
      continue;
    }
    for (let x = 0; x < width; x++) {
      const luma = lumaRow[x];
      const blue = blueRow[x];
      const red = redRow[x];
      data[at + 3 * x] = clamp(luma + kRedFromCr[red]);
      data[at + 3 * x + 1] = clamp(luma + ((kGreenFromCb[blue] + kGreenFromCr[red]) >> 16));
      data[at + 3 * x + 2] = clamp(luma + kBlueFromCb[blue]);
    }
  }
  return { data, width, height, channels };
}

/**
 * Row `y` of a component at the image's width. Chroma stored at half width and
 * height is upsampled with libjpeg's "fancy" triangle filter, which weighs the
 * nearer sample 3:1 each way, or by repetition when it is only one or two
 * samples wide, as libjpeg does then.
 */
function fullRow(
  component: Component,
  luma: Component,
  y: number,
  width: number,
  row: Uint8Array,
) {
  const stride = component.blocksWide * 8;
  const input = component.samples;
  const halved = luma.horizontal !== component.horizontal;
  const nearRow = halved ? y >> 1 : y;
  const near = nearRow * stride;
  if (!halved) {
    for (let x = 0; x < width; x++) row[x] = input[near + x];
  } else if (component.width <= 2) {
    for (let x = 0; x < width; x++) row[x] = input[near + (x >> 1)];
  } else {
    const farRow = y & 1 ? Math.min(nearRow + 1, component.height - 1) : Math.max(nearRow - 1, 0);
    upsampleBoth(input, near, farRow * stride, component.width, row);
  }
}

/** One output row from the nearer and the farther input row, weighted 3:1 both ways. */
function upsampleBoth(
  input: Uint8Array,
  near: number,
  far: number,
  count: number,
  output: Uint8Array,
) {
  let previous = input[near] * 3 + input[far];
  let current = previous;
  output[0] = (current * 4 + 8) >> 4;
  for (let column = 0; column < count - 1; column++) {
    const next = input[near + column + 1] * 3 + input[far + column + 1];
    if (column > 0) output[2 * column] = (current * 3 + previous + 8) >> 4;
    output[2 * column + 1] = (current * 3 + next + 7) >> 4;
    previous = current;
    current = next;
  }
  output[2 * count - 2] = (current * 3 + previous + 8) >> 4;
  output[2 * count - 1] = (current * 4 + 7) >> 4;
}
