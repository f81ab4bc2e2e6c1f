// The syncgrad library: data-parallel MLP training across worker threads.

export { train } from './coordinator/trainer.js';
export type { TrainedModel, TrainingSummary } from './coordinator/trainer.js';
export { trainInWorker } from './coordinator/background.js';
export type {
  CheckpointInterval,
  EngineChoice,
  EpochRecord,
  StepProgress,
  StepTime,
  TrainOptions,
} from './coordinator/options.js';
export type { ClassAccuracy, EvaluationReport } from './coordinator/metrics.js';
export type { DataSummary, SetSummary } from './coordinator/prepare-data.js';
export { buildLayersModel, loadModel, saveModel } from './coordinator/model-io.js';
export type { LoadedModel } from './coordinator/model-io.js';
export { evaluateLoadedModel } from './coordinator/evaluate-model.js';
export { loadDataset } from './coordinator/data/index.js';
export { checkDataset } from './coordinator/dataset.js';
export type { ImageShape } from './coordinator/dataset.js';
export { datasetFromArrays, datasetFromSamples } from './coordinator/dataset-builders.js';
export type {
  ArrayDatasetInput,
  GeneratedDatasetOptions,
  Sample,
} from './coordinator/dataset-builders.js';
export { bench } from './coordinator/bench/run-bench.js';
export type { BenchOptions, BenchProgress, BenchReport } from './coordinator/bench/run-bench.js';
export type { BenchRatio } from './coordinator/bench/ratios.js';
export type { BenchRow, PeerRow, StepBreakdown } from './coordinator/bench/types.js';
export type {
  ImageSize,
  LoadOptions,
  LoadProgress,
  ReadOptions,
} from './coordinator/data/index.js';
export type { Dataset, DatasetSplits, LabelledImages, PixelArray } from './shared/images.js';
export type { ModelShape } from './shared/layout.js';
export type { BackendName, EngineName } from './shared/messages.js';
export type { OptimizerName } from './shared/optimizers.js';
export {
  BackendError,
  DatasetError,
  EngineError,
  ModelFileError,
  OptionError,
  SyncgradError,
  TrainingAbortedError,
  TrainingFailedError,
} from './shared/errors.js';
