// Saving and loading trained models in the TensorFlow.js Layers format
// (model.json plus a weights file), so `tf.loadLayersModel` in any
// TensorFlow.js program can load what syncgrad trains.

import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { ModelFileError } from '../shared/errors.js';
import type { ValueRange } from '../shared/images.js';
import { parameterLayout } from '../shared/layout.js';
import { ensureDirectory } from './data/common.js';
import type { TrainedModel } from './trainer.js';

const kModelFile = 'model.json';
const kWeightsFile = 'weights.bin';
const kClassesFile = 'classes.json';

/**
 * The Keras-style Sequential model syncgrad trains: Flatten, ReLU Dense layers
 * and a softmax Dense layer. Inputs are images scaled to 0..1.
 */
export function buildLayersModel(model: Omit<TrainedModel, 'pixelType'>): tf.Sequential {
  const layers = tf.sequential({ name: 'syncgrad_mlp' });
  layers.add(tf.layers.flatten({ inputShape: model.inputShape, name: 'flatten' }));
  model.shape.hiddenSizes.forEach((units, index) => {
    layers.add(tf.layers.dense({ units, activation: 'relu', name: `dense_${index + 1}` }));
  });
  layers.add(
    tf.layers.dense({
      units: model.shape.outputSize,
      activation: 'softmax',
      name: `dense_${model.shape.hiddenSizes.length + 1}`,
    }),
  );
  // syncgrad stores kernels output-major; Keras wants them input-major
  const weights = parameterLayout(model.shape).layers.flatMap((layer) => {
    const stored = model.parameters.subarray(layer.kernelOffset, layer.biasOffset);
    const kernel = new Float32Array(stored.length);
    for (let output = 0; output < layer.outputSize; output++) {
      for (let input = 0; input < layer.inputSize; input++) {
        kernel[input * layer.outputSize + output] = stored[output * layer.inputSize + input];
      }
    }
    return [
      tf.tensor2d(kernel, [layer.inputSize, layer.outputSize]),
      tf.tensor1d(model.parameters.subarray(layer.biasOffset, layer.biasOffset + layer.outputSize)),
    ];
  });
  layers.setWeights(weights);
  tf.dispose(weights);
  return layers;
}

/**
 * Writes `model.json`, `weights.bin`, `classes.json` and any `extras` (name
 * to JSON value) into `directory`. Each file is written under a temporary name
 * and renamed into place, so a failure never leaves a half-written file where
 * an earlier model was.
 */
export async function saveModel(
  model: TrainedModel,
  directory: string,
  extras: Record<string, unknown> = {},
): Promise<void> {
  const layers = buildLayersModel(model);
  let artifacts: tf.io.ModelArtifacts | undefined;
  await layers.save(
    tf.io.withSaveHandler(async (saved) => {
      artifacts = saved;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  layers.dispose();
  if (!artifacts?.weightSpecs || !artifacts.weightData) {
    throw new Error('TensorFlow.js returned no weights when saving the model');
  }

  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology as object,
    format: 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: null,
    weightsManifest: [{ paths: [`./${kWeightsFile}`], weights: artifacts.weightSpecs }],
    userDefinedMetadata: {
      classNames: model.classNames,
      // how the model expects raw input values to be scaled
      inputScale: inputScale(model),
      ...(model.valueRange && { inputRange: [model.valueRange.minimum, model.valueRange.maximum] }),
    },
  };
  const weightData = artifacts.weightData as ArrayBuffer;
  const files: [string, string | Uint8Array][] = [
    [kWeightsFile, new Uint8Array(weightData)],
    [kClassesFile, JSON.stringify(model.classNames, null, 2) + '\n'],
    ...Object.entries(extras).map(([name, value]): [string, string] => [
      name,
      JSON.stringify(value, null, 2) + '\n',
    ]),
    // model.json last: a folder with a model.json is a complete model
    [kModelFile, JSON.stringify(modelJson)],
  ];
  try {
    await ensureDirectory(directory);
    for (const [name, contents] of files) {
      const target = join(directory, name);
      const temporary = `${target}.${process.pid}.tmp`;
      await writeFile(temporary, contents);
      await rename(temporary, target);
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ModelFileError(
      directory,
      `Could not write the model to '${directory}': ${reason}. Choose a writable folder ` +
        `with --out.`,
    );
  }
}

/** A model folder read back: the Layers model and the class names saved beside it. */
export interface LoadedModel {
  layers: tf.LayersModel;
  classNames: string[];
  inputShape: number[];
  /** The raw range the training images were scaled from, when they were (IDX integers). */
  valueRange?: ValueRange;
}

function inputScale(model: Omit<TrainedModel, 'pixelType'> & Partial<TrainedModel>): string {
  if (model.valueRange) {
    const { minimum, maximum } = model.valueRange;
    return `(x - ${minimum}) / ${maximum - minimum}`;
  }
  return model.pixelType === 'float32' ? '1' : '1/255';
}

/** Loads a folder written by `saveModel` with `tf.loadLayersModel`. */
export async function loadModel(directory: string): Promise<LoadedModel> {
  const modelPath = join(directory, kModelFile);
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = JSON.parse(await readFile(modelPath, 'utf8')) as tf.io.ModelJSON;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ModelFileError(
      modelPath,
      `Could not read '${modelPath}': ${reason}. --model must be a folder written by 'syncgrad ` +
        `train --out DIR'.`,
    );
  }
  if (
    typeof modelJson !== 'object' ||
    modelJson === null ||
    typeof modelJson.modelTopology !== 'object' ||
    !Array.isArray(modelJson.weightsManifest)
  ) {
    throw new ModelFileError(
      modelPath,
      `'${modelPath}' is JSON but not a TensorFlow.js Layers model (it needs modelTopology and ` +
        `weightsManifest). --model must be a folder written by 'syncgrad train --out DIR'.`,
    );
  }
  const handler: tf.io.IOHandler = {
    load: () =>
      tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs = manifest.flatMap((group) => group.weights);
        const buffers = await Promise.all(
          manifest
            .flatMap((group) => group.paths)
            .map((path) => readWeights(join(directory, path))),
        );
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      }),
  };
  let layers: tf.LayersModel;
  try {
    layers = await tf.loadLayersModel(handler);
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new ModelFileError(
      directory,
      `the model in '${directory}' does not load: ${reason}. Its model.json and weights ` +
        `files do not belong together or are damaged; save the model again with --out.`,
    );
  }
  const metadata = (modelJson.userDefinedMetadata ?? {}) as {
    classNames?: string[];
    inputRange?: [number, number];
  };
  const outputs = layers.outputs[0].shape[1] ?? 0;
  const classNames =
    metadata.classNames ?? Array.from({ length: outputs }, (_, index) => String(index));
  const inputShape = layers.inputs[0].shape.slice(1) as number[];
  const range = metadata.inputRange;
  const valueRange =
    Array.isArray(range) && range.length === 2 && range.every(Number.isFinite)
      ? { minimum: range[0], maximum: range[1] }
      : undefined;
  return { layers, classNames, inputShape, ...(valueRange && { valueRange }) };
}

async function readWeights(path: string): Promise<ArrayBuffer> {
  try {
    const bytes = await readFile(path);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ModelFileError(
      path,
      `Could not read the weights file '${path}': ${reason}. Save the model again with --out.`,
    );
  }
}
