// How dataset files are read into images: the options that apply to some
// formats only, and the checks that turn a value that cannot work into an
// OptionError naming its flag.
import { OptionError } from '../../shared/errors.js';
import type { ValueRange } from '../../shared/images.js';

/** An image size, in pixels. */
export interface ImageSize {
  width: number;
  height: number;
}

/** Reading options; each applies to the formats it names and is ignored by the others. */
export interface ReadOptions {
  /**
   * IDX: the labels file of the images file given as the dataset. Default: the
   * file beside it whose name has `labels` in place of `images`.
   */
  labels?: string;
  /** IDX: the labels file of the images file given as the test set. Default: found likewise. */
  testLabels?: string;
  /**
   * IDX: scale integer images by this range instead of the training file's own
   * minimum and maximum; `syncgrad eval` passes the range a model was trained
   * with. Default: the training file's range, when its values leave 0..255.
   */
  valueRange?: ValueRange;
  /**
   * CSV: the label column, by its header name or its zero-based position.
   * Default: the column named `label` (any case), else the first column.
   */
  labelColumn?: string | number;
  /**
   * Image folders and manifests: store 1 (gray) or 3 (RGB) channels. Default:
   * what the images have; see `kChannelRule`.
   */
  channels?: 1 | 3;
  /**
   * Image folders and manifests: resize every image to this size (sharp,
   * Lanczos). Default: none, and images of different sizes are an error.
   */
  imageSize?: ImageSize;
  /**
   * Image folders and manifests: skip images that cannot be read or decoded,
   * and count them in a notice, instead of stopping. Default: false.
   */
  skipBad?: boolean;
}

/**
 * The most classes a source that numbers its classes (CSV, IDX, manifests
 * with number labels) may use: its classes run from 0 to its largest label,
 * so one stray large label would otherwise make a huge output layer.
 */
export const kMostNumberedClasses = 10_000;

/** The largest side `--image-size` accepts; larger images would not fit a dense input layer. */
export const kMaxImageSide = 4096;

/** Rejects reading options that cannot work, naming the flag and the library option. */
export function checkReadOptions(options: ReadOptions): void {
  const { channels, imageSize, labelColumn, skipBad } = options;
  if (channels !== undefined && channels !== 1 && channels !== 3) {
    throw new OptionError(
      'channels',
      `--channels (channels) must be the number 1 (gray) or 3 (RGB), got ${shown(channels)}; ` +
        `leave it out to keep the channels the images have`,
    );
  }
  if (imageSize !== undefined) {
    const sides =
      typeof imageSize === 'object' && imageSize !== null
        ? [imageSize.width, imageSize.height]
        : [undefined];
    if (sides.some((side) => !Number.isInteger(side) || side! < 1 || side! > kMaxImageSide)) {
      const got = sides.length === 2 ? `${shown(sides[0])}x${shown(sides[1])}` : shown(imageSize);
      throw new OptionError(
        'image-size',
        `--image-size (imageSize) needs a whole width and height between 1 and ` +
          `${kMaxImageSide} pixels, got ${got}; example: --image-size 32x32, or ` +
          `imageSize: { width: 32, height: 32 }`,
      );
    }
  }
  const column = typeof labelColumn === 'number' ? String(labelColumn) : labelColumn;
  if (labelColumn !== undefined && (typeof column !== 'string' || column.trim() === '')) {
    throw new OptionError(
      'label-column',
      `--label-column (labelColumn) must be a column name from the header or a zero-based ` +
        `column number such as 0, got ${shown(labelColumn)}`,
    );
  }
  if (skipBad !== undefined && typeof skipBad !== 'boolean') {
    throw new OptionError('skip-bad', `skipBad must be true or false, got ${shown(skipBad)}`);
  }
  for (const [flag, name, path] of [
    ['labels', 'labels', options.labels],
    ['test-labels', 'testLabels', options.testLabels],
  ] as const) {
    if (path !== undefined && (typeof path !== 'string' || path.trim() === '')) {
      throw new OptionError(
        flag,
        `--${flag} (${name}) must be the path of an IDX labels file, got ${shown(path)}`,
      );
    }
  }
}

/** A value as a message shows it: strings quoted, so '1' and 1 differ. */
export function shown(value: unknown): string {
  if (typeof value === 'string') return `'${value}' (a string)`;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value) ?? String(value);
  return String(value);
}

/** Parses `--image-size WxH` (also `W,H` or one number for a square). */
export function parseImageSize(text: string): ImageSize {
  const match = /^\s*(\d+)\s*(?:[xX×,]\s*(\d+))?\s*$/.exec(text);
  if (!match) {
    throw new OptionError(
      'image-size',
      `--image-size must be WIDTHxHEIGHT in pixels, got '${text}'; example: --image-size 32x32`,
    );
  }
  const width = Number(match[1]);
  const height = Number(match[2] ?? match[1]);
  const size = { width, height };
  checkReadOptions({ imageSize: size });
  return size;
}

/** Parses `--channels`, which must be 1 or 3. */
export function parseChannels(text: string): 1 | 3 {
  const value = Number(text);
  if (value !== 1 && value !== 3) {
    throw new OptionError(
      'channels',
      `--channels must be 1 (gray) or 3 (RGB), got '${text}'; leave it out to keep the ` +
        `channels the images have`,
    );
  }
  return value;
}
