import { Tokenizer as HfTokenizerClass } from '@huggingface/tokenizers';

import { InvalidArgumentError } from '../errors/Fs2Error.js';
import { ChatTemplates, DEFAULT_TEMPLATE, type ChatTemplateTokens } from './ChatTemplates.js';
import { TokenizerModelError } from './errors.js';
import { IncrementalDecoder } from './IncrementalDecoder.js';
import type {
  ChatMessage,
  ChatTemplateOptions,
  DecodeOptions,
  EncodeOptions,
  IncrementalDecoderOptions,
  Tokenizer,
  VocabInfo,
} from './Tokenizer.js';

/**
 * What a tokenizer family (or a caller) may impose on a `tokenizer.json`: special tokens, stop
 * tokens and a chat template that the files do not have, or have wrong. Every field is optional;
 * what is not given comes from the files.
 */
export interface HuggingFaceTokenizerOptions {
  /**
   * The beginning-of-sequence token; `null` for none. Default: `bos_token` of
   * `tokenizer_config.json`, else of `special_tokens_map.json`, else none.
   */
  readonly bosToken?: string | null;
  /** The end-of-sequence token; `null` for none. Default: `eos_token`, looked up as `bosToken` is. */
  readonly eosToken?: string | null;
  /** The padding token; `null` for none. Default: `pad_token`, looked up as `bosToken` is. */
  readonly padToken?: string | null;
  /**
   * The unknown token; `null` for none. Default: `unk_token`, looked up as `bosToken` is, else
   * the `model.unk_token` of `tokenizer.json`.
   */
  readonly unkToken?: string | null;
  /**
   * Tokens that end a generation besides the end-of-sequence token (`<|eot_id|>`, `<|im_end|>`).
   * Default: none; the ids in `eos_token_id` of a `generation_config.json` beside the tokenizer
   * are always added.
   */
  readonly stopTokens?: readonly string[];
  /**
   * Put the beginning-of-sequence token before every encoded text (`addSpecialTokens`), when the
   * `tokenizer.json` post-processor does not already. Default: `add_bos_token` of
   * `tokenizer_config.json`, else `false`.
   */
  readonly addBosToken?: boolean;
  /** Put the end-of-sequence token after every encoded text, likewise. Default: `add_eos_token`, else `false`. */
  readonly addEosToken?: boolean;
  /**
   * The chat template (Jinja), replacing the files'. Default: `chat_template.jinja` beside the
   * tokenizer, else `chat_template` of `tokenizer_config.json` (a string, or a list of named
   * templates), else none.
   */
  readonly chatTemplate?: string;
  /**
   * The default of `decode`'s `cleanUpTokenizationSpaces`. Default:
   * `clean_up_tokenization_spaces` of `tokenizer_config.json`, else `false`.
   */
  readonly cleanUpTokenizationSpaces?: boolean;
}

/** What {@link HuggingFaceTokenizerOptionsFactory} can ask about the vocabulary before the options apply. */
export interface TokenizerVocabulary {
  /** Whether the vocabulary (added tokens included) has this token. */
  has(token: string): boolean;
}

/**
 * Options chosen after looking at the vocabulary: a family whose files come in several versions
 * picks its special tokens by what the vocabulary holds (Llama 2's `<s>` or Llama 3's
 * `<|begin_of_text|>`; Llama 3.1's `<|finetune_right_pad_id|>`, absent from 3.0).
 */
export type HuggingFaceTokenizerOptionsFactory = (vocabulary: TokenizerVocabulary) => HuggingFaceTokenizerOptions;

/** The parsed files of a Hugging Face tokenizer; only `tokenizer` is required. */
export interface HuggingFaceTokenizerFiles {
  /** `tokenizer.json`. */
  readonly tokenizer: unknown;
  /** `tokenizer_config.json`. */
  readonly tokenizerConfig?: Readonly<Record<string, unknown>>;
  /** `special_tokens_map.json`. */
  readonly specialTokensMap?: Readonly<Record<string, unknown>>;
  /** `generation_config.json` (for its `eos_token_id`). */
  readonly generationConfig?: Readonly<Record<string, unknown>>;
  /** `chat_template.jinja`. */
  readonly chatTemplate?: string;
}

/**
 * The part of `@huggingface/tokenizers`' `Tokenizer` used here. Declared locally because the
 * package's own declarations import each other without file extensions, which TypeScript's
 * NodeNext resolution cannot follow: the class would be typed `any`.
 */
