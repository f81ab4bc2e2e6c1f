// The JavaScript baseline JPEG decoder must give exactly sharp's bytes, for
// every size and chroma layout it accepts, and must decline everything else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';

import { decodeBaselineJpeg } from '../src/coordinator/data/jpeg-baseline.js';

/** Deterministic pixels: smooth gradients with noise, like photos, or pure noise. */
function pixels(width: number, height: number, channels: number, seed: number): Buffer {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const smooth = seed % 2 === 0;
  return Buffer.from(
    Array.from({ length: width * height * channels }, (_, index) =>
      smooth ? (index * 5 + Math.floor(random() * 40)) % 256 : Math.floor(random() * 256),
    ),
  );
}

interface Case {
  width: number;
  height: number;
  gray: boolean;
  chromaSubsampling: '4:2:0' | '4:4:4';
  quality: number;
}

async function encode({ width, height, gray, chromaSubsampling, quality }: Case, seed: number) {
  const channels = gray ? 1 : 3;
  let image = sharp(pixels(width, height, channels, seed), { raw: { width, height, channels } });
  if (gray) image = image.toColourspace('b-w');
  return image.jpeg({ quality, chromaSubsampling, optimiseCoding: seed % 3 === 0 }).toBuffer();
}

async function sharpDecode(jpeg: Buffer, gray: boolean) {
  const decoder = gray ? sharp(jpeg).toColourspace('b-w') : sharp(jpeg);
  return decoder.raw().toBuffer({ resolveWithObject: true });
}

// sizes around the 8- and 16-pixel block and MCU edges, where upsampling has edge cases
const kSizes = [
  [1, 1],
  [2, 3],
  [3, 2],
  [5, 7],
  [8, 8],
  [9, 16],
  [16, 16],
  [17, 9],
  [28, 28],
  [31, 33],
  [32, 32],
  [40, 5],
];

test('baseline JPEGs decode to exactly the bytes sharp gives', async () => {
  let seed = 1;
  for (const [width, height] of kSizes) {
    for (const layout of ['gray', '4:2:0', '4:4:4'] as const) {
      for (const quality of [10, 75, 97]) {
        const gray = layout === 'gray';
        const chromaSubsampling = layout === '4:4:4' ? '4:4:4' : '4:2:0';
        const jpeg = await encode({ width, height, gray, chromaSubsampling, quality }, seed++);

        const mine = decodeBaselineJpeg(jpeg);
        const reference = await sharpDecode(jpeg, gray);

        const label = `${width}x${height} ${layout} quality ${quality}`;
        assert.ok(mine, `${label}: declined`);
        assert.deepEqual(
          [mine.width, mine.height, mine.channels],
          [reference.info.width, reference.info.height, reference.info.channels],
          label,
        );
        assert.ok(Buffer.from(mine.data).equals(reference.data), `${label}: pixels differ`);
      }
    }
  }
});

test('other images and damaged JPEGs are declined, for sharp to handle', async () => {
  const raw = { raw: { width: 16, height: 16, channels: 3 as const } };
  const source = pixels(16, 16, 3, 4);
  const baseline = await sharp(source, raw).jpeg().toBuffer();
  const progressive = await sharp(source, raw).jpeg({ progressive: true }).toBuffer();
  const png = await sharp(source, raw).png().toBuffer();

  assert.ok(decodeBaselineJpeg(baseline));
  assert.equal(decodeBaselineJpeg(progressive), undefined);
  assert.equal(decodeBaselineJpeg(png), undefined);
  assert.equal(decodeBaselineJpeg(baseline.subarray(0, baseline.length - 40)), undefined);
  assert.equal(decodeBaselineJpeg(baseline.subarray(0, 100)), undefined);
  assert.equal(decodeBaselineJpeg(new Uint8Array([0xff, 0xd8, 0xff])), undefined);
});
