// Recognizes the text files most often found where binary data was expected:
// a Git LFS pointer left by a checkout without `git lfs pull`, and a hex dump
// saved as text. The IDX and CIFAR-10 readers both word their messages from it.
import { DatasetError } from '../../shared/errors.js';

/** What `recognizeSavedText` found; `start` is the dump's first characters, for the message. */
export type SavedText =
  { kind: 'lfs-pointer' } | { kind: 'hex-dump'; start: string; format: 'plain' | 'xxd' };

/** Bytes looked at: an LFS pointer or a dump line says what it is well within them. */
const kHeadBytes = 200;

/** A Git LFS pointer file, or a text hex dump, else undefined. */
export function recognizeSavedText(bytes: Uint8Array): SavedText | undefined {
  const head = Buffer.from(bytes.subarray(0, kHeadBytes)).toString('latin1');
  if (head.startsWith('version https://git-lfs.github.com/spec/')) return { kind: 'lfs-pointer' };
  const plain = /^(?:[0-9a-fA-F]{2,8}[ \t]*){4,}/.test(head) && /^[0-9a-fA-F\s]+$/.test(head);
  const xxd = /^[0-9a-fA-F]{8}: (?:[0-9a-fA-F]{4} ){2}/.test(head);
  if (!plain && !xxd) return undefined;
  return { kind: 'hex-dump', start: head.slice(0, 24).trim(), format: plain ? 'plain' : 'xxd' };
}

/** How the messages name the binary file a reader expected. */
export interface BinaryKind {
  /** The data the file should hold, as in "not the IDX data". */
  data: string;
  /** One such file, as in "a hex dump of an IDX file". */
  file: string;
  /** The name suggested for the bytes turned back from a dump. */
  restored: string;
}

/**
 * Throws a DatasetError naming `path` when `bytes` are a Git LFS pointer or a
 * hex dump, saying what the file is and how to get the binary one.
 */
export function rejectSavedText(bytes: Uint8Array, path: string, kind: BinaryKind): void {
  const found = recognizeSavedText(bytes);
  if (found?.kind === 'lfs-pointer') {
    throw new DatasetError(
      path,
      `${path} is a Git LFS pointer (${bytes.length} bytes of text naming the real file), not ` +
        `${kind.data}; run 'git lfs pull' in the repository it came from, or download the file ` +
        `itself`,
    );
  }
  if (found?.kind === 'hex-dump') {
    const flags = found.format === 'plain' ? ' -p' : '';
    throw new DatasetError(
      path,
      `${path} holds text hex digits ('${found.start}...'), a hex dump of ${kind.file} ` +
        `rather than the binary file; turn it back into bytes with ` +
        `'xxd -r${flags} ${path} ${kind.restored}', or download the binary file`,
    );
  }
}

/** "nothing (0 bytes)", the text `bytes` start with, or their first bytes in hex. */
export function describeBytes(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'nothing (0 bytes)';
  const start = Buffer.from(bytes.subarray(0, 40));
  if (isText(start)) return `text starting ${JSON.stringify(start.toString('latin1'))}`;
  return `bytes starting ${start.subarray(0, 8).toString('hex').replace(/(..)/g, '$1 ').trim()}`;
}

/** True when every byte is printable ASCII, a tab or a line break. */
export function isText(bytes: Uint8Array): boolean {
  return bytes.every(
    (byte) => byte === 9 || byte === 10 || byte === 13 || (byte >= 32 && byte < 127),
  );
}