interface HfTokenizer {
  readonly model: { readonly vocab: readonly (string | undefined)[] } | null;
  encode(text: string, options: { add_special_tokens: boolean }): { ids: (number | undefined)[]; tokens: string[] };
  decode(ids: number[], options: { skip_special_tokens: boolean; clean_up_tokenization_spaces: boolean }): string;
  tokenize(text: string, options: { add_special_tokens: boolean }): string[];
  token_to_id(token: string): number | undefined;
}

const HfTokenizer = HfTokenizerClass as unknown as new (tokenizer: object, config: object) => HfTokenizer;

/** The tokenizer models `@huggingface/tokenizers` 0.2.0 implements (`createTokenizerModel`). */
const SUPPORTED_MODELS = ['BPE', 'Unigram', 'WordPiece'] as const;

/** The pipeline components of a `tokenizer.json`, which `@huggingface/tokenizers` requires as keys (`null` when unused). */
const COMPONENTS = ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder'] as const;

/** The special-token keys of `tokenizer_config.json` and `special_tokens_map.json`. */
type SpecialTokenKey = 'bos_token' | 'eos_token' | 'pad_token' | 'unk_token';

const SPECIAL_TOKEN_ROLES: Readonly<Record<SpecialTokenKey, string>> = {
  bos_token: 'beginning-of-sequence',
  eos_token: 'end-of-sequence',
  pad_token: 'padding',
  unk_token: 'unknown',
};

/**
 * A {@link Tokenizer} over a Hugging Face `tokenizer.json`, run by `@huggingface/tokenizers` (the
 * pure-JS tokenizer of transformers.js: BPE, byte-level BPE, SentencePiece-style BPE with byte
 * fallback, Unigram, WordPiece). Load one with `loadHuggingFaceTokenizer(path)`; build one from
 * parsed JSON with the constructor.
 *
 * @throws TokenizerModelError (from the constructor) when the JSON is not a `tokenizer.json` the
 *   library can run, or a special token is not in the vocabulary.
 */
export class HuggingFaceTokenizer implements Tokenizer {
  readonly vocabInfo: VocabInfo;
  private readonly hf: HfTokenizer;
  private readonly vocab: readonly (string | undefined)[];
  private readonly addBos: boolean;
  private readonly addEos: boolean;
  private readonly cleanUp: boolean;
  private readonly templates: ChatTemplates;

  constructor(
    files: HuggingFaceTokenizerFiles,
    optionsOrFactory: HuggingFaceTokenizerOptions | HuggingFaceTokenizerOptionsFactory = {},
    /** Names the tokenizer in messages: the path of its `tokenizer.json`. */
    readonly source = 'tokenizer.json',
  ) {
    const config = files.tokenizerConfig ?? {};
    const tokenizerJson = checkTokenizerJson(files.tokenizer, source);
    // The library reads the special tokens of the config as strings (Unigram's `eos_token`).
    const libraryConfig: Record<string, unknown> = { ...config };
    for (const key of Object.keys(SPECIAL_TOKEN_ROLES) as SpecialTokenKey[]) {
      libraryConfig[key] = tokenSetting(config, key, source, 'tokenizer_config.json');
    }
    try {
      this.hf = new HfTokenizer(tokenizerJson, libraryConfig);
    } catch (error) {
      throw new TokenizerModelError(
        source,
        `${source} cannot be read by @huggingface/tokenizers: ${sentence(error instanceof Error ? error.message : String(error))}`,
        { cause: error },
      );
    }
    this.vocab = (this.hf.model as NonNullable<HfTokenizer['model']>).vocab;
    const options =
      typeof optionsOrFactory === 'function' ? optionsOrFactory({ has: (token) => this.maybeTokenToId(token) !== undefined }) : optionsOrFactory;

    const lookup = new SpecialTokenLookup(source, config, files.specialTokensMap ?? {}, (token) => this.maybeTokenToId(token));
    const bos = lookup.resolve('bos_token', options.bosToken);
    const eos = lookup.resolve('eos_token', options.eosToken);
    const pad = lookup.resolve('pad_token', options.padToken);
    const unkFallback = typeof tokenizerJson.model['unk_token'] === 'string' ? tokenizerJson.model['unk_token'] : undefined;
    const unk = lookup.resolve('unk_token', options.unkToken, unkFallback);

    const stopIds = eos.id === undefined ? [] : [eos.id];
    for (const token of options.stopTokens ?? []) {
      const id = this.maybeTokenToId(token);
      if (id === undefined) {
        throw new TokenizerModelError(source, `The stop token \`${token}\` is not in the vocabulary of ${source}.`);
      }
      stopIds.push(id);
    }
    for (const id of generationStopIds(files.generationConfig, source, this.vocab)) {
      stopIds.push(id);
    }
    this.vocabInfo = Object.freeze({
      size: this.vocab.length,
      bosId: bos.id,
      eosId: eos.id,
      padId: pad.id,
      unkId: unk.id,
      stopIds: Object.freeze([...new Set(stopIds)]),
    });

    const wantBos = options.addBosToken ?? booleanSetting(config, 'add_bos_token', source) ?? false;
    const wantEos = options.addEosToken ?? booleanSetting(config, 'add_eos_token', source) ?? false;
    if (wantBos && bos.id === undefined) {
      throw new TokenizerModelError(source, `${source} asks for a beginning-of-sequence token before every text (\`add_bos_token\`), but has none.`);
    }
    if (wantEos && eos.id === undefined) {
      throw new TokenizerModelError(source, `${source} asks for an end-of-sequence token after every text (\`add_eos_token\`), but has none.`);
    }
    // What the post-processor adds around a text, found by encoding an empty one.
    const around = this.hf.encode('', { add_special_tokens: true }).ids;
    this.addBos = wantBos && around[0] !== bos.id;
    this.addEos = wantEos && around[around.length - 1] !== eos.id;
    this.cleanUp = options.cleanUpTokenizationSpaces ?? booleanSetting(config, 'clean_up_tokenization_spaces', source) ?? false;

    const tokens: ChatTemplateTokens = {
      ...(bos.token === undefined ? {} : { bos_token: bos.token }),
      ...(eos.token === undefined ? {} : { eos_token: eos.token }),
      ...(pad.token === undefined ? {} : { pad_token: pad.token }),
      ...(unk.token === undefined ? {} : { unk_token: unk.token }),
    };
    this.templates = new ChatTemplates(source, chatTemplatesOf(options.chatTemplate, files, source), tokens);
  }

