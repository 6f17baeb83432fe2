import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

import {
  AssetStore,
  CheckpointNotFoundError,
  GlobalModelLoader,
  GlobalTokenizerLoader,
  HF_TOKENIZER_FAMILY,
  InvalidArgumentError,
  TokenizerFamily,
  NotSupportedError,
  TensorParallelModel,
  TransformerDecoderModel,
  localCausalLM,
  retrieveModelCard,
  type AssetCard,
  type CausalLM,
  type DependencyResolver,
  type LoadableModel,
  type Tokenizer,
} from '@fs2/core';
import { InvalidArgumentError as CommanderArgumentError, Option } from 'commander';

import type { CommandContext } from '../context.js';

/** The options every model command takes. */
export interface ModelOptions {
  /** The family of a card-less folder (required for Meta `params.json` folders). */
  readonly family?: string;
  /** The device (`wasm`, `cpu`, `tensorflow`, or a registered provider). */
  readonly device?: string;
  /** The number of tensor-parallel ranks (worker threads); 1 (the default) runs the model in this thread. */
  readonly tp?: number;
}

/** A causal language model loaded for a command, and what it came from. */
export interface LoadedCausalLM {
  /** The model: local, or split over worker threads with `--tp`. */
  readonly model: CausalLM;
  /** The local model behind {@link model} (without `--tp`), for commands that drive it directly. */
  readonly local: TransformerDecoderModel | undefined;
  readonly resolver: DependencyResolver;
  /** The card, when the model was named by one. */
  readonly card: AssetCard | undefined;
  /** The folder, when the model was given as one. */
  readonly folder: string | undefined;
  /** The model family's name. */
  readonly family: string;
}

/** Parses `--tp 2`: a positive integer. */
function parseTensorParallelSize(value: string): number {
  const parsed = Number(value);
  if (!/^[0-9]+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed <= 0) {
    throw new CommanderArgumentError('expected a positive integer.');
  }
  return parsed;
}

/** `--family`, `--device` and `--tp`, shared by `fs2 logits` and `fs2 generate`. */
export function modelOptions(): Option[] {
  return [
    new Option('--family <name>', 'the model family of a folder without a card (required for Meta params.json folders)'),
    new Option('--device <name>', 'the device to run on: wasm (default), cpu, tensorflow, or a registered one'),
    new Option(
      '--tp <n>',
      'split the model over n tensor-parallel ranks, each a worker thread with its own backend (1, the default: the whole model in this thread)',
    ).argParser(parseTensorParallelSize),
  ];
}

/** Parses `--tokens 1,2,3`: comma-separated token ids (integers >= 0). */
export function parseTokenIds(value: string): number[] {
  const parts = value.split(',').map((part) => part.trim());
  if (parts.length === 0 || parts.some((part) => !/^[0-9]+$/.test(part) || !Number.isSafeInteger(Number(part)))) {
    throw new CommanderArgumentError('expected comma-separated token ids (integers >= 0), e.g. 1,2,3.');
  }
  return parts.map(Number);
}

/**
 * Whether `target` names a folder or file rather than a card: it exists relative to the working
 * directory, or it looks like a path (absolute, `./x`, `a/b`).
 */
function asPath(context: CommandContext, target: string): string | undefined {
  const path = isAbsolute(target) ? target : resolve(context.cwd, target);
  if (existsSync(path)) {
    return path;
  }
  if (isAbsolute(target) || target.startsWith('.') || target.includes('/')) {
    throw new CheckpointNotFoundError(path);
  }
  return undefined;
}

/**
 * Loads `target` (a card name, or a checkpoint folder without a card) as a causal language model
 * on the chosen device, in a fresh fs2 world built the way the CLI builds it; with `--tp n` above 1,
 * split over n worker threads (the checkpoint is downloaded here first, then each worker reads its
 * slices).
 *
 * @throws ModelNotKnownError (exit 2) when `target` is neither a path nor a card; every loading error.
 */
