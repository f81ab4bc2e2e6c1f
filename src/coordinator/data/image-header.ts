// Tells from the first bytes of a PNG or JPEG whether it is a plain grayscale
// image. sharp turns grayscale into three equal RGB channels unless asked to
// keep it, and a dataset should keep the channels its files have.

const kPngSignature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Offset of the colour type: signature (8), length (4), "IHDR" (4), size (8), bit depth (1). */
const kPngColourTypeOffset = 25;
const kPngGray = 0;

/** True for a PNG of colour type gray or a JPEG with one component; false otherwise. */
export function isGrayscale(bytes: Uint8Array): boolean {
  if (kPngSignature.every((byte, index) => bytes[index] === byte)) {
    return bytes[kPngColourTypeOffset] === kPngGray;
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return jpegComponentCount(bytes) === 1;
  return false;
}

/**
 * Walks the JPEG marker segments up to the start-of-frame marker, whose
 * payload is precision (1 byte), height (2), width (2), component count (1).
 */
function jpegComponentCount(bytes: Uint8Array): number | undefined {
  let position = 2;
  while (position + 4 <= bytes.length) {
    if (bytes[position] !== 0xff) return undefined;
    const marker = bytes[position + 1];
    if (marker === 0xff) {
      position += 1; // fill byte
      continue;
    }
    const isFrame = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
    if (isFrame) return bytes[position + 9];
    if (marker === 0xda || marker === 0xd9) return undefined; // scan or end before any frame
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      position += 2; // markers without a length
      continue;
    }
    position += 2 + ((bytes[position + 2] << 8) | bytes[position + 3]);
  }
  return undefined;
}
