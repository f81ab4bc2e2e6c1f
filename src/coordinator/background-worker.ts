// The thread behind `trainInWorker`: a coordinator exposed through comlink.

import { parentPort } from 'node:worker_threads';

import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

import type { BackgroundTrainer } from './background.js';
import { train } from './trainer.js';

let controller = new AbortController();

const trainer: BackgroundTrainer = {
  async train(options, onEpoch, onProgress, onLoadProgress, onNotice) {
    controller = new AbortController();
    // plain objects, so errors keep their name and message when comlink sends them
    try {
      return await train({
        ...options,
        signal: controller.signal,
        onEpoch: onEpoch && ((record) => void onEpoch(record)),
        onProgress: onProgress && ((progress) => void onProgress(progress)),
        onLoadProgress: onLoadProgress && ((event) => void onLoadProgress(event)),
        onNotice: onNotice && ((message) => void onNotice(message)),
      });
    } catch (error) {
      if (error instanceof Error)
        throw Object.assign(new Error(error.message), { name: error.name });
      throw error;
    }
  },
  abort() {
    controller.abort();
  },
};

if (parentPort) Comlink.expose(trainer, nodeEndpoint(parentPort));
