import { readFileSync } from 'node:fs';

import { Fs2Error } from '@fs2/core';
import { Command, CommanderError } from 'commander';

import { registerAssetsCommands } from './commands/assets.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerGenerateCommand } from './commands/generate.js';
import { registerLogitsCommand } from './commands/logits.js';
import { registerDevicesCommand } from './commands/devices.js';
import { registerRecipeCommand } from './commands/recipe.js';
import { createCommandContext, type CliOptions } from './context.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * Runs the `fs2` command line in-process and returns its exit code (the `bin/fs2.js` entry passes
 * `process.argv.slice(2)` and the process streams; tests pass buffers, their own `env` and `cwd`).
 *
 * Error policy: an fs2 error prints one line, `fs2: <message>`, on the error stream, and exits 2
 * when something named does not exist (category `not_found`), 1 otherwise; any other error is a
 * bug and prints `fs2: internal error: <message>`. `--verbose` adds the stack. Usage errors are
 * commander's (exit 1).
 */
export async function runCli(argv: readonly string[], options: CliOptions): Promise<number> {
  let exitCode = 0;
  const context = createCommandContext(
    options,
    (code) => {
      exitCode = code;
    },
    () => program.opts() as { checkpointDir?: string },
  );
  const program = new Command('fs2')
    .description("fairseq2's asset cards and model families, in TypeScript")
    .version(VERSION, '-V, --version', 'print the version')
    .option('--verbose', 'show the stack of an error')
    .option('--checkpoint-dir <dir>', "a training run's checkpoint folder: its cards (last_checkpoint, best_checkpoint, checkpoint_step_N) join the others")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => options.stdout.write(text),
      writeErr: (text) => options.stderr.write(text),
      outputError: (text, write) => write(`fs2: ${text}`),
    })
    .showSuggestionAfterError();
  registerAssetsCommands(program, context);
  registerLogitsCommand(program, context);
  registerGenerateCommand(program, context);
  registerDevicesCommand(program, context);
  registerRecipeCommand(program, context);
  registerBenchCommand(program, context);

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode;
    }
    const verbose = (program.opts() as { verbose?: boolean }).verbose === true;
    if (Fs2Error.is(error)) {
      options.stderr.write(`fs2: ${error.message}\n`);
      if (verbose) {
        options.stderr.write(`${error.stack ?? ''}\n`);
      }
      return error.category === 'not_found' ? 2 : 1;
    }
    const message = error instanceof Error ? error.message : String(error);
    options.stderr.write(`fs2: internal error: ${message}\n`);
    options.stderr.write(verbose && error instanceof Error ? `${error.stack ?? ''}\n` : 'fs2: run with --verbose to see the stack.\n');
    return 1;
  }
}
