import { resolve } from 'node:path';

import {
  AssetWarningListener,
  InvalidArgumentError,
  Recipe,
  findRecipe,
  loadRecipeConfig,
  parseRecipeConfigArgs,
  runRecipe,
  type RecipeConfigSource,
} from '@fs2/core';
import { Option, type Command } from 'commander';
import { stringify as stringifyYaml } from 'yaml';

import type { CommandContext } from '../context.js';

/** The options of `fs2 recipe`. */
interface RecipeOptions {
  readonly dumpConfig?: boolean;
}

/** One `--config` (file or override) or `--config-file` (always a file) value, in command-line order. */
interface ConfigArg {
  readonly value: string;
  readonly file: boolean;
}

/**
 * `fs2 recipe <name> OUTPUT_DIR --config file.yaml --config key=value ...`: runs a registered
 * recipe (`train`, `eval`, `generate`, or an extension's) as fairseq2's recipe commands do: its
 * configuration is its defaults, then each `--config` in order (a YAML file, or a `key=value`
 * override whose value is read as YAML; `--config-file` is fairseq2's spelling for files), checked
 * against the recipe's schema. `--dump-config` prints the configuration and runs nothing.
 * `fs2 recipe` alone lists the recipes. Ctrl-C stops a run at its next safe point (a training run
 * saves a checkpoint first, and resumes from it when run again); a second Ctrl-C exits at once.
 */
export function registerRecipeCommand(program: Command, context: CommandContext): void {
  // Both options append to one list, so that files and overrides apply in the order given.
  const configArgs: ConfigArg[] = [];
  program
    .command('recipe')
    .description("run a recipe (train, eval, generate, or an extension's) from YAML config files and key=value overrides")
    .argument('[name]', 'the recipe; without it, the list of recipes')
    .argument('[output_dir]', 'the folder the recipe writes to (checkpoints, metrics, outputs)')
    .addOption(
      new Option('-c, --config <file|key=value>', 'a YAML config file, or an override such as optimizer.config.lr=1e-3 (repeatable, applied in order)').argParser(
        (value: string) => {
          configArgs.push({ value, file: false });
          return configArgs;
        },
      ),
    )
    .addOption(
      new Option('--config-file <file>', "a YAML config file (fairseq2's spelling of --config FILE)").argParser((value: string) => {
        configArgs.push({ value, file: true });
        return configArgs;
      }),
    )
    .option('--dump-config', 'print the configuration (defaults, files and overrides merged) and exit')
    .action(async (name: string | undefined, outputDir: string | undefined, options: RecipeOptions) => {
      await runRecipeCommand(context, name, outputDir, configArgs, options);
    });
}

async function runRecipeCommand(
  context: CommandContext,
  name: string | undefined,
  outputDir: string | undefined,
  configArgs: readonly ConfigArg[],
  options: RecipeOptions,
): Promise<void> {
  const { stdout, stderr } = context.options;
  const resolver = await context.openFairseq2();
  if (name === undefined) {
    const recipes = resolver.lookup(Recipe);
    const names = recipes.keys().map(String).sort();
    const width = Math.max(0, ...names.map((n) => n.length));
    for (const recipeName of names) {
      stdout.write(`  ${recipeName.padEnd(width)}  ${recipes.get(recipeName).description}\n`);
    }
    return;
  }
  const recipe = findRecipe(resolver, name);
  const sources: RecipeConfigSource[] = configArgs.flatMap((arg) =>
    arg.file ? [{ kind: 'file' as const, path: resolve(context.cwd, arg.value) }] : parseRecipeConfigArgs(recipe.name, [arg.value], context.cwd),
  );
  const env = context.options.env ?? process.env;
  if (options.dumpConfig === true) {
    const config = await loadRecipeConfig(recipe.name, recipe.configSchema, recipe.defaultConfig() as never, sources, { env: (v) => env[v] });
    stdout.write(stringifyYaml(config));
    return;
  }
  if (outputDir === undefined) {
    throw new InvalidArgumentError('output_dir', `The ${recipe.name} recipe needs an output folder: \`fs2 recipe ${recipe.name} OUTPUT_DIR\`.`);
  }
  const controller = new AbortController();
  let interrupts = 0;
  const onInterrupt = (): void => {
    interrupts += 1;
    if (interrupts > 1) {
      process.exit(130);
    }
    stderr.write('fs2: stopping at the next safe point (press Ctrl-C again to exit at once).\n');
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);
  try {
    await runRecipe(recipe, {
      outputDir: resolve(context.cwd, outputDir),
      config: sources,
      ...(context.options.env === undefined ? {} : { env: context.options.env }),
      cwd: context.cwd,
      log: (line) => stderr.write(`${line}\n`),
      progressStream: process.stderr,
      signal: controller.signal,
      extras: (container) => {
        container.collection.registerInstance(AssetWarningListener, (message) => stderr.write(`fs2: warning: ${message}\n`));
      },
    });
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}
