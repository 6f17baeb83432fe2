import type { TSchema } from '@sinclair/typebox';

import type { DependencyContainer, DependencyResolver } from '../runtime/DependencyContainer.js';
import { createServiceIdentifier, type ServiceIdentifier } from '../runtime/ServiceIdentifier.js';

/** What a recipe's `run` receives besides its resolver and config. */
export interface RecipeContext {
  /** The folder the recipe writes to (checkpoints, metrics, outputs), created. */
  readonly outputDir: string;
  /** Prints a line of the recipe's log (the CLI: its error stream). */
  readonly log: (line: string) => void;
  /** Whether progress bars may be drawn (off with `FAIRSEQ2_NO_PROGRESS`). */
  readonly progress: boolean;
  /** Where progress bars go: a stream, so they can be redrawn in place. Default: `process.stderr`. */
  readonly progressStream?: NodeJS.WritableStream & { readonly isTTY?: boolean };
  /** Stops the recipe at the next safe point (the CLI: Ctrl-C); a training run saves a checkpoint first. */
  readonly signal?: AbortSignal;
}

/**
 * A recipe: a program fs2 runs from a configuration (fairseq2's recipes: `train`, `eval`,
 * `generate`, and any an extension adds), as `fs2 recipe <name> OUTPUT_DIR --config file.yaml
 * --config key=value`. Its configuration is YAML checked against {@link configSchema} with the
 * same machinery as cards (unknown keys and wrong types refused, each located), merged over
 * {@link defaultConfig}.
 *
 * The flow (`runRecipe`): the configuration is loaded, then a container is built with the
 * library, the installed extensions and {@link register} (what the recipe needs: its dataset
 * family, more card folders), then {@link run} resolves hubs, tokenizers and datasets from it.
 */
export interface Recipe<TConfig = unknown> {
  /** The name `fs2 recipe <name>` uses. */
  readonly name: string;
  /** One line for `fs2 recipe --help`. */
  readonly description: string;
  /** The JSON schema of the configuration (TypeBox). */
  readonly configSchema: TSchema;
  /** A fresh default configuration. */
  defaultConfig(): TConfig;
  /**
   * Registers what the recipe needs before the container is built (fairseq2's
   * `Recipe.register`): dataset families, card folders the configuration names.
   */
  register(container: DependencyContainer, config: TConfig): void;
  /** Runs the recipe. */
  run(resolver: DependencyResolver, config: TConfig, context: RecipeContext): Promise<void>;
}

/** The container identifier under which recipes are registered, keyed by name. */
export const Recipe: ServiceIdentifier<Recipe> = createServiceIdentifier('Recipe');