  get chatTemplate(): string | undefined {
    return this.templates.defaultTemplate;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const addSpecialTokens = options.addSpecialTokens ?? true;
    const encoding = this.hf.encode(text, { add_special_tokens: addSpecialTokens });
    const ids = encoding.ids;
    const missing = ids.indexOf(undefined);
    if (missing >= 0) {
      throw new InvalidArgumentError(
        'text',
        `The tokenizer ${this.source} cannot encode the text: it produced the token \`${String(encoding.tokens[missing])}\`, which is not in its vocabulary.`,
      );
    }
    return addSpecialTokens ? this.addAround(ids as number[]) : (ids as number[]);
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    for (const id of ids) {
      this.idToToken(id);
    }
    if (ids.length === 0) {
      return ''; // @huggingface/tokenizers refuses an empty array.
    }
    return this.hf.decode([...ids], {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: options.cleanUpTokenizationSpaces ?? this.cleanUp,
    });
  }

  tokenize(text: string, options: EncodeOptions = {}): string[] {
    const addSpecialTokens = options.addSpecialTokens ?? false;
    const tokens = this.hf.tokenize(text, { add_special_tokens: addSpecialTokens });
    if (addSpecialTokens && this.addBos) {
      tokens.unshift(this.idToToken(this.vocabInfo.bosId as number));
    }
    if (addSpecialTokens && this.addEos) {
      tokens.push(this.idToToken(this.vocabInfo.eosId as number));
    }
    return tokens;
  }

  tokenToId(token: string): number {
    const id = this.maybeTokenToId(token);
    if (id === undefined) {
      throw new InvalidArgumentError('token', `\`${token}\` is not in the vocabulary of ${this.source}.`);
    }
    return id;
  }

  maybeTokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string {
    const token = this.maybeIdToToken(id);
    if (token === undefined) {
      throw new InvalidArgumentError(
        'id',
        Number.isInteger(id) && id >= 0 && id < this.vocab.length
          ? `${id} is not a token id of ${this.source}: the vocabulary has no token with that id.`
          : `${String(id)} is not a token id of ${this.source}: ids are integers from 0 to ${this.vocab.length - 1}.`,
      );
    }
    return token;
  }

  maybeIdToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.vocab.length ? (this.vocab[id] ?? undefined) : undefined;
  }

  createIncrementalDecoder(options: IncrementalDecoderOptions = {}): IncrementalDecoder {
    return new IncrementalDecoder(this, options);
  }

  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    return this.templates.render(messages, options);
  }

  encodeChat(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): number[] {
    return this.encode(this.applyChatTemplate(messages, options), { addSpecialTokens: false });
  }

  /** `ids` with the beginning- and end-of-sequence tokens the post-processor does not add itself. */
  private addAround(ids: number[]): number[] {
    if (this.addBos) {
      ids.unshift(this.vocabInfo.bosId as number);
    }
    if (this.addEos) {
      ids.push(this.vocabInfo.eosId as number);
    }
    return ids;
  }
}

/** A `tokenizer.json` after {@link checkTokenizerJson}: every key the library reads is present. */
interface CheckedTokenizerJson {
  readonly model: Record<string, unknown>;
  readonly added_tokens: readonly unknown[];
  readonly [key: string]: unknown;
}

/**
 * Checks what `@huggingface/tokenizers` reads of a `tokenizer.json` without checking it, so that a
 * wrong file is a {@link TokenizerModelError} naming the file and the problem rather than a
 * `TypeError` from deep inside the library. Absent pipeline components become `null`.
 */
function checkTokenizerJson(json: unknown, source: string): CheckedTokenizerJson {
  if (!isObject(json)) {
    throw new TokenizerModelError(source, `${source} is expected to hold a JSON object (a Hugging Face \`tokenizer.json\`), but holds ${describe(json)}.`);
  }
  const model = json['model'];
  if (!isObject(model)) {
    throw new TokenizerModelError(
      source,
      model === undefined
        ? `${source} has no \`model\`: it is not a Hugging Face \`tokenizer.json\`.`
        : `\`model\` of ${source} is expected to be an object, but is ${describe(model)}.`,
    );
  }
  const type = model['type'];
  if (type !== undefined && !(SUPPORTED_MODELS as readonly unknown[]).includes(type)) {
    throw new TokenizerModelError(
      source,
      `${source} has a tokenizer model of type ${typeof type === 'string' ? `\`${type}\`` : describe(type)}, which @huggingface/tokenizers does not support (supported: ${SUPPORTED_MODELS.join(', ')}).`,
    );
  }
  const vocab = model['vocab'];
  const wantsArray = type === 'Unigram' || (type === undefined && Array.isArray(vocab));
  if (wantsArray ? !Array.isArray(vocab) : !isObject(vocab)) {
    throw new TokenizerModelError(
      source,
      vocab === undefined
        ? `\`model\` of ${source} has no \`vocab\`.`
        : `\`model.vocab\` of ${source} is expected to be ${wantsArray ? 'an array of [token, score] pairs' : 'an object of token ids'}, but is ${describe(vocab)}.`,
    );
  }
  if (type === 'BPE' && !Array.isArray(model['merges'])) {
    throw new TokenizerModelError(
      source,
      `\`model.merges\` of ${source} is expected to be an array, but is ${model['merges'] === undefined ? 'missing' : describe(model['merges'])}.`,
    );
  }
  const added = json['added_tokens'] ?? [];
  if (!Array.isArray(added)) {
    throw new TokenizerModelError(source, `\`added_tokens\` of ${source} is expected to be an array, but is ${describe(added)}.`);
  }
  added.forEach((token: unknown, index) => {
    if (!isObject(token) || !Number.isInteger(token['id']) || (token['id'] as number) < 0 || typeof token['content'] !== 'string') {
      throw new TokenizerModelError(
        source,
        `\`added_tokens[${index}]\` of ${source} is expected to be an object with an integer \`id\` and a string \`content\`, but is ${JSON.stringify(token)}.`,
      );
    }
  });
  const checked: Record<string, unknown> = { ...json, model, added_tokens: added };
  for (const key of COMPONENTS) {
    const component = checked[key] ?? null;
    if (component !== null && !isObject(component)) {
      throw new TokenizerModelError(source, `\`${key}\` of ${source} is expected to be an object or null, but is ${describe(component)}.`);
    }
    checked[key] = component;
  }
  return checked as CheckedTokenizerJson;
}

/** A special token as the files or the options give it, and its id. */
interface SpecialToken {
  readonly token: string | undefined;
  readonly id: number | undefined;
}

/** Looks special tokens up: an option, then `tokenizer_config.json`, then `special_tokens_map.json`. */
class SpecialTokenLookup {
  constructor(
    private readonly source: string,
    private readonly config: Readonly<Record<string, unknown>>,
    private readonly map: Readonly<Record<string, unknown>>,
    private readonly idOf: (token: string) => number | undefined,
  ) {}

