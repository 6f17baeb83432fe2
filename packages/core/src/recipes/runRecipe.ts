import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { stringify as stringifyYaml } from 'yaml';

import type { DependencyContainer, DependencyResolver } from '../runtime/DependencyContainer.js';
import { createFairseq2, type InitFairseq2Options } from '../runtime/init.js';
import { RecipeNotKnownError } from './errors.js';
import { loadRecipeConfig, type RecipeConfigSource } from './loadRecipeConfig.js';
import { Recipe, type RecipeContext } from './Recipe.js';

/** Options of {@link runRecipe}. */
export interface RunRecipeOptions extends Pick<InitFairseq2Options, 'env' | 'cwd' | 'extensions' | 'log'> {
  /** The folder the recipe writes to (created; relative to `cwd`). */
  readonly outputDir: string;
  /** Config files and `key=value` overrides, applied in order over the recipe's defaults. Default: none. */
  readonly config?: readonly RecipeConfigSource[];
  /** More registrations, after the recipe's own. */
  readonly extras?: (container: DependencyContainer) => void | Promise<void>;
  /** Draw progress bars. Default: unless `FAIRSEQ2_NO_PROGRESS` is set. */
  readonly progress?: boolean;
  /** Where bars go. Default: `process.stderr`. */
  readonly progressStream?: RecipeContext['progressStream'];
  /** Stops the recipe at its next safe point. */
  readonly signal?: AbortSignal;
}

/** The name of the file a run writes its effective configuration to, in its output folder. */
export const RECIPE_CONFIG_FILE = 'config.yaml';

/**
 * Runs `recipe` as `fs2 recipe` does: loads its configuration (defaults, files, overrides; see
 * `loadRecipeConfig`), writes it to `OUTPUT_DIR/config.yaml`, builds a container (the library,
 * the installed extensions, the recipe's `register`, `extras`) and calls the recipe's `run`.
 *
 * ```ts
 * await runRecipe(trainRecipe, {
 *   outputDir: 'runs/tiny',
 *   config: parseRecipeConfigArgs('train', ['recipe.yaml', 'regime.num_steps=200'], process.cwd()),
 * });
 * ```
 *
 * @throws RecipeConfigError when the configuration does not fit the recipe's schema.
 */
export async function runRecipe<TConfig>(recipe: Recipe<TConfig>, options: RunRecipeOptions): Promise<void> {
  const variables = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const config = (await loadRecipeConfig(recipe.name, recipe.configSchema, recipe.defaultConfig() as never, options.config ?? [], {
    env: (name) => variables[name],
  })) as TConfig;
  const outputDir = resolve(cwd, options.outputDir);
  await mkdir(outputDir, { recursive: true });
  await writeFile(join(outputDir, RECIPE_CONFIG_FILE), stringifyYaml(config));
  const progress = options.progress ?? variables['FAIRSEQ2_NO_PROGRESS'] === undefined;
  const resolver = await createFairseq2({
    ...(options.env === undefined ? {} : { env: options.env }),
    cwd,
    ...(options.extensions === undefined ? {} : { extensions: options.extensions }),
    log,
    noProgress: !progress,
    extras: async (container) => {
      recipe.register(container, config);
      await options.extras?.(container);
    },
  });
  await recipe.run(resolver, config, {
    outputDir,
    log,
    progress,
    ...(options.progressStream === undefined ? {} : { progressStream: options.progressStream }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}

/**
 * The recipe registered under `name`.
 *
 * @throws RecipeNotKnownError naming the registered recipes.
 */
export function findRecipe(resolver: DependencyResolver, name: string): Recipe {
  const recipes = resolver.lookup(Recipe);
  const recipe = recipes.maybeGet(name);
  if (recipe === undefined) {
    throw new RecipeNotKnownError(name, recipes.keys().map(String).sort());
  }
  return recipe;
}