export async function loadCausalLM(
  context: CommandContext,
  target: string,
  options: ModelOptions,
  /** The fs2 world to load in; default: a fresh one (`context.openFairseq2()`). */
  world?: DependencyResolver,
): Promise<LoadedCausalLM> {
  const resolver = world ?? (await context.openFairseq2());
  const loader = resolver.resolve(GlobalModelLoader);
  const placement = options.device === undefined ? {} : { device: options.device };
  const tp = options.tp ?? 1;
  const folder = asPath(context, target);
  let card: AssetCard | undefined;
  let family: string;
  let load: () => Promise<LoadableModel | CausalLM>;
  if (folder !== undefined) {
    if (!statSync(folder).isDirectory()) {
      throw new InvalidArgumentError('model', `${folder} is a file; give a checkpoint folder (with config.json or params.json) or a card name.`);
    }
    const detected = await loader.describePath(folder, options.family);
    family = detected.family.name;
    load = () =>
      tp > 1
        ? detected.family.loadCustomModel(folder, detected.config, { ...placement, tp })
        : detected.family.loadCustomModel(folder, detected.config, placement);
  } else {
    const named = retrieveModelCard(resolver.resolve(AssetStore), target);
    card = named;
    family = loader.familyOf(named).name;
    if (options.family !== undefined && family !== options.family) {
      throw new InvalidArgumentError('family', `\`--family ${options.family}\` does not match the model family of the \`${named.name}\` asset card, ${family}.`);
    }
    load = () => (tp > 1 ? loader.load(named, { ...placement, tp }) : loader.load(named, placement));
  }
  const model = await load();
  if (model instanceof TensorParallelModel) {
    return { model, local: undefined, resolver, card, folder, family };
  }
  if (!(model instanceof TransformerDecoderModel)) {
    model.dispose();
    throw new NotSupportedError(`${target} is not a decoder-only language model that \`fs2\` can run.`);
  }
  return { model: localCausalLM(model), local: model, resolver, card, folder, family };
}

/**
 * The tokenizer of a loaded model, when it has one: the card's (`tokenizer`, or `tokenizer_ref` to
 * another card), or the `tokenizer.json` of the folder, read by the tokenizer family of the model's
 * family name when one is registered, else by the generic `hf` family. With `required`, a model
 * without one is an error (a card without `tokenizer` says it is gated and how to add one).
 */
export async function loadModelTokenizer(loaded: LoadedCausalLM, required: boolean): Promise<Tokenizer | undefined> {
  const loader = loaded.resolver.resolve(GlobalTokenizerLoader);
  if (loaded.card !== undefined) {
    const card = loaded.card;
    if (!required && !card.hasField('tokenizer') && !card.hasField('tokenizer_ref')) {
      return undefined;
    }
    return loader.load(card);
  }
  const folder = loaded.folder as string;
  if (!existsSync(join(folder, 'tokenizer.json'))) {
    if (required) {
      throw new NotSupportedError(`${folder} has no tokenizer.json, so \`--prompt\` cannot be encoded; give the prompt as token ids with \`--tokens\`.`);
    }
    return undefined;
  }
  const family = loaded.resolver.lookup(TokenizerFamily).maybeGet(loaded.family) === undefined ? HF_TOKENIZER_FAMILY : loaded.family;
  return loader.loadFromPath(folder, { family });
}

/**
 * The end-of-sequence ids a Hugging Face folder declares: `eos_token_id` (one id or a list) of its
 * `generation_config.json`, else of its `config.json`; none when neither says.
 */
export function folderStopTokens(folder: string): number[] {
  for (const file of ['generation_config.json', 'config.json']) {
    const path = join(folder, file);
    if (!existsSync(path)) {
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      continue; // The loader has read config.json already; a broken generation_config.json only loses stop tokens.
    }
    const eos = typeof json === 'object' && json !== null ? (json as Record<string, unknown>)['eos_token_id'] : undefined;
    const ids = (Array.isArray(eos) ? eos : [eos]).filter((id): id is number => Number.isSafeInteger(id) && (id as number) >= 0);
    if (ids.length > 0) {
      return ids;
    }
  }
  return [];
}
