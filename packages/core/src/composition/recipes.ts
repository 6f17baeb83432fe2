import { evalRecipe } from '../recipes/lm/evalRecipe.js';
import { generateRecipe } from '../recipes/lm/generateRecipe.js';
import { trainRecipe } from '../recipes/lm/trainRecipe.js';
import { Recipe } from '../recipes/Recipe.js';
import type { DependencyContainer } from '../runtime/DependencyContainer.js';

export { registerCheckpointModels } from '../recipes/registerCheckpointModels.js';

/**
 * Registers a recipe under its name, for `fs2 recipe <name>` and `runRecipe`. An extension adds
 * its own this way; a second recipe with the same name is an error naming both registrants.
 *
 * ```ts
 * export default function setup(container: DependencyContainer): void {
 *   registerRecipe(container, myRecipe);
 * }
 * ```
 */
export function registerRecipe<TConfig>(container: DependencyContainer, recipe: Recipe<TConfig>): void {
  container.register(Recipe, () => recipe as unknown as Recipe, { key: recipe.name, singleton: true });
}

/** The library's recipes: `train`, `eval` and `generate`. */
export function registerRecipeLibrary(container: DependencyContainer): void {
  registerRecipe(container, trainRecipe);
  registerRecipe(container, evalRecipe);
  registerRecipe(container, generateRecipe);
}
