// The progress printer: plain lines for logs and pipes, a cli-progress bar on
// a terminal that is closed when its task ends.
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
