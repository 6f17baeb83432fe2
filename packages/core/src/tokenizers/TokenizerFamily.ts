import type { Static, TSchema } from '@sinclair/typebox';

import type { AssetCard } from '../assets/AssetCard.js';
import { createServiceIdentifier, type ServiceIdentifier } from '../runtime/ServiceIdentifier.js';
import type { Tokenizer } from './Tokenizer.js';

/**
 * Builds a tokenizer from the local path of its files (what a card's `tokenizer` field names,
 * downloaded: a folder, or one file) and the family's config (fairseq2's `TokenizerLoader`).
 */
export type TokenizerLoader<TTokenizer extends Tokenizer, TConfig> = (path: string, config: TConfig) => TTokenizer | Promise<TTokenizer>;

/** Options of `loadTokenizer`. */
export interface LoadTokenizerOptions<TConfig> {
  /** A config to use instead of the card's (checked against the family's schema). */
  readonly config?: TConfig;
  /** Show download progress. Default: `true` (off with `FAIRSEQ2_NO_PROGRESS`). */
  readonly progress?: boolean;
  /** Use only what is already downloaded. Default: `false` (or offline mode). */
  readonly localOnly?: boolean;
}

/**
 * A tokenizer family: the knowledge of one kind of tokenizer (LLaMA's, Qwen's, a generic Hugging
 * Face one) that the hub and the global loader need — its config schema, its default config and
 * its loader — registered in the container under its name (`registerTokenizerFamily`). Cards name
 * it in `tokenizer_family`.
 */
export interface TokenizerFamily<TTokenizer extends Tokenizer = Tokenizer, TConfig = unknown> {
  /** The name cards use in `tokenizer_family`. */
  readonly name: string;
  /** The package (or `extras`, or user code) that registered the family. */
  readonly origin: string;
  /** The JSON schema of the config (TypeBox). */
  readonly configSchema: TSchema;

  /** A fresh default config (the config of a card without `tokenizer_config`). */
  getDefaultConfig(): TConfig;
  /** The config a card describes: the default config with its `tokenizer_config` overrides. */
  getTokenizerConfig(card: AssetCard): TConfig;
  /** Checks a config against the schema; throws an error naming each problem. */
  checkConfig(config: unknown, source: string): TConfig;
  /** The tokenizer a card describes (its files downloaded first if needed). */
  loadTokenizer(card: AssetCard, options?: LoadTokenizerOptions<TConfig>): Promise<TTokenizer>;
  /** The tokenizer at `path` (a folder or a file) with `config`. */
  loadCustomTokenizer(path: string, config: TConfig): Promise<TTokenizer>;
}

/** The container identifier under which tokenizer families are registered, keyed by name. */
export const TokenizerFamily: ServiceIdentifier<TokenizerFamily> = createServiceIdentifier('TokenizerFamily');

/** The config type of a family's schema. */
export type TokenizerConfigOf<S extends TSchema> = Static<S>;
