import { DEFAULT_MAX_NEW_TOKENS, InvalidArgumentError, NotSupportedError, type GenerationOptions } from '@fs2/core';
import { InvalidArgumentError as CommanderArgumentError, type Command } from 'commander';

import type { CommandContext } from '../context.js';
import { folderStopTokens, loadCausalLM, modelOptions, parseTokenIds, type ModelOptions } from './causalLM.js';

/** The options of `fs2 generate`. */
interface GenerateOptions extends ModelOptions {
  readonly prompt?: string;
  readonly tokens?: number[];
  readonly maxNewTokens: number;
  readonly greedy?: boolean;
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly seed?: string;
  readonly json?: boolean;
}

function parsePositiveInteger(value: string): number {
  const parsed = Number(value);
  if (!/^[0-9]+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed <= 0) {
    throw new CommanderArgumentError('expected a positive integer.');
  }
  return parsed;
}

function parseNumber(value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) {
    throw new CommanderArgumentError('expected a number.');
  }
  return parsed;
}

/**
 * `fs2 generate <card|dir> (--prompt TEXT | --tokens 1,2,3)`: generates tokens with the KV cache
 * and streams them to stdout as they come (greedy by default, or sampled with `--temperature`,
 * `--top-k`, `--top-p`, `--seed`); `--json` prints `{"tokens": [...], "text": ...}` at the end
 * instead. Generation stops at an end-of-sequence token (the folder's `generation_config.json` /
 * `config.json` `eos_token_id`), after `--max-new-tokens`, or when the model's context is full.
 */
export function registerGenerateCommand(program: Command, context: CommandContext): void {
  const command = program
    .command('generate')
    .description('generate text (or tokens) after a prompt, streaming it as it comes')
    .argument('<model>', 'a model card name, or a checkpoint folder without a card')
    .option('--prompt <text>', 'the prompt, as text (needs the model card to name a tokenizer)')
    .option('--tokens <ids>', 'the prompt, as token ids, comma-separated (e.g. 1,2,3)', parseTokenIds)
    .option('--max-new-tokens <n>', 'the most tokens to generate', parsePositiveInteger, DEFAULT_MAX_NEW_TOKENS)
    .option('--greedy', 'pick the most likely token at each step (the default)')
    .option('--temperature <t>', 'sample from softmax(logits / t) (default 1 when --top-k or --top-p is given)', parseNumber)
    .option('--top-k <k>', 'sample among the k most likely tokens', parsePositiveInteger)
    .option('--top-p <p>', 'sample among the most likely tokens whose probabilities add up to p', parseNumber)
    .option('--seed <seed>', 'the seed of the sampler: the same seed gives the same tokens')
    .option('--json', 'print {"tokens": [...], "text": ...} at the end instead of streaming');
  for (const option of modelOptions()) {
    command.addOption(option);
  }
  command.action(async (target: string, options: GenerateOptions) => {
    await generate(context, target, options);
  });
}

/** The sampling options the flags ask for. */
function samplingOptions(options: GenerateOptions): GenerationOptions {
  const sampled = options.temperature !== undefined || options.topK !== undefined || options.topP !== undefined;
  if (options.greedy === true && sampled) {
    throw new InvalidArgumentError('greedy', '`--greedy` cannot be combined with `--temperature`, `--top-k` or `--top-p`.');
  }
  if (!sampled) {
    return { temperature: 0 };
  }
  return {
    temperature: options.temperature ?? 1,
    ...(options.topK === undefined ? {} : { topK: options.topK }),
    ...(options.topP === undefined ? {} : { topP: options.topP }),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  };
}

async function generate(context: CommandContext, target: string, options: GenerateOptions): Promise<void> {
  if ((options.prompt === undefined) === (options.tokens === undefined)) {
    throw new InvalidArgumentError('prompt', 'Give the prompt either as text (`--prompt`) or as token ids (`--tokens`), not both and not neither.');
  }
  const sampling = samplingOptions(options);
  const { model, folder } = await loadCausalLM(context, target, options);
  const { stdout } = context.options;
  try {
    if (options.prompt !== undefined) {
      throw new NotSupportedError(`\`--prompt\` needs a tokenizer, and ${target} has none that fs2 can load; give the prompt as token ids with \`--tokens\`.`);
    }
    const prompt = options.tokens as number[];
    const stopTokens = folder === undefined ? [] : folderStopTokens(folder);
    const run = model.generate(prompt, { ...sampling, maxNewTokens: options.maxNewTokens, stopTokens });
    const tokens: number[] = [];
    for await (const { token } of run) {
      tokens.push(token);
      if (options.json !== true) {
        stdout.write(`${tokens.length === 1 ? '' : ' '}${token}`);
      }
    }
    stdout.write(options.json === true ? `${JSON.stringify({ tokens, text: null })}\n` : '\n');
  } finally {
    model.dispose();
  }
}
