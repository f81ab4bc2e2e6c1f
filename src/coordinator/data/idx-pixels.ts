// How the values of an IDX images file become pixels. Unsigned bytes, and
// integers of any width that all lie in 0..255, stay 8-bit pixels (scaled by
// 1/255 later, like every 8-bit source). Other integers are scaled to 0..1 by
// the training file's minimum and maximum, into floats. Floats are used as
// they are, and must all be finite. The test file follows the training file's
// scale, so both sets meet the model on one scale.
import { DatasetError } from '../../shared/errors.js';
import type { IdxArray } from './idx.js';
import { sharedPixels } from '../../shared/images.js';

/** How an images file's values map to pixels; the training file's decides for both sets. */
export type PixelScale =
  /** Whole numbers 0..255: 8-bit pixels. */
  | { kind: 'bytes' }
  /** Other integers: `(value - minimum) / (maximum - minimum)`, as floats. */
  | { kind: 'range'; minimum: number; maximum: number }
  /** Floats: used as they are. */
  | { kind: 'given' };

/** The scale of a training images file, from its element type and its values. */
export function pixelScaleOf(images: IdxArray): PixelScale {
  if (!images.integer) return { kind: 'given' };
  if (images.values instanceof Uint8Array) return { kind: 'bytes' };
  const { minimum, maximum } = extent(images);
  if (minimum >= 0 && maximum <= 255) return { kind: 'bytes' };
  return { kind: 'range', minimum, maximum };
}

/**
 * The pixels of `images` on `scale`, with a notice when integers are scaled.
 * A float file needs a float scale and an integer file an integer one, since
 * floats are taken as already normalized and integers are not.
 */
export function toPixels(
  images: IdxArray,
  path: string,
  scale: PixelScale,
  role: 'training' | 'test',
  notice: (message: string) => void,
): Uint8Array | Float32Array {
  if (images.integer !== (scale.kind !== 'given')) {
    const kind = (integer: boolean) => (integer ? 'integers' : 'floats');
    throw new DatasetError(
      path,
      `${path} holds ${images.typeName} but the training images hold ` +
        `${kind(!images.integer)}; expected test images of the same kind, since floats are ` +
        `used as they are and integers are scaled: write both files with one element type`,
    );
  }
  if (scale.kind === 'given') return finitePixels(images, path);

  // unsigned bytes on an 8-bit scale are already pixels, in a buffer of their own
  if (scale.kind === 'bytes' && images.values instanceof Uint8Array) return images.values;
  const { minimum, maximum } = extent(images);
  if (scale.kind === 'bytes') {
    if (minimum >= 0 && maximum <= 255) {
      const pixels = sharedPixels(images.values.length);
      pixels.set(images.values);
      return pixels;
    }
    // a test set past the training set's 0..255 keeps the 1/255 scale, as floats
    notice(
      `${path} holds ${images.typeName} from ${minimum} to ${maximum}, past the training ` +
        `images' 0..255; they are scaled by 1/255 like the training images`,
    );
    return Float32Array.from(images.values, (value) => value / 255);
  }

  const span = scale.maximum - scale.minimum || 1;
  const range = `${scale.minimum} to ${scale.maximum}`;
  notice(
    role === 'training'
      ? `${path} holds ${images.typeName} from ${range}, not 8-bit pixel values; they are ` +
          `scaled to 0..1 by that range`
      : `${path} holds ${images.typeName} from ${minimum} to ${maximum}; they are scaled ` +
          `by the training images' range, ${range}`,
  );
  return Float32Array.from(images.values, (value) => (value - scale.minimum) / span);
}

/** Float values as 32-bit pixels; a NaN, an infinity or a value too large is an error. */
function finitePixels(images: IdxArray, path: string): Float32Array {
  const pixels = Float32Array.from(images.values);
  const bad = pixels.findIndex((value) => !Number.isFinite(value));
  if (bad < 0) return pixels;
  const value = images.values[bad];
  const offset = images.dataOffset + bad * images.valueBytes;
  const where = images.gzipped ? ' of its unpacked bytes' : '';
  const found = Number.isFinite(value) ? `${value}, too large for a 32-bit float,` : String(value);
  throw new DatasetError(
    path,
    `${path} has ${found} at byte offset ${offset}${where} (value ${bad}); expected finite ` +
      `pixel values: replace NaN and infinite values (e.g. by 0) and write the file again`,
  );
}

function extent(images: IdxArray): { minimum: number; maximum: number } {
  let minimum = Infinity;
  let maximum = -Infinity;
  for (const value of images.values) {
    if (value < minimum) minimum = value;
    if (value > maximum) maximum = value;
  }
  return { minimum, maximum };
}
