// Reads a manifest: a CSV file listing one image per row as a path and a label,
// the way labelling tools export a dataset without moving its files. Paths are
// relative to the manifest's folder (or absolute); labels are class names,
// sorted like class folders, or class numbers from 0. The images then load as
// a folder's do; parsing is csv-parse's, every check is syncgrad's.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

import { parse } from 'csv-parse/sync';

import { DatasetError } from '../../shared/errors.js';
import { compareCodePoints, describe } from './common.js';
import type { ImageListing } from './image-loading.js';
import { kImageFile, kManifestPathHeaders } from './source-kind.js';
import { kMostNumberedClasses } from './read-options.js';

/** A row as csv-parse gives it with `info`: the cells and the line it ended on. */
interface ManifestRecord {
  record: string[];
  info: { lines: number };
}

/** Header names of the label column (any case). */
const kLabelHeaders = ['label', 'class'];

/**
 * Lists the images of the manifest at `path`, in its row order. `role` says
 * whether it is the training set, which needs two classes, or the test set.
 */
export function listManifest(path: string, role: '--dataset' | '--test'): ImageListing {
  const manifest = resolve(path);
  const folder = dirname(manifest);
  const rows = readRows(manifest);

  // a header is a first row that names no image file
  let pathColumn = 0;
  let labelColumn = 1;
  let hasHeader = false;
  if (rows.length > 0 && !rows[0].record.some((cell) => kImageFile.test(cell))) {
    hasHeader = true;
    const names = rows[0].record.map((cell) => cell.toLowerCase());
    const namedPath = names.findIndex((name) => kManifestPathHeaders.includes(name));
    const namedLabel = names.findIndex((name) => kLabelHeaders.includes(name));
    pathColumn = namedPath >= 0 ? namedPath : 0;
    labelColumn = namedLabel >= 0 ? namedLabel : pathColumn === 0 ? 1 : 0;
  }
  const dataRows = hasHeader ? rows.slice(1) : rows;
  if (dataRows.length === 0) {
    throw new DatasetError(
      manifest,
      `manifest ${manifest} lists no images${hasHeader ? ' after its header' : ''}; expected ` +
        `one row per image: its path (relative to ${folder}, or absolute) and its label`,
    );
  }

  // each row: an existing file and a label, hashed for the decoded cache
  const hash = createHash('sha256').update(`${manifest}\n`);
  const files: string[] = [];
  const labelTexts: string[] = [];
  const firstLine = new Map<string, number>();
  for (const { record, info } of dataRows) {
    const where = `manifest ${manifest}, line ${info.lines}`;
    const listed = record[pathColumn] ?? '';
    const label = record[labelColumn] ?? '';
    if (listed === '') {
      throw new DatasetError(
        manifest,
        `${where}: the path is empty; expected an image path in column ${pathColumn + 1}, ` +
          `so fill it in or remove the line`,
      );
    }
    if (label === '') {
      throw new DatasetError(
        manifest,
        `${where}: the label of ${listed} is empty; expected a class name or number in ` +
          `column ${labelColumn + 1}, so fill it in or remove the line`,
      );
    }
    // no path or class name holds a line break: such a cell comes from mixed line endings
    // (csv-parse splits rows at the first kind it meets) or from a quote left open
    const broken = [listed, label].find((cell) => /[\r\n]/.test(cell));
    if (broken !== undefined) {
      throw new DatasetError(
        manifest,
        `${where}: the cell ${JSON.stringify(broken)} holds a line break; expected an image ` +
          `path and a label on each line, so save the manifest with one kind of line ending ` +
          `(LF or CRLF) throughout and close every quote on the line it opens`,
      );
    }
    const file = isAbsolute(listed) ? listed : resolve(folder, listed);
    // one image listed twice would weigh double, or carry two labels
    const earlier = firstLine.get(file);
    if (earlier !== undefined) {
      throw new DatasetError(
        manifest,
        `${where}: ${listed} is listed again (first on line ${earlier}); expected each image ` +
          `once, so remove one of the lines`,
      );
    }
    firstLine.set(file, info.lines);
    const { size, mtimeMs } = statListed(file, listed, manifest, where);
    hash.update(`${file}\t${label}\t${size}\t${mtimeMs}\n`);
    files.push(file);
    labelTexts.push(label);
  }

  const { classNames, labels } = classesOf(labelTexts, manifest);
  const used = [...new Set(labelTexts)];
  if (used.length < 2 && role === '--dataset') {
    throw new DatasetError(
      manifest,
      `manifest ${manifest} has 1 class (${used[0]}); a classifier needs at least 2, so list ` +
        `images of further classes`,
    );
  }
  return { folder: manifest, classNames, files, labels, digest: hash.digest() };
}

function readRows(manifest: string): ManifestRecord[] {
  let text: string;
  try {
    text = readFileSync(manifest, 'utf8');
  } catch (error) {
    throw new DatasetError(
      manifest,
      `cannot read manifest ${manifest} (${describe(error)}); check its permissions`,
    );
  }
  try {
    return parse(text, {
      bom: true,
      info: true,
      relaxColumnCount: true,
      skipEmptyLines: true,
      trim: true,
    }) as unknown as ManifestRecord[];
  } catch (error) {
    throw new DatasetError(
      manifest,
      `cannot parse manifest ${manifest} as CSV (${describe(error)}); expected rows of an ` +
        `image path and a label, separated by a comma`,
    );
  }
}

function statListed(
  file: string,
  listed: string,
  manifest: string,
  where: string,
): { size: number; mtimeMs: number } {
  const folder = dirname(manifest);
  let stats;
  try {
    stats = statSync(file);
  } catch (error) {
    throw new DatasetError(
      manifest,
      `${where}: cannot find the image ${listed} (${describe(error)}); expected a path ` +
        `relative to the manifest's folder ${folder}, or an absolute one, so fix the path or ` +
        `remove the line`,
    );
  }
  if (!stats.isFile()) {
    throw new DatasetError(
      manifest,
      `${where}: ${listed} is not a file; expected the path of one image, so fix the path or ` +
        `remove the line`,
    );
  }
  return stats;
}

/**
 * Class numbers when every label is a whole number (classes 0 to the largest,
 * as for CSV datasets), else class names in code-point order, like folders.
 */
function classesOf(
  texts: string[],
  manifest: string,
): { classNames: string[]; labels: Int32Array } {
  if (texts.every((text) => /^\d+$/.test(text))) {
    const numbers = texts.map(Number);
    const largest = numbers.reduce((most, value) => Math.max(most, value), 0);
    if (largest >= kMostNumberedClasses) {
      throw new DatasetError(
        manifest,
        `manifest ${manifest} uses class number ${largest}; expected class numbers from 0 to ` +
          `${kMostNumberedClasses - 1}, or class names`,
      );
    }
    const classNames = Array.from({ length: largest + 1 }, (_, index) => String(index));
    return { classNames, labels: Int32Array.from(numbers) };
  }
  const classNames = [...new Set(texts)].sort(compareCodePoints);
  const index = new Map(classNames.map((name, label) => [name, label]));
  return { classNames, labels: Int32Array.from(texts, (text) => index.get(text)!) };
}