  resolve(key: SpecialTokenKey, option: string | null | undefined, fallback?: string): SpecialToken {
    let token: string | null | undefined = option;
    let origin = 'given by the tokenizer family or the caller';
    if (token === undefined) {
      token = tokenSetting(this.config, key, this.source, 'tokenizer_config.json');
      origin = `\`${key}\` of tokenizer_config.json`;
    }
    if (token === undefined) {
      token = tokenSetting(this.map, key, this.source, 'special_tokens_map.json');
      origin = `\`${key}\` of special_tokens_map.json`;
    }
    if (token === undefined && fallback !== undefined) {
      token = fallback;
      origin = '`model.unk_token` of tokenizer.json';
    }
    if (token === undefined || token === null) {
      return { token: undefined, id: undefined };
    }
    const id = this.idOf(token);
    if (id === undefined) {
      throw new TokenizerModelError(
        this.source,
        `The ${SPECIAL_TOKEN_ROLES[key]} token \`${token}\` (${origin}) is not in the vocabulary of ${this.source}.`,
      );
    }
    return { token, id };
  }
}

/** A special-token setting: a string, `null`, an `AddedToken` object (`{content: ...}`), or absent. */
function tokenSetting(
  settings: Readonly<Record<string, unknown>>,
  key: SpecialTokenKey,
  source: string,
  file: string,
): string | null | undefined {
  const value = settings[key];
  if (value === undefined || value === null || typeof value === 'string') {
    return value;
  }
  if (isObject(value) && typeof value['content'] === 'string') {
    return value['content'];
  }
  throw new TokenizerModelError(
    source,
    `\`${key}\` of the ${file} beside ${source} is expected to be a string, null or an object with a string \`content\`, but is ${describe(value)}.`,
  );
}

function booleanSetting(config: Readonly<Record<string, unknown>>, key: string, source: string): boolean | undefined {
  const value = config[key];
  if (value === undefined || value === null || typeof value === 'boolean') {
    return value ?? undefined;
  }
  throw new TokenizerModelError(
    source,
    `\`${key}\` of the tokenizer_config.json beside ${source} is expected to be a boolean, but is ${describe(value)}.`,
  );
}

/** The ids of `eos_token_id` in `generation_config.json` (an id or a list of ids). */
function generationStopIds(
  config: Readonly<Record<string, unknown>> | undefined,
  source: string,
  vocab: readonly (string | undefined)[],
): number[] {
  const value = config?.['eos_token_id'];
  if (value === undefined || value === null) {
    return [];
  }
  const ids = Array.isArray(value) ? value : [value];
  for (const id of ids) {
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= vocab.length || vocab[id as number] === undefined) {
      throw new TokenizerModelError(
        source,
        `\`eos_token_id\` of the generation_config.json beside ${source} is expected to hold token ids of the tokenizer (0 to ${vocab.length - 1}), but holds ${JSON.stringify(id)}.`,
      );
    }
  }
  return ids as number[];
}

/** Name -> Jinja source: the option, else `chat_template.jinja`, else `tokenizer_config.json`'s. */
function chatTemplatesOf(option: string | undefined, files: HuggingFaceTokenizerFiles, source: string): Map<string, string> {
  const templates = new Map<string, string>();
  const fromConfig = files.tokenizerConfig?.['chat_template'];
  if (typeof fromConfig === 'string') {
    templates.set(DEFAULT_TEMPLATE, fromConfig);
  } else if (Array.isArray(fromConfig)) {
    fromConfig.forEach((entry: unknown, index) => {
      if (!isObject(entry) || typeof entry['name'] !== 'string' || typeof entry['template'] !== 'string') {
        throw new TokenizerModelError(
          source,
          `\`chat_template[${index}]\` of the tokenizer_config.json beside ${source} is expected to be an object with a string \`name\` and \`template\`, but is ${describe(entry)}.`,
        );
      }
      templates.set(entry['name'], entry['template']);
    });
  } else if (fromConfig !== undefined && fromConfig !== null) {
    throw new TokenizerModelError(
      source,
      `\`chat_template\` of the tokenizer_config.json beside ${source} is expected to be a string or a list of named templates, but is ${describe(fromConfig)}.`,
    );
  }
  const override = option ?? files.chatTemplate;
  if (override !== undefined) {
    templates.set(DEFAULT_TEMPLATE, override);
  }
  return templates;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
    case 'number':
    case 'boolean':
      return `the ${typeof value} ${String(value)}`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
