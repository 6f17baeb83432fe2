import { registerDatasetFamily, registerRecipe, type DependencyContainer } from '@fs2/core';

import { QA_TSV_DATASET_FAMILY, qaTsvDatasetFamilySpec } from './dataset.js';
import { datasetStatsRecipe } from './recipe.js';

// Begin-example: register
/**
 * Registers the `qa_tsv` dataset family (its cards then open anywhere: the built-in `train`,
 * `eval` and `generate` recipes, `openDataset`) and the `dataset_stats` recipe.
 */
export function registerRecipeExtension(container: DependencyContainer): void {
  registerDatasetFamily(container, QA_TSV_DATASET_FAMILY, qaTsvDatasetFamilySpec);
  registerRecipe(container, datasetStatsRecipe);
}
// End-example: register
