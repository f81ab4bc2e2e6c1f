// Decodes the images of a folder on a pool of threads, one per core, and
// assembles their pixels into one array with the dataset's channel count.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

import { Piscina } from 'piscina';
// loaded in this thread too, although only the decoding threads use it, so that
// sharp's shared libraries are not unloaded each time one of them exits
import 'sharp';

import { DatasetError } from '../../shared/errors.js';
import type { DecodeTask, DecodedChunk } from '../../worker/decode-worker.js';
import type { LoadProgress } from './progress.js';

/**
 * Files per task. Large enough that a task's round trip is noise next to its
 * decoding (0.1 to 0.3 ms a file for a small JPEG), small enough that progress
 * moves often and the threads finish at nearly the same time.
 */
const kMaxChunkFiles = 512;

/** Tasks queued per thread, so a thread never waits for the coordinator between chunks. */
const kTasksPerThread = 2;

const workerFile = fileURLToPath(new URL('../../worker/decode-worker.js', import.meta.url));

/** The pixels of every decoded image, and what assembling them needs to know. */
export interface DecodedImages {
  /** Size of each image as `WxHxC`, for the one-size check. */
  shapes: string[];
  width: number;
  height: number;
  channels: number;
  /** All images of the first decoded image's size, each at its place in `files`. */
  pixels: Uint8Array;
}

/**
 * Channels rule: every image is decoded as RGB (gray repeated into R, G and B,
 * alpha dropped); when every image of the folder has R == G == B at every
 * pixel, the folder is stored with one channel (R), otherwise with three.
 */
export const kChannelRule =
  'images are read as RGB with any alpha dropped, and stored with one channel only when ' +
  'every image is gray';

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
   * that event also has `failed: true` and `done` counts the images decoded.
   * Images whose size differs from the first one decoded are left out of
   * `pixels` and show in `shapes`.
   */
  async decode(
    folder: string,
    files: string[],
    onProgress?: (event: LoadProgress) => void,
  ): Promise<DecodedImages> {
    const total = files.length;
    const chunkFiles = Math.max(1, Math.min(kMaxChunkFiles, Math.ceil(total / this.threads)));
    const assembly = new Assembly(total);
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
          decoded = await this.start().run({ files: chunk });
        } catch (error) {
          failure ??= error; // a thread that failed to start or died
          break;
        }
        assembly.add(first, decoded);
        if (decoded.failure !== undefined) {
          const file = chunk[decoded.failure.index];
          failure ??= new DatasetError(
            file,
            `cannot decode image ${file} (${decoded.failure.reason}); expected a readable ` +
              `JPEG or PNG file, so replace or remove it`,
          );
        }
        done += decoded.failure?.index ?? chunk.length;
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

/**
 * Gathers chunks, arriving in any order, into one RGB array sized after the
 * first image decoded, then applies the channels rule.
 */
class Assembly {
  private readonly sizes: string[];
  private width = 0;
  private height = 0;
  private rgb: Uint8Array | undefined;
  private allGray = true;

  constructor(private readonly total: number) {
    this.sizes = new Array(total);
  }

  add(first: number, chunk: DecodedChunk): void {
    for (let image = 0; image < chunk.widths.length; image++) {
      const width = chunk.widths[image];
      const height = chunk.heights[image];
      if (this.rgb === undefined) {
        [this.width, this.height] = [width, height];
        this.rgb = new Uint8Array(this.total * width * height * 3);
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
    const channels = this.allGray ? 1 : 3;
    const shapes = Array.from(this.sizes, (size) => `${size}x${channels}`);
    const rgb = this.rgb ?? new Uint8Array(0);
    if (channels === 3) return { shapes, width, height, channels, pixels: rgb };

    // one gray channel: R of every pixel
    const pixels = new Uint8Array(rgb.length / 3);
    for (let index = 0; index < pixels.length; index++) pixels[index] = rgb[3 * index];
    return { shapes, width, height, channels, pixels };
  }
}
