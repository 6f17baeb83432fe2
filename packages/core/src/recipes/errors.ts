import { Fs2Error, type Fs2ErrorOptions } from '../errors/Fs2Error.js';

/** No recipe is registered under this name. `knownRecipes` lists those that are. */
export class RecipeNotKnownError extends Fs2Error {
  override readonly category = 'not_found' as const;

  constructor(
    readonly recipeName: string,
    readonly knownRecipes: readonly string[] = [],
  ) {
    super(`${recipeName} is not a known recipe.${knownRecipes.length > 0 ? ` Registered recipes: ${knownRecipes.join(', ')}.` : ''}`);
  }
}

/** One problem of a recipe configuration and where it was written. */
export interface RecipeConfigProblem {
  /** The sentence that says what is wrong (naming the key). */
  readonly reason: string;
  /** Where: `file:line:column`, `--config key=value`, or `undefined` for the recipe's defaults. */
  readonly where: string | undefined;
}

/**
 * A recipe configuration cannot be used: a config file that does not exist or is not YAML, a
 * malformed `--config key=value`, or a merged configuration that does not fit the recipe's schema
 * (an unknown key, a wrong type). {@link problems} lists every one; the message shows each on its
 * own line with where it was written.
 */
export class RecipeConfigError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly recipeName: string,
    readonly problems: readonly RecipeConfigProblem[],
    options?: Fs2ErrorOptions,
  ) {
    const lines = problems.map((p) => `${p.reason}${p.where === undefined ? '' : ` (${p.where})`}`);
    super(
      lines.length === 1
        ? `The configuration of the ${recipeName} recipe is not valid: ${lines[0] ?? ''}`
        : `The configuration of the ${recipeName} recipe is not valid:\n${lines.map((l) => `  ${l}`).join('\n')}`,
      options,
    );
  }
}

/**
 * A recipe cannot run with what its configuration names: a model of a family it cannot train, a
 * dataset of the wrong kind, a tokenizer whose vocabulary does not fit the model.
 */
export class RecipeError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly recipeName: string,
    readonly reason: string,
    options?: Fs2ErrorOptions,
  ) {
    super(`The ${recipeName} recipe cannot run: ${reason}`, options);
  }
}

/**
 * The loss or the gradients of a training step are not finite (NaN or infinite): the run
 * diverged. The message names the step and suggests what usually helps.
 */
export class TrainingDivergedError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly step: number,
    readonly what: 'loss' | 'gradient norm',
  ) {
    super(
      `The ${what} of training step ${step} is not finite: the run diverged. Lower the learning rate (\`optimizer.config.lr\`), ` +
        'add warm-up steps (`lr_scheduler.config.num_warmup_steps`) or clip gradients (`trainer.max_grad_norm`), and resume from the last checkpoint.',
    );
  }
}
