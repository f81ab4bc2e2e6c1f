// Reads images stored one per CSV row, as tutorials and competitions ship
// MNIST-like data: a label column and one column per pixel, named any way.
// The label is the column `--label-column` names, else the column named
// `label` (any case) when there is a header row, else the first column; a
// header is a first row with any cell that is not a number. Rows may end in LF
// or CRLF, with or without a final newline, and a UTF-8 byte order mark is
// dropped; the parsing is csv-parse's, the checks of every cell are syncgrad's.

import { createReadStream } from 'node:fs';

import { parse } from 'csv-parse';

import { DatasetError, OptionError, SyncgradError } from '../../shared/errors.js';
import { imageShapeOfSize, sharedCopy } from '../../shared/images.js';
import type { LabelledImages } from '../../shared/images.js';
import { describe } from './common.js';
import { kMostNumberedClasses } from './read-options.js';
import type { ReadOptions } from './read-options.js';

const kDigits = /^\d{1,9}$/;

export type CsvReadOptions = Pick<ReadOptions, 'labelColumn'>;

/** A row as csv-parse gives it with `info`: the cells and the line it ended on. */
interface CsvRecord {
  record: string[];
  info: { lines: number };
}

/** Reads a CSV file of images; `options.labelColumn` picks the label column (`labelColumnOf`). */
export async function readCsvImages(
  path: string,
  options: CsvReadOptions = {},
): Promise<LabelledImages> {
  const rows = parse({
    bom: true,
    skipEmptyLines: true,
    trim: true,
    relaxColumnCount: true,
    info: true,
  });
  const source = createReadStream(path);
  source.on('error', (error) => rows.destroy(error));
  source.pipe(rows);

  let header: string[] | undefined;
  let labelColumn = 0;
  let columns = 0;
  let pixels = new Uint8Array(0);
  let labels = new Int32Array(0);
  let count = 0;
  try {
    for await (const { record, info } of rows as AsyncIterable<CsvRecord>) {
      const line = info.lines;

      // the first row: a header when any cell is not a number
      if (columns === 0) {
        columns = record.length;
        if (columns < 2) {
          throw rowError(path, line, `has ${columns} column; expected a label and pixel columns`);
        }
        const isHeader = record.some((cell) => cell === '' || !Number.isFinite(Number(cell)));
        if (isHeader) header = record;
        labelColumn = labelColumnOf(path, options.labelColumn, header, columns);
        if (isHeader) continue;
      }
      if (record.length !== columns) {
        throw rowError(
          path,
          line,
          `has ${record.length} columns, but the first row has ${columns}; every row needs a ` +
            `label and the same number of pixels`,
        );
      }

      // room for one more image, doubling as rows arrive
      const size = columns - 1;
      if ((count + 1) * size > pixels.length) {
        const grown = new Uint8Array(Math.max(1024, 2 * count) * size);
        grown.set(pixels);
        pixels = grown;
        const grownLabels = new Int32Array(Math.max(1024, 2 * count));
        grownLabels.set(labels);
        labels = grownLabels;
      }
      let offset = count * size;
      for (let column = 0; column < columns; column++) {
        const text = record[column];
        // plain decimal digits only: Number() would also take '0x10', '1e2' or ' 7 '
        const value = kDigits.test(text) ? Number(text) : Number.NaN;
        if (column === labelColumn) {
          if (
            text === '' ||
            !Number.isInteger(value) ||
            value < 0 ||
            value >= kMostNumberedClasses
          ) {
            throw cellError(
              path,
              line,
              column,
              header,
              text,
              `a class number from 0 to ${kMostNumberedClasses - 1}`,
            );
          }
          labels[count] = value;
          continue;
        }
        if (text === '' || !Number.isInteger(value) || value < 0 || value > 255) {
          throw cellError(path, line, column, header, text, 'a whole pixel value from 0 to 255');
        }
        pixels[offset++] = value;
      }
      count++;
    }
  } catch (error) {
    if (error instanceof SyncgradError) throw error;
    throw new DatasetError(path, `cannot read the CSV file ${path}: ${describe(error)}`);
  } finally {
    source.destroy();
  }

  if (count === 0) {
    throw new DatasetError(
      path,
      `${path} has no image rows${header ? ' after its header' : ''}; expected one row per ` +
        `image: a label and its pixel values`,
    );
  }
  const size = columns - 1;
  const classCount =
    labels.subarray(0, count).reduce((most, label) => Math.max(most, label), 0) + 1;
  const [height, width, channels] = imageShapeOfSize(size);
  return {
    pixels: sharedCopy(pixels.subarray(0, count * size)),
    labels: labels.slice(0, count),
    count,
    height,
    width,
    channels,
    classNames: Array.from({ length: classCount }, (_, index) => String(index)),
    source: path,
  };
}

/**
 * The label column: the header name `chosen` (exact, then in any case) or the
 * zero-based column number `chosen`; without `chosen`, the header's `label`
 * column (any case), else the first.
 */
function labelColumnOf(
  path: string,
  chosen: string | number | undefined,
  header: string[] | undefined,
  columns: number,
): number {
  if (chosen === undefined) {
    const named = header?.findIndex((cell) => cell.toLowerCase() === 'label') ?? -1;
    const again = header?.findIndex((cell, i) => i > named && cell.toLowerCase() === 'label');
    if (named >= 0 && again !== undefined && again >= 0) {
      throw new OptionError(
        'label-column',
        `${path} has two columns named label (columns ${named} and ${again}, counted from 0); ` +
          `expected one, so pass --label-column with the number of the label column`,
      );
    }
    return named >= 0 ? named : 0;
  }
  const wanted = String(chosen).trim();
  if (header) {
    const exact = header.indexOf(wanted);
    if (exact >= 0) return exact;
    const folded = header.findIndex((cell) => cell.toLowerCase() === wanted.toLowerCase());
    if (folded >= 0) return folded;
  }
  if (/^\d+$/.test(wanted) && Number(wanted) < columns) return Number(wanted);
  const choices = header
    ? `a name from its header (${listColumns(header)}) or a column number from 0 to ` +
      `${columns - 1}`
    : `a column number from 0 to ${columns - 1}, since it has no header row to name columns`;
  throw new OptionError(
    'label-column',
    `--label-column ${chosen} is not a column of ${path}, which has ${columns} columns; ` +
      `expected ${choices}`,
  );
}

/** The header's names, quoted; past the first dozen, a count of the rest. */
function listColumns(header: string[]): string {
  const shown = header.slice(0, 12).map(quotedCell);
  const rest = header.length - shown.length;
  return rest > 0 ? `${shown.join(', ')} and ${rest} more` : shown.join(', ');
}

function rowError(path: string, line: number, problem: string): DatasetError {
  return new DatasetError(path, `${path}, line ${line}, ${problem}; fix or remove that row`);
}

function cellError(
  path: string,
  line: number,
  column: number,
  header: string[] | undefined,
  text: string,
  expected: string,
): DatasetError {
  const name = header ? ` (${quotedCell(header[column])})` : '';
  return new DatasetError(
    path,
    `${path}, line ${line}, column ${column + 1}${name}: expected ${expected}, found ` +
      `${quotedCell(text)}; fix that cell or remove the row`,
  );
}

/**
 * A cell as messages quote it: in single quotes, or as a JSON string when it
 * holds line breaks or other control characters, so the message stays on one
 * line and shows them.
 */
function quotedCell(text: string): string {
  return /[\u0000-\u001f\u007f]/.test(text) ? JSON.stringify(text) : `'${text}'`;
}
