// Reads images stored one per CSV row, as tutorials and competitions ship
// MNIST-like data: a label column and one column per pixel. The label is the
// column named `label` (any case) when there is a header row, else the first
// column; a header is a first row with any cell that is not a number. Rows may
// end in LF or CRLF, with or without a final newline; the parsing is
// csv-parse's, the checks of every cell are syncgrad's.

import { createReadStream } from 'node:fs';

import { parse } from 'csv-parse';

import { DatasetError } from '../../shared/errors.js';
import { imageShapeOfSize } from '../../shared/images.js';
import type { LabelledImages } from '../../shared/images.js';
import { describe } from './common.js';

/** A row as csv-parse gives it with `info`: the cells and the line it ended on. */
interface CsvRecord {
  record: string[];
  info: { lines: number };
}

/** The largest label a CSV may use: the classes are 0 to the largest label found. */
const kMostClasses = 1000;

export async function readCsvImages(path: string): Promise<LabelledImages> {
  const rows = parse({ skipEmptyLines: true, trim: true, relaxColumnCount: true, info: true });
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
        if (record.some((cell) => cell === '' || !Number.isFinite(Number(cell)))) {
          header = record;
          const named = record.findIndex((cell) => cell.toLowerCase() === 'label');
          labelColumn = named >= 0 ? named : 0;
          continue;
        }
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
        const value = Number(text);
        if (column === labelColumn) {
          if (text === '' || !Number.isInteger(value) || value < 0 || value >= kMostClasses) {
            throw cellError(
              path,
              line,
              column,
              header,
              text,
              `a class number from 0 to ${kMostClasses - 1}`,
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
    if (error instanceof DatasetError) throw error;
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
    pixels: pixels.slice(0, count * size),
    labels: labels.slice(0, count),
    count,
    height,
    width,
    channels,
    classNames: Array.from({ length: classCount }, (_, index) => String(index)),
    source: path,
  };
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
  const name = header ? ` ('${header[column]}')` : '';
  return new DatasetError(
    path,
    `${path}, line ${line}, column ${column + 1}${name}: expected ${expected}, found ` +
      `'${text}'; fix that cell or remove the row`,
  );
}
