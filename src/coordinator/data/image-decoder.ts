// Decodes the images of a folder or manifest on a pool of threads, one per
// core, and assembles their pixels into one array with the dataset's channel
// count, leaving out the files that could not be decoded when asked to.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

import { Piscina } from 'piscina';
// loaded in this thread too, although only the decoding threads use it, so that
// sharp's shared libraries are not unloaded each time one of them exits
import 'sharp';

import { DatasetError } from '../../shared/errors.js';
import type { DecodeTask, DecodedChunk } from '../../worker/decode-worker.js';
import type { LoadProgress } from './progress.js';
import type { ImageSize } from './read-options.js';
import { sharedPixels } from '../../shared/images.js';

/**
 * Files per task. Large enough that a task's round trip is noise next to its
 * decoding (0.1 to 0.3 ms a file for a small JPEG), small enough that progress
 * moves often and the threads finish at nearly the same time.
 */
const kMaxChunkFiles = 512;

/** Tasks queued per thread, so a thread never waits for the coordinator between chunks. */
const kTasksPerThread = 2;

const workerFile = fileURLToPath(new URL('../../worker/decode-worker.js', import.meta.url));

/** How a listing's files are decoded; see `ReadOptions` for each. */
export interface DecodeOptions {
  channels?: 1 | 3;
  imageSize?: ImageSize;
  /** Leave out files that cannot be decoded, and list them, instead of failing. */
  skipBad?: boolean;
}

/** A file that could not be decoded, and the decoder's reason in one line. */
export interface BadImage {
  file: string;
  reason: string;
}

/** The pixels of every decoded image, and what assembling them needs to know. */
export interface DecodedImages {
  /** Index in `files` of each image decoded, in order; the others are in `bad`. */
  kept: number[];
  /** Size of each kept image as `WxHxC`, for the one-size check. */
  shapes: string[];
  width: number;
  height: number;
  channels: number;
  /** The kept images of the first decoded image's size, each at its place in `kept`. */
  pixels: Uint8Array;
  bad: BadImage[];
}

/**
 * Channels rule: every image is decoded as RGB (gray repeated into R, G and B,
 * alpha dropped, never blended). By default, when every image of the folder
 * has R == G == B at every pixel, the folder is stored with one channel (R),
 * otherwise with three. `channels: 3` always stores RGB. `channels: 1` always
 * stores gray as the Rec. 601 luma, Y = (299 R + 587 G + 114 B) / 1000 rounded
 * to the nearest level, which leaves an image that is already gray unchanged.
 */
export const kChannelRule =
  'images are read as RGB with any alpha dropped, and stored with one channel only when ' +
  'every image is gray, unless --channels says otherwise';

/** Rec. 601 luma weights, in thousandths: what `channels: 1` makes of a colour pixel. */
const kLumaRed = 299;
const kLumaGreen = 587;
const kLumaBlue = 114;

/**
 * Owns the decoding threads of one load. They start on the first folder that
 * needs decoding, so a load served from the cache starts none; `close` ends them.
 */
export class ImageDecoder {
  private pool: Piscina<DecodeTask, DecodedChunk> | undefined;
  private readonly threads = availableParallelism();

