export { RecipeConfigError, RecipeError, RecipeNotKnownError, TrainingDivergedError } from './errors.js';
export type { RecipeConfigProblem } from './errors.js';
export { Recipe } from './Recipe.js';
export type { RecipeContext } from './Recipe.js';
export { loadRecipeConfig, parseRecipeConfigArgs } from './loadRecipeConfig.js';
export type { LoadRecipeConfigOptions, RecipeConfigSource } from './loadRecipeConfig.js';
export { RECIPE_CONFIG_FILE, findRecipe, runRecipe } from './runRecipe.js';
export type { RunRecipeOptions } from './runRecipe.js';
export { MetricBag } from './MetricBag.js';
export type { MetricBagState } from './MetricBag.js';
export { JsonlMetricRecorder, LogMetricRecorder, formatMetric } from './MetricRecorder.js';
export type { MetricRecorder } from './MetricRecorder.js';
export { BarTrainingProgress, LineTrainingProgress } from './TrainingProgress.js';
export type { TrainingProgress, TrainingProgressUpdate } from './TrainingProgress.js';
export { createLrSchedule } from './lrSchedule.js';
export type { LrScheduleName, LrScheduleOptions } from './lrSchedule.js';
export type { EvalUnit, TrainUnit, UnitLoss } from './TrainUnit.js';
export { Evaluator } from './Evaluator.js';
export type { EvaluatorOptions } from './Evaluator.js';
export { Trainer } from './Trainer.js';
export type { TrainResult, TrainerOptions, TrainerStopReason, TrainerValidation } from './Trainer.js';
export {
  CHECKPOINT_CARD_NAME,
  CHECKPOINT_METADATA_FILE,
  CheckpointManager,
  listCheckpointSteps,
  readCheckpointScores,
} from './CheckpointManager.js';
export type { CheckpointManagerOptions, CheckpointModelIO, TrainerStateJson } from './CheckpointManager.js';
export { CheckpointAssetMetadataSource } from './CheckpointAssetMetadataSource.js';
export { decoderLMLogits, trainableLMLogits } from './lm/LMLogits.js';
export type { LMLogits } from './lm/LMLogits.js';
export { LMEvalUnit, LMTrainUnit, createLMMetricBag, recordLMBatch } from './lm/LMUnits.js';
export {
  CommonSectionSchema,
  EvalRecipeConfigSchema,
  GenerateRecipeConfigSchema,
  LrSchedulerSectionSchema,
  ModelSectionSchema,
  OptimizerSectionSchema,
  RegimeSectionSchema,
  TokenizerSectionSchema,
  TrainDatasetSectionSchema,
  TrainRecipeConfigSchema,
  TrainerSectionSchema,
  defaultCommonSection,
  defaultEvalRecipeConfig,
  defaultGenerateRecipeConfig,
  defaultTrainRecipeConfig,
} from './lm/configSections.js';
export type {
  CommonSection,
  DatasetSourceSection,
  EvalRecipeConfig,
  GenerateRecipeConfig,
  ModelSection,
  TokenizerSection,
  TrainRecipeConfig,
} from './lm/configSections.js';
export { copyTokenizerFiles, modelCheckpointPath, openSectionDataset, resolveModel, resolveTokenizer } from './lm/lmAssets.js';
export type { ResolvedModel, ResolvedTokenizer } from './lm/lmAssets.js';
export { registerCommonAssets } from './lm/registerCommonAssets.js';
export { TRAIN_RECIPE, trainRecipe } from './lm/trainRecipe.js';
export { EVAL_RECIPE, evalRecipe } from './lm/evalRecipe.js';
export { GENERATE_RECIPE, generateRecipe } from './lm/generateRecipe.js';
export { renderRecipeConfigReference } from './configReference.js';
