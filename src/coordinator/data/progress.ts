// Progress events of dataset loading, and a printer that shows them: a
// cli-progress bar on a terminal, a few plain lines in logs and pipes. Loading
// itself never prints; only a caller that creates a printer sees output.
import cliProgress from 'cli-progress';

/**
 * One step of `loadDataset`, reported through `LoadOptions.onProgress`. Every
 * download and every folder decode ends with an event that has `finished: true`,
 * whether it succeeded or failed; one that failed also has `failed: true`, and
 * the error that ends the load says why.
 */
export type LoadProgress =
  | {
      /** Bytes of a dataset file arrived. */
      kind: 'download';
      file: string;
      url: string;
      receivedBytes: number;
      /** From the server's Content-Length; absent when it sent none. */
      totalBytes?: number;
      finished: boolean;
      /** True on the last event of a download that failed. */
      failed?: boolean;
    }
  | {
      /** Images of a folder decoded so far. */
      kind: 'decode';
      folder: string;
      done: number;
      total: number;
      finished: boolean;
      /** True on the last event of a decode that failed; `done` counts the images decoded. */
      failed?: boolean;
    }
  | {
      /** A folder's images were read from the decoded cache instead. */
      kind: 'cached';
      folder: string;
      cacheFile: string;
      count: number;
    }
  | {
      /**
       * Something the user should know that does not stop the load: files that
       * were skipped, or a decoded cache that could not be used. One line.
       */
      kind: 'notice';
      message: string;
    };

/** The part of a writable stream the printer needs; `process.stderr` fits. */
export interface ProgressStream extends NodeJS.WritableStream {
  isTTY?: boolean;
}

/** Plain-line mode prints a line each time a task passes another tenth of its total. */
const kPlainSteps = 10;

const kMegabyte = 1024 * 1024;

/**
 * Returns an `onProgress` callback that prints to `stream`: one bar per
 * download or folder when the stream is a terminal, otherwise a line per tenth
 * done plus a final line. A failed task gets no final line (its bar stays
 * where it stopped); a notice is printed as one line `syncgrad: <message>`.
 */
export function createProgressPrinter(stream: ProgressStream): (event: LoadProgress) => void {
  const printer = stream.isTTY ? new BarPrinter(stream) : new LinePrinter(stream);
  return (event) => printer.update(event);
}

/** The bar's label, its value and total in display units, and whether it is done. */
interface Reading {
  task: string;
  label: string;
  value: number;
  total: number;
  unit: string;
  /** Share done; while the total is unknown, 0 until the end. */
  fraction: number;
  finished: boolean;
}

type TaskEvent = Extract<LoadProgress, { kind: 'download' | 'decode' }>;

function read(event: TaskEvent): Reading {
  if (event.kind === 'download') {
    const received = event.receivedBytes / kMegabyte;
    return {
      task: `download ${event.url}`,
      label: `downloading ${event.file}`,
      value: received,
      total: event.totalBytes === undefined ? received : event.totalBytes / kMegabyte,
      unit: 'MB',
      fraction: event.totalBytes ? event.receivedBytes / event.totalBytes : event.finished ? 1 : 0,
      finished: event.finished,
    };
  }
  return {
    task: `decode ${event.folder}`,
    label: `decoding ${event.folder}`,
    value: event.done,
    total: event.total,
    unit: 'images',
    fraction: event.total > 0 ? event.done / event.total : 0,
    finished: event.finished,
  };
}

/** The line of an event that is not part of a task's bar. */
function singleLine(event: Extract<LoadProgress, { kind: 'cached' | 'notice' }>): string {
  if (event.kind === 'notice') return `syncgrad: ${event.message}\n`;
  const count = event.count.toLocaleString('en-US');
  return `read ${count} decoded images of ${event.folder} from the cache\n`;
}

function amount(value: number, unit: string): string {
  return unit === 'MB' ? value.toFixed(1) : Math.round(value).toLocaleString('en-US');
}

class BarPrinter {
  private bar: cliProgress.SingleBar | undefined;
  private task = '';

  constructor(private readonly stream: ProgressStream) {}

  update(event: LoadProgress): void {
    if (event.kind === 'cached' || event.kind === 'notice') {
      this.stop();
      this.stream.write(singleLine(event));
      return;
    }

    // a failed task's bar stops where it was; one not yet drawn is never drawn
    const reading = read(event);
    if (event.failed) {
      if (this.task === reading.task) this.stop();
      return;
    }

    // a new download or folder gets a bar of its own
    const payload = {
      label: reading.label,
      shown: amount(reading.value, reading.unit),
      end: amount(reading.total, reading.unit),
      unit: reading.unit,
    };
    const barTotal = reading.total > 0 ? reading.total : 1;
    if (this.bar === undefined || this.task !== reading.task) {
      this.stop();
      this.task = reading.task;
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.stream,
          format: '{label} [{bar}] {percentage}% | {shown}/{end} {unit} | eta {eta_formatted}',
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(barTotal, reading.value, payload);
    } else {
      this.bar.setTotal(barTotal);
      this.bar.update(reading.value, payload);
    }
    if (reading.finished) this.stop();
  }

  private stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

class LinePrinter {
  private task = '';
  private step = -1;
  private lastLine = '';

  constructor(private readonly stream: ProgressStream) {}

  update(event: LoadProgress): void {
    if (event.kind === 'cached' || event.kind === 'notice') {
      this.stream.write(singleLine(event));
      return;
    }

    // the first event of a task, each further tenth, and its end unless it failed
    const reading = read(event);
    if (this.task !== reading.task) {
      this.task = reading.task;
      this.step = -1;
    }
    if (event.failed) {
      this.task = '';
      return;
    }
    const step = reading.finished ? kPlainSteps : Math.floor(reading.fraction * kPlainSteps);
    const percent = Math.floor(reading.fraction * 100);
    const line =
      `${reading.label}  ${amount(reading.value, reading.unit)}/` +
      `${amount(reading.total, reading.unit)} ${reading.unit} (${percent}%)\n`;
    if (step <= this.step || line === this.lastLine) return;
    this.step = step;
    this.lastLine = line;
    this.stream.write(line);
  }
}