  /**
   * Decodes `files` of `folder`, reporting progress as chunks complete and
   * always a last event with `finished: true`; when a file cannot be decoded
   * (and `skipBad` is off) that event also has `failed: true` and `done`
   * counts the images decoded. Images whose size differs from the first one
   * decoded are left out of `pixels` and show in `shapes`.
   */
  async decode(
    folder: string,
    files: string[],
    options: DecodeOptions,
    onProgress?: (event: LoadProgress) => void,
  ): Promise<DecodedImages> {
    const keepGoing = options.skipBad === true;
    const total = files.length;
    const chunkFiles = Math.max(1, Math.min(kMaxChunkFiles, Math.ceil(total / this.threads)));
    const assembly = new Assembly(files, options.channels);
    let failure: unknown;
    let next = 0;
    let done = 0;

    // each runner takes the next chunk until none are left or one has failed
    const runner = async () => {
      while (next < total && failure === undefined) {
        const first = next;
        const chunk = files.slice(first, first + chunkFiles);
        next += chunk.length;
        let decoded: DecodedChunk;
        try {
          decoded = await this.start().run({
            files: chunk,
            imageSize: options.imageSize,
            keepGoing,
          });
        } catch (error) {
          failure ??= error; // a thread that failed to start or died
          break;
        }
        assembly.add(first, decoded);
        const stop = keepGoing ? undefined : decoded.failures[0];
        if (stop !== undefined) {
          const file = chunk[stop.index];
          failure ??= new DatasetError(
            file,
            `cannot decode image ${file} (${stop.reason}); expected a readable ${kFormats} ` +
              `file, so replace or remove it, or pass --skip-bad to leave out such images`,
          );
        }
        done += stop?.index ?? chunk.length;
        if (done < total && failure === undefined) {
          onProgress?.({ kind: 'decode', folder, done, total, finished: false });
        }
      }
    };
    let succeeded = false;
    try {
      const runners = Math.min(this.threads * kTasksPerThread, Math.ceil(total / chunkFiles));
      await Promise.all(Array.from({ length: runners }, runner));
      succeeded = failure === undefined;
    } finally {
      const last = { kind: 'decode', folder, done, total, finished: true } as const;
      onProgress?.(succeeded ? last : { ...last, failed: true });
    }
    if (failure !== undefined) throw failure;
    return assembly.finish();
  }

  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = undefined;
  }

  private start(): Piscina<DecodeTask, DecodedChunk> {
    this.pool ??= new Piscina({
      filename: workerFile,
      minThreads: this.threads,
      maxThreads: this.threads,
      concurrentTasksPerWorker: 1,
    });
    return this.pool;
  }
}

/** The formats the decoding threads read, for messages. */
export const kFormats = 'PNG, JPEG, GIF or BMP';

/**
 * Gathers chunks, arriving in any order, into one RGB array sized after the
 * first image decoded, then leaves out the failed files and applies the
 * channels rule.
 */
class Assembly {
  private readonly sizes: (string | undefined)[];
  private readonly bad: (BadImage & { index: number })[] = [];
  private width = 0;
  private height = 0;
  private rgb: Uint8Array | undefined;
  private allGray = true;

  constructor(
    private readonly files: string[],
    private readonly channels: 1 | 3 | undefined,
  ) {
    this.sizes = new Array(files.length);
  }

  add(first: number, chunk: DecodedChunk): void {
    for (const { index, reason } of chunk.failures) {
      this.bad.push({ index: first + index, file: this.files[first + index], reason });
    }
    for (let image = 0; image < chunk.widths.length; image++) {
      const width = chunk.widths[image];
      const height = chunk.heights[image];
      if (width === 0) continue; // a failed file
      if (this.rgb === undefined) {
        [this.width, this.height] = [width, height];
        this.rgb = sharedPixels(this.files.length * width * height * 3);
      }
      this.sizes[first + image] = `${width}x${height}`;
      this.allGray &&= chunk.gray[image] === 1;
      if (width !== this.width || height !== this.height) continue;
      const bytes = width * height * 3;
      const start = chunk.offsets[image];
      this.rgb.set(chunk.pixels.subarray(start, start + bytes), (first + image) * bytes);
    }
  }

  finish(): DecodedImages {
    const { width, height } = this;
    const channels = this.channels ?? (this.allGray ? 1 : 3);
    const kept = this.sizes.flatMap((size, index) => (size === undefined ? [] : [index]));
    const shapes = kept.map((index) => `${this.sizes[index]}x${channels}`);
    const bad = this.bad
      .sort((left, right) => left.index - right.index)
      .map(({ file, reason }) => ({ file, reason }));

    // the kept images moved together, when some files failed
    let rgb = this.rgb ?? new Uint8Array(0);
    if (kept.length < this.files.length) {
      const bytes = width * height * 3;
      const packed = sharedPixels(kept.length * bytes);
      kept.forEach((index, place) =>
        packed.set(rgb.subarray(index * bytes, (index + 1) * bytes), place * bytes),
      );
      rgb = packed;
    }
    if (channels === 3) return { kept, shapes, width, height, channels, pixels: rgb, bad };

    // one gray channel: R of every pixel when all are gray, else the luma
    const pixels = sharedPixels(rgb.length / 3);
    if (this.allGray) {
      for (let index = 0; index < pixels.length; index++) pixels[index] = rgb[3 * index];
    } else {
      for (let index = 0; index < pixels.length; index++) {
        const [red, green, blue] = [rgb[3 * index], rgb[3 * index + 1], rgb[3 * index + 2]];
        pixels[index] = Math.round((kLumaRed * red + kLumaGreen * green + kLumaBlue * blue) / 1000);
      }
    }
    return { kept, shapes, width, height, channels, pixels, bad };
  }
}
