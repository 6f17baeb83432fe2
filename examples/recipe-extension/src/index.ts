export { QA_TSV_DATASET_FAMILY, QaTsvConfigSchema, QaTsvDataset, getQaTsvDatasetHub, qaTsvDatasetFamilySpec } from './dataset.js';
export type { QaPair, QaTsvConfig } from './dataset.js';
export { DATASET_STATS_RECIPE, DatasetStatsConfigSchema, datasetStatsRecipe } from './recipe.js';
export type { DatasetStats, DatasetStatsConfig } from './recipe.js';
export { registerRecipeExtension } from './register.js';
