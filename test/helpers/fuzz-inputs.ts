// Small valid dataset files for the loader fuzz test to damage: IDX images and
// labels of every element type, CSV files of pixels, manifests, and images of
// each format and colour type the decoder reads, all drawn from one Fuzz stream.
import { idxFileBytes, kIdxTypes } from './idx-files.js';
import type { IdxTypeName } from './idx-files.js';
import type { Fuzz, ImageFormat } from './corruption.js';
import { bmp, fewColours, gif, jpeg, palettePng, pixels, png } from '../data-image-files.js';

export function idxValues(type: IdxTypeName, count: number, fuzz: Fuzz): number[] {
  const [low, high] = {
    uint8: [0, 255],
    int8: [-128, 127],
    int16: [-300, 300],
    int32: [-70_000, 70_000],
    float32: [0, 1000],
    float64: [0, 1000],
  }[type];
  const divisor = type.startsWith('float') ? 1000 : 1;
  return Array.from({ length: count }, () => fuzz.int(low, high) / divisor);
}

/** A valid IDX images file and its labels file, and their layout in words. */
export function idxPair(fuzz: Fuzz): { images: Buffer; labels: Buffer; layout: string } {
  const [count, height, width] = [fuzz.int(1, 6), fuzz.int(1, 4), fuzz.int(1, 4)];
  const type = fuzz.chance(0.5) ? 'uint8' : fuzz.pick(Object.keys(kIdxTypes) as IdxTypeName[]);
  const dimensions = fuzz.pick([
    [count, height * width],
    [count, height, width],
    [count, height, width, fuzz.int(1, 3)],
  ]);
  const size = dimensions.reduce((product, side) => product * side, 1);
  const images = idxFileBytes(type, dimensions, idxValues(type, size, fuzz));
  const labelType = fuzz.pick(['uint8', 'uint8', 'int32', 'float32'] as const);
  const labelValues = Array.from({ length: count }, () => fuzz.int(0, 2));
  const labels = idxFileBytes(labelType, fuzz.chance(0.8) ? [count] : [count, 1], labelValues);
  const layout = `${type} images ${dimensions.join('x')}, ${labelType} labels`;
  return { images, labels, layout };
}

/** A valid CSV of pixels: a label and 4, 9 or 12 pixels a row, with or without a header. */
export function pixelCsv(fuzz: Fuzz): Buffer {
  const size = fuzz.pick([4, 9, 12]);
  const withHeader = fuzz.chance(0.5);
  // a label column other than the first is found by its name in the header
  const labelAt = withHeader && fuzz.chance(0.4) ? size : 0;
  const lines: string[] = [];
  if (withHeader) {
    const names = Array.from({ length: size }, (_, pixel) => `pixel${pixel}`);
    names.splice(labelAt, 0, 'label');
    lines.push(names.join(','));
  }
  const rowCount = fuzz.int(2, 6);
  for (let row = 0; row < rowCount; row++) {
    const cells = Array.from({ length: size }, () => String(fuzz.int(0, 255)));
    cells.splice(labelAt, 0, String(row % 3));
    lines.push(cells.join(','));
  }
  const ending = fuzz.pick(['\n', '\r\n']);
  return Buffer.from(lines.join(ending) + (fuzz.chance(0.7) ? ending : ''));
}

/** A valid manifest of the images `names` (relative to it), labelled by class names or numbers. */
export function manifestText(names: string[], fuzz: Fuzz): Buffer {
  const numbers = fuzz.chance(0.3);
  const withHeader = fuzz.chance(0.5);
  // without a header the path comes first; a header may name the columns in either order
  const pathFirst = !withHeader || fuzz.chance(0.5);
  const lines = withHeader ? [pathFirst ? 'path,label' : 'label,path'] : [];
  names.forEach((name, index) => {
    const label = numbers ? String(index % 2) : ['cat', 'dog'][index % 2];
    lines.push(pathFirst ? `${name},${label}` : `${label},${name}`);
  });
  return Buffer.from(lines.join('\n') + '\n');
}

export interface BaseImage {
  kind: string;
  format: ImageFormat;
  extension: string;
  bytes: Buffer;
  width: number;
  height: number;
}

/** Valid images of every format and colour type the decoder reads. */
export async function baseImages(): Promise<BaseImage[]> {
  const rgb = (seed: number, width: number, height: number) => pixels(seed, width, height, 3);
  const made: [string, ImageFormat, string, Buffer | Promise<Buffer>, number, number][] = [
    ['RGB PNG', 'png', 'png', png(rgb(1, 3, 4), 3, 4, 3), 3, 4],
    ['gray PNG', 'png', 'png', png(pixels(2, 5, 2, 1), 5, 2, 1), 5, 2],
    ['RGBA PNG', 'png', 'png', png(pixels(3, 4, 4, 4), 4, 4, 4), 4, 4],
    ['palette PNG', 'png', 'png', palettePng(fewColours(1, 4, 3), 4, 3), 4, 3],
    ['JPEG', 'jpeg', 'jpg', jpeg(rgb(4, 4, 3), 4, 3), 4, 3],
    ['progressive JPEG', 'jpeg', 'jpeg', jpeg(rgb(5, 6, 5), 6, 5, true), 6, 5],
    ['GIF', 'gif', 'gif', gif([fewColours(2, 4, 4)], 4, 4), 4, 4],
    ['animated GIF', 'gif', 'gif', gif([fewColours(0, 3, 3), fewColours(1, 3, 3)], 3, 3), 3, 3],
    ['24-bit BMP', 'bmp', 'bmp', bmp(rgb(6, 4, 3), 4, 3, 24), 4, 3],
    ['32-bit BMP', 'bmp', 'bmp', bmp(rgb(7, 3, 3), 3, 3, 32), 3, 3],
    ['8-bit BMP', 'bmp', 'bmp', bmp(fewColours(3, 4, 2), 4, 2, 8), 4, 2],
  ];
  return Promise.all(
    made.map(async ([kind, format, extension, bytes, width, height]) => {
      return { kind, format, extension, bytes: await bytes, width, height };
    }),
  );
}

/** Four valid 4x4 images, one of each format, for a folder whose images share one size. */
export async function sameSizeImages(seed: number): Promise<[string, ImageFormat, Buffer][]> {
  const rgb = pixels(seed, 4, 4, 3);
  return [
    ['png', 'png', await png(rgb, 4, 4, 3)],
    ['jpg', 'jpeg', await jpeg(rgb, 4, 4)],
    ['gif', 'gif', await gif([fewColours(seed % 4, 4, 4)], 4, 4)],
    ['bmp', 'bmp', bmp(rgb, 4, 4, 24)],
  ];
}
