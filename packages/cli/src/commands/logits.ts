import type { Command } from 'commander';

import type { CommandContext } from '../context.js';
import { loadCausalLM, modelOptions, parseTokenIds, type ModelOptions } from './causalLM.js';

/** The options of `fs2 logits`. */
interface LogitsOptions extends ModelOptions {
  readonly tokens: number[];
  readonly json?: boolean;
}

/**
 * `fs2 logits <card|dir> --tokens 1,2,3`: the next-token logits after each prefix of the tokens,
 * as one JSON object `{"tokens": [...], "logits": [[...], ...]}` (row i: the logits after
 * tokens[0..i]), from one full forward pass.
 */
export function registerLogitsCommand(program: Command, context: CommandContext): void {
  const command = program
    .command('logits')
    .description('print the next-token logits after each prefix of the given tokens, as JSON')
    .argument('<model>', 'a model card name, or a checkpoint folder without a card')
    .requiredOption('--tokens <ids>', 'the token ids, comma-separated (e.g. 1,2,3)', parseTokenIds)
    .option('--json', 'print JSON (the only format; accepted for symmetry with `fs2 generate`)');
  for (const option of modelOptions()) {
    command.addOption(option);
  }
  command.action(async (target: string, options: LogitsOptions) => {
    await printLogits(context, target, options);
  });
}

async function printLogits(context: CommandContext, target: string, options: LogitsOptions): Promise<void> {
  const { model } = await loadCausalLM(context, target, options);
  let rows: number[][];
  try {
    const logits = model.forward(options.tokens);
    try {
      rows = (logits.arraySync() as number[][][])[0] as number[][];
    } finally {
      logits.dispose();
    }
  } finally {
    model.dispose();
  }
  context.options.stdout.write(`${JSON.stringify({ tokens: options.tokens, logits: rows })}\n`);
}
