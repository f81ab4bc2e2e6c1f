// The progress printer: plain lines for logs and pipes, a cli-progress bar on
// a terminal that is closed when its task ends, nothing that claims a failed
// task completed, and notices as lines of their own.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';

import { createProgressPrinter } from '../src/coordinator/data/index.js';
import type { LoadProgress } from '../src/coordinator/data/index.js';

/** A stream that keeps what is written to it, posing as a terminal when asked. */
function recorder(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk, _encoding, done) {
        chunks.push(String(chunk));
        done();
      },
    }),
    { isTTY, columns: 100 },
  );
  return { stream, text: () => chunks.join('') };
}

function decodeEvents(total: number, step: number): LoadProgress[] {
  const events: LoadProgress[] = [];
  for (let done = step; done < total; done += step) {
    events.push({ kind: 'decode', folder: '/data/train', done, total, finished: false });
  }
  events.push({ kind: 'decode', folder: '/data/train', done: total, total, finished: true });
  return events;
}

test('without a terminal, a line at the start, per tenth and at the end', () => {
  const { stream, text } = recorder(false);
  const print = createProgressPrinter(stream);

  for (const event of decodeEvents(1000, 50)) print(event);

  const lines = text().trim().split('\n');
  assert.equal(lines.length, 11);
  assert.equal(lines[0], 'decoding /data/train  50/1,000 images (5%)');
  assert.equal(lines[1], 'decoding /data/train  100/1,000 images (10%)');
  assert.equal(lines[10], 'decoding /data/train  1,000/1,000 images (100%)');
});

test('downloads of unknown length print their start and their end', () => {
  const { stream, text } = recorder(false);
  const print = createProgressPrinter(stream);
  const base = { kind: 'download', file: 'a.gz', url: 'http://host/a.gz' } as const;

  print({ ...base, receivedBytes: 1024 * 1024, finished: false });
  print({ ...base, receivedBytes: 2 * 1024 * 1024, finished: false });
  print({ ...base, receivedBytes: 3 * 1024 * 1024, finished: true });
  print({ kind: 'cached', folder: '/data/test', cacheFile: '/c/x.bin', count: 10_000 });

  assert.equal(
    text(),
    'downloading a.gz  1.0/1.0 MB (0%)\n' +
      'downloading a.gz  3.0/3.0 MB (100%)\n' +
      'read 10,000 decoded images of /data/test from the cache\n',
  );
});

test('on a terminal, a bar that is stopped when its task finishes', () => {
  const { stream, text } = recorder(true);
  const print = createProgressPrinter(stream);

  for (const event of decodeEvents(1000, 250)) print(event);

  // a bar left running would keep this test's process alive through its timer
  assert.match(text(), /decoding \/data\/train \[.*\] 100% \| 1,000\/1,000 images/);
  assert.ok(text().endsWith('\n'));
});

test('a failed decode or download prints no final line claiming it completed', () => {
  const { stream, text } = recorder(false);
  const print = createProgressPrinter(stream);
  const decode = { kind: 'decode', folder: '/data/train', total: 10 } as const;
  const download = { kind: 'download', file: 'a.gz', url: 'http://host/a.gz' } as const;

  print({ ...decode, done: 5, finished: false });
  print({ ...decode, done: 9, finished: true, failed: true });
  print({ ...download, receivedBytes: 0, finished: true, failed: true });

  assert.equal(text(), 'decoding /data/train  5/10 images (50%)\n');
});

test('a notice is one line after the program name, also between bars', () => {
  const plain = recorder(false);
  const terminal = recorder(true);
  const notice = { kind: 'notice', message: 'ignored 3 files in /data/train' } as const;

  createProgressPrinter(plain.stream)(notice);
  const print = createProgressPrinter(terminal.stream);
  print({ kind: 'decode', folder: '/data/train', done: 1, total: 4, finished: false });
  print(notice);

  assert.equal(plain.text(), 'syncgrad: ignored 3 files in /data/train\n');
  assert.ok(terminal.text().endsWith('\nsyncgrad: ignored 3 files in /data/train\n'));
});

test('on a terminal, a failed task leaves its bar where it stopped', () => {
  const { stream, text } = recorder(true);
  const print = createProgressPrinter(stream);

  print({ kind: 'decode', folder: '/data/train', done: 250, total: 1000, finished: false });
  print({
    kind: 'decode',
    folder: '/data/train',
    done: 500,
    total: 1000,
    finished: true,
    failed: true,
  });
  print({
    kind: 'download',
    file: 'a.gz',
    url: 'http://h/a.gz',
    receivedBytes: 0,
    finished: true,
    failed: true,
  });

  assert.match(text(), /decoding \/data\/train \[.*\] 25% \| 250\/1,000 images/);
  assert.doesNotMatch(text(), /100%|downloading/);
});
