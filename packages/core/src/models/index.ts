export {
  ModelArchitectureNotKnownError,
  ModelFamilyNotDetectedError,
  ModelFamilyNotKnownError,
  ModelGatedError,
  ModelNotKnownError,
} from './errors.js';
export { ModelFamily, isTensorParallelOptions } from './ModelFamily.js';
export type {
  CheckpointConverter,
  CreateModelOptions,
  HuggingFaceInterop,
  IterCheckpointOptions,
  LoadableModel,
  LoadCustomModelOptions,
  LoadModelOptions,
  MetaInterop,
  ModelConfigOf,
  ModelFactory,
  ModelFactoryContext,
  ModelFamilyCapabilities,
  ModelPlacementOptions,
  ModelSharder,
  ParallelCreateModelOptions,
  ParallelLoadCustomModelOptions,
  ParallelLoadModelOptions,
  SavableModel,
  SaveModelOptions,
  SourceTensor,
  TensorParallelOptions,
} from './ModelFamily.js';
export { StandardModelFamily } from './StandardModelFamily.js';
export type { ModelFamilyServices, ModelFamilySpec } from './StandardModelFamily.js';
export { ModelHub, createModelHubAccessor, retrieveModelCard } from './ModelHub.js';
export type { ModelHubAccessor, ModelHubAccessorOptions } from './ModelHub.js';
export { GlobalModelLoader, StandardGlobalModelLoader, loadModel } from './GlobalModelLoader.js';
export type {
  DetectedModel,
  GlobalLoadModelOptions,
  GlobalParallelLoadModelOptions,
  LoadModelFromPathOptions,
  ParallelLoadModelFromPathOptions,
} from './GlobalModelLoader.js';
export { localCausalLM } from './CausalLM.js';
export type { CausalLM, Logits, LogitsOptions } from './CausalLM.js';
export { TensorParallelModel } from './parallel/TensorParallelModel.js';
export type { TensorParallelModelOptions } from './parallel/TensorParallelModel.js';
export type { TensorParallelSource } from './parallel/protocol.js';
export { TensorParallelDivergenceError, TensorParallelWorkerError } from './parallel/errors.js';
