// Instantiates the SIMD all-reduce and optimizer kernels (update-kernels.wat)
// on a session's shared model memory, once per thread and memory.

import { kUpdateKernelsBase64 } from './update-kernels-wasm.js';

/** The kernels' exports; pointers are byte offsets, counts multiples of 4 floats. */
export interface UpdateKernels {
  reduce(
    mean: number,
    gradients: number,
    strideBytes: number,
    slots: number,
    count: number,
    scale: number,
  ): void;
  /** 1 when every float of the range is finite, else 0. */
  allFinite(values: number, count: number): number;
  sgd(parameters: number, mean: number, count: number, rate: number): void;
  momentum(
    parameters: number,
    velocity: number,
    mean: number,
    count: number,
    rate: number,
    keep: number,
  ): void;
  adam(
    parameters: number,
    first: number,
    second: number,
    mean: number,
    count: number,
    beta1: number,
    beta2: number,
    stepSize: number,
    secondCorrection: number,
    epsilon: number,
  ): void;
}

let compiled: WebAssembly.Module | undefined;
const instances = new WeakMap<WebAssembly.Memory, UpdateKernels>();

/** The kernels bound to `memory`; compiling the 600-byte module takes microseconds. */
export function updateKernels(memory: WebAssembly.Memory): UpdateKernels {
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    compiled ??= new WebAssembly.Module(Buffer.from(kUpdateKernelsBase64, 'base64'));
    const instance = new WebAssembly.Instance(compiled, { syncgrad: { memory } });
    kernels = instance.exports as unknown as UpdateKernels;
    instances.set(memory, kernels);
  }
  return kernels;
}
