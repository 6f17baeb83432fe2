export {
  ModelArchitectureNotKnownError,
  ModelFamilyNotDetectedError,
  ModelFamilyNotKnownError,
  ModelGatedError,
  ModelNotKnownError,
} from './errors.js';
export { ModelFamily } from './ModelFamily.js';
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
  SavableModel,
  SaveModelOptions,
  SourceTensor,
} from './ModelFamily.js';
export { StandardModelFamily } from './StandardModelFamily.js';
export type { ModelFamilyServices, ModelFamilySpec } from './StandardModelFamily.js';
export { ModelHub, createModelHubAccessor, retrieveModelCard } from './ModelHub.js';
export type { ModelHubAccessor, ModelHubAccessorOptions } from './ModelHub.js';
export { GlobalModelLoader, StandardGlobalModelLoader, loadModel } from './GlobalModelLoader.js';
export type { DetectedModel, GlobalLoadModelOptions, LoadModelFromPathOptions } from './GlobalModelLoader.js';
