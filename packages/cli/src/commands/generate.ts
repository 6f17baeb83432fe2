import { DEFAULT_MAX_NEW_TOKENS, InvalidArgumentError, type GenerationOptions } from '@fs2/core';
import { InvalidArgumentError as CommanderArgumentError, type Command } from 'commander';

import type { CommandContext } from '../context.js';
import { folderStopTokens, loadCausalLM, loadModelTokenizer, modelOptions, parseTokenIds, type ModelOptions } from './causalLM.js';

/** The model `fs2 generate` runs when none is named: the built-in default (`cards/default`). */
export const DEFAULT_GENERATE_MODEL = 'fs2_tiny';

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
 * `--top-k`, `--top-p`, `--seed`): as text, decoded incrementally, when the model has a tokenizer
 * (its card's, or the folder's `tokenizer.json`), else as token ids. `--json` prints
 * `{"tokens": [...], "text": ...}` at the end instead (`text` is `null` without a tokenizer).
 * Generation stops at a stop token (the tokenizer's, else the folder's `generation_config.json` /
 * `config.json` `eos_token_id`), after `--max-new-tokens`, or when the model's context is full.
 */
export function registerGenerateCommand(program: Command, context: CommandContext): void {
  const command = program
    .command('generate')
    .description('generate text (or tokens) after a prompt, streaming it as it comes')
    .argument('[model]', `a model card name, or a checkpoint folder without a card (default: ${DEFAULT_GENERATE_MODEL}, the built-in default model)`, DEFAULT_GENERATE_MODEL)
    .option('--prompt <text>', "the prompt, as text (encoded by the model's tokenizer: its card's, or the folder's tokenizer.json); without a prompt, generation starts from the tokenizer's beginning-of-sequence token")
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
  if (options.prompt !== undefined && options.tokens !== undefined) {
    throw new InvalidArgumentError('prompt', 'Give the prompt either as text (`--prompt`) or as token ids (`--tokens`), not both.');
  }
  const sampling = samplingOptions(options);
  const loaded = await loadCausalLM(context, target, options);
  const { model, folder } = loaded;
  const { stdout } = context.options;
  try {
    const tokenizer = await loadModelTokenizer(loaded, options.tokens === undefined);
    // No prompt at all: the tokenizer's encoding of the empty text (its beginning-of-sequence token).
    const prompt = options.tokens ?? (tokenizer?.encode(options.prompt ?? '') as number[]);
    if (prompt.length === 0) {
      throw new InvalidArgumentError('prompt', `The tokenizer of ${target} adds no beginning-of-sequence token, so there is nothing to start from: give a prompt (\`--prompt\` or \`--tokens\`).`);
    }
    const stopTokens = tokenizer?.vocabInfo.stopIds ?? (folder === undefined ? [] : folderStopTokens(folder));
    const stream = options.json === true ? undefined : tokenizer?.createIncrementalDecoder({ skipSpecialTokens: true });
    // A model's embedding may have rows past the tokenizer's vocabulary (padding): such an id has
    // no text, and is left out of it.
    const hasText = (id: number): boolean => tokenizer?.maybeIdToToken(id) !== undefined;
    const tokens: number[] = [];
    for await (const { token } of model.generate(prompt, { ...sampling, maxNewTokens: options.maxNewTokens, stopTokens })) {
      tokens.push(token);
      if (options.json === true) {
        continue;
      }
      // Text as it comes (a character split over several tokens waits for its last byte), or ids.
      if (stream === undefined) {
        stdout.write(`${tokens.length === 1 ? '' : ' '}${token}`);
      } else if (hasText(token)) {
        stdout.write(stream.push(token));
      }
    }
    if (options.json === true) {
      const text = tokenizer === undefined ? null : tokenizer.decode(tokens.filter(hasText), { skipSpecialTokens: true });
      stdout.write(`${JSON.stringify({ tokens, text })}\n`);
    } else {
      stdout.write(`${stream?.flush() ?? ''}\n`);
    }
  } finally {
    await model.dispose();
  }
}
