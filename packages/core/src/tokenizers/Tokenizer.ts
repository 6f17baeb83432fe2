import type { IncrementalDecoder } from './IncrementalDecoder.js';

/**
 * What a model and a generation loop need to know about a vocabulary (fairseq2's
 * `VocabularyInfo`): its size and the ids of its special tokens.
 */
export interface VocabInfo {
  /**
   * The number of token ids: the largest id + 1, added tokens included. A model's embedding may
   * be larger (Qwen pads 151,669 tokens to 151,936 rows).
   */
  readonly size: number;
  /** Beginning of sequence; `undefined` when the tokenizer has none (Qwen). */
  readonly bosId: number | undefined;
  /** End of sequence; `undefined` when the tokenizer has none. */
  readonly eosId: number | undefined;
  /** Padding; `undefined` when the tokenizer has none. */
  readonly padId: number | undefined;
  /** Unknown token; `undefined` for byte-level vocabularies, which have none. */
  readonly unkId: number | undefined;
  /**
   * Every id that ends a generation: `eosId` first, then the end-of-turn tokens the tokenizer's
   * config names (`<|eot_id|>`, `<|im_end|>`, `generation_config.json`'s `eos_token_id`), each
   * once. Pass it as `stopTokens` to `generate`.
   */
  readonly stopIds: readonly number[];
}

/** Options of {@link Tokenizer.encode} and {@link Tokenizer.tokenize}. */
export interface EncodeOptions {
  /**
   * Add the special tokens the tokenizer adds around a text (its `tokenizer.json`
   * post-processor, `add_bos_token` / `add_eos_token`). Default: `true` for `encode`, `false`
   * for `tokenize` (as in Hugging Face tokenizers). Encode a rendered chat template with
   * `false`: the template writes its own.
   */
  readonly addSpecialTokens?: boolean;
}

/** Options of {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Leave special tokens (`<|eot_id|>`, `<|im_end|>`, ...) out of the text. Default: `false`. */
  readonly skipSpecialTokens?: boolean;
  /**
   * Remove the spaces before punctuation and contractions that word-level tokenizers leave
   * (`"a ."` -> `"a."`, `"do n't"` -> `"don't"`). Default: the tokenizer's
   * `clean_up_tokenization_spaces`, else `false` (so that decoding inverts encoding).
   */
  readonly cleanUpTokenizationSpaces?: boolean;
}

/** Options of {@link Tokenizer.createIncrementalDecoder}. */
export interface IncrementalDecoderOptions {
  /** Leave special tokens out of the text. Default: `false`. */
  readonly skipSpecialTokens?: boolean;
}

/**
 * One message of a conversation, as chat templates read it: `role` (`system`, `user`,
 * `assistant`, `tool`) and `content` (usually a string), plus whatever else the template uses
 * (`tool_calls`, `reasoning_content`, ...).
 */
export interface ChatMessage {
  readonly role: string;
  readonly content?: unknown;
  readonly [key: string]: unknown;
}

/** Options of {@link Tokenizer.applyChatTemplate}. */
export interface ChatTemplateOptions {
  /** End with the header of an assistant turn, for the model to write it. Default: `false`. */
  readonly addGenerationPrompt?: boolean;
  /** Tool (function) definitions, for templates that describe them (`tools`). Default: none. */
  readonly tools?: readonly unknown[];
  /** Documents for retrieval-augmented templates (`documents`). Default: none. */
  readonly documents?: readonly unknown[];
  /**
   * Which named template (`tokenizer_config.json` may hold a list: `default`, `tool_use`, ...).
   * Default: `tool_use` when `tools` are given and there is one, else `default`.
   */
  readonly templateName?: string;
  /**
   * More variables for the template (Qwen 3: `enable_thinking: false`). They override the
   * standard ones (`messages`, `bos_token`, ...). Default: none.
   */
  readonly variables?: Readonly<Record<string, unknown>>;
}

/**
 * Text <-> token ids: fairseq2's `Tokenizer`, with Hugging Face's method names. Implementations:
 * `HuggingFaceTokenizer` (a `tokenizer.json`), or a family's own.
 */
export interface Tokenizer {
  /** The vocabulary size and special token ids. */
  readonly vocabInfo: VocabInfo;
  /** The default chat template's Jinja source, when the tokenizer has one. */
  readonly chatTemplate: string | undefined;

  /** The token ids of `text`. */
  encode(text: string, options?: EncodeOptions): number[];
  /**
   * The text of `ids`.
   *
   * @throws InvalidArgumentError when an id is not in the vocabulary.
   */
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /** The token strings of `text` (as the vocabulary spells them: `Ġworld` for byte-level BPE). */
  tokenize(text: string, options?: EncodeOptions): string[];
  /** The id of a token string; throws `InvalidArgumentError` when the vocabulary lacks it. */
  tokenToId(token: string): number;
  /** The id of a token string, or `undefined`. */
  maybeTokenToId(token: string): number | undefined;
  /** The token string of an id; throws `InvalidArgumentError` when out of the vocabulary. */
  idToToken(id: number): string;
  /** The token string of an id, or `undefined`. */
  maybeIdToToken(id: number): string | undefined;
  /** A decoder for a stream of generated tokens; see {@link IncrementalDecoder}. */
  createIncrementalDecoder(options?: IncrementalDecoderOptions): IncrementalDecoder;
  /**
   * A conversation rendered by the tokenizer's chat template (Jinja, `@huggingface/jinja`).
   * Encode the result with `addSpecialTokens: false`, or use {@link encodeChat}.
   *
   * @throws ChatTemplateNotFoundError when the tokenizer has no chat template.
   * @throws ChatTemplateError when the template is not valid Jinja or fails (`raise_exception`).
   */
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): string;
  /** `encode(applyChatTemplate(messages, options), { addSpecialTokens: false })`. */
  encodeChat(messages: readonly ChatMessage[], options?: ChatTemplateOptions): number[];
}
