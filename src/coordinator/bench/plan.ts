// The plan of a benchmark run: its settings checked, the peer configurations
// to measure, and how many steps each syncgrad row needs for its timed span.

import { OptionError } from '../../shared/errors.js';
import type { ModelShape } from '../../shared/layout.js';
import type { EngineName } from '../../shared/messages.js';
import { flopsPerSample } from './measure.js';
import type { TorchInfo } from './torch-peer.js';

/** The most input floats a benchmark row may hold: its synthetic images and the model. */
const kMostInputFloats = 2 ** 28;

export function checkSettings(
  settings: {
    batches: number[];
    workerCounts: number[];
    inputSizes: number[];
    hiddenSizes: number[];
    seconds: number;
    engines: EngineName[];
  },
  syntheticData: boolean,
): void {
  wholeNumbers('batches', settings.batches, '--batches 32,128,512');
  wholeNumbers('workers', settings.workerCounts, '--workers 1,2');
  wholeNumbers('inputs', settings.inputSizes, '--inputs 784,3072');
  for (const inputSize of syntheticData ? settings.inputSizes : []) {
    // 4096 synthetic images at least, and a first layer of inputSize × width
    const floats = inputSize * Math.max(4096, settings.hiddenSizes[0] * 8);
    if (floats > kMostInputFloats) {
      throw new OptionError(
        'inputs',
        `--inputs ${inputSize} needs ${((floats * 5) / 2 ** 30).toFixed(1)} GB for its ` +
          `synthetic images and first layer, more than a benchmark row should take; use ` +
          `inputs of at most ${Math.floor(kMostInputFloats / 4096).toLocaleString('en-US')}.`,
      );
    }
  }
  if (!(settings.seconds > 0) || !Number.isFinite(settings.seconds)) {
    throw new OptionError(
      'seconds',
      `--seconds must be a positive number of seconds per row, got ${settings.seconds}.`,
    );
  }
  if (settings.engines.length === 0) {
    throw new OptionError('engines', '--engines must name at least one engine: onnx, tfjs.');
  }
  for (const engine of settings.engines) {
    if (engine !== 'onnx' && engine !== 'tfjs') {
      throw new OptionError('engines', `--engines must list onnx, tfjs or both; got '${engine}'.`);
    }
  }
}

function wholeNumbers(flag: string, values: number[], example: string): void {
  if (values.length === 0 || values.some((value) => !Number.isInteger(value) || value < 1)) {
    throw new OptionError(
      flag,
      `--${flag} must list positive whole numbers separated by commas, got ` +
        `'${values.join(',')}'. Example: ${example}.`,
    );
  }
}

/**
 * Steps per epoch for about `seconds / timedEpochs` per epoch, guessed from
 * the engine's matrix-multiply rate: a training step reaches roughly half of
 * it on each worker. Bounded so that a poor guess costs little time.
 */
export function plannedSteps(
  shape: ModelShape,
  gflops: number,
  task: { globalBatch: number; workers: number },
  seconds: number,
  timedEpochs: number,
): number {
  const samplesPerSecond = (0.5 * gflops * 1e9 * task.workers) / flopsPerSample(shape);
  const steps = (samplesPerSecond * seconds) / timedEpochs / task.globalBatch;
  return Math.max(4, Math.min(400, Math.round(steps)));
}

export interface PeerConfiguration {
  peer: string;
  configuration: string;
  threads: number;
  processes: number;
}

export function peerConfigurations(
  torch: TorchInfo | undefined,
  workers: number,
): PeerConfiguration[] {
  const list: PeerConfiguration[] = [
    { peer: 'tfjs-layers', configuration: 'model.fit, 1 thread', threads: 1, processes: 1 },
  ];
  if (!torch) return list;
  list.push({ peer: 'PyTorch', configuration: '1 thread', threads: 1, processes: 1 });
  if (workers > 1) {
    list.push({
      peer: 'PyTorch',
      configuration: `${workers} threads`,
      threads: workers,
      processes: 1,
    });
    if (torch.distributed) {
      list.push({
        peer: 'PyTorch',
        configuration: `torch.distributed gloo, ${workers} processes`,
        threads: 1,
        processes: workers,
      });
    }
  }
  return list;
}
