import type { Static, TSchema } from '@sinclair/typebox';

import type { AssetCard } from '../assets/AssetCard.js';
import type { AssetConfigLoader } from '../assets/AssetConfigLoader.js';
import type { AssetDownloadManager } from '../assets/download/AssetDownloadManager.js';
import { AssetCardError, ConfigValidationError } from '../assets/errors.js';
import { retrieveCardAsset } from '../assets/retrieveCardAsset.js';
import { checkConfig } from '../assets/structureConfig.js';
import { InvalidArgumentError } from '../errors/Fs2Error.js';
import { TokenizerGatedError, TokenizerModelError } from './errors.js';
import type { Tokenizer } from './Tokenizer.js';
import type { LoadTokenizerOptions, TokenizerFamily, TokenizerLoader } from './TokenizerFamily.js';

/**
 * What a family author gives `registerTokenizerFamily`: the config schema, the default config and
 * the loader, plugged into {@link StandardTokenizerFamily}.
 *
 * ```ts
 * const QwenTokenizerConfigSchema = Type.Object(
 *   { use_im_end: Type.Boolean({ description: 'End turns with <|im_end|>. Default: false.' }) },
 *   { $id: 'fs2.qwen.QwenTokenizerConfig' });
 * type QwenTokenizerConfig = Static<typeof QwenTokenizerConfigSchema>;
 *
 * const spec: TokenizerFamilySpec<HuggingFaceTokenizer, QwenTokenizerConfig> = {
 *   configSchema: QwenTokenizerConfigSchema,
 *   defaultConfig: () => ({ use_im_end: false }),
 *   loader: (path, config) => loadHuggingFaceTokenizer(path, {
 *     eosToken: config.use_im_end ? '<|im_end|>' : '<|endoftext|>',
 *     padToken: '<|endoftext|>',
 *     bosToken: null,
 *     stopTokens: ['<|im_end|>', '<|endoftext|>'],
 *   }),
 * };
 * ```
 */
export interface TokenizerFamilySpec<TTokenizer extends Tokenizer, TConfig> {
  /** The config's JSON schema (TypeBox): card overrides and custom configs are checked against it. */
  readonly configSchema: TSchema;
  /** A fresh config for a card without `tokenizer_config` (fairseq2 default-constructs its config class). */
  readonly defaultConfig: () => TConfig;
  /**
   * Builds the tokenizer from the local path of the card's `tokenizer` (a folder or a file,
   * downloaded) and the config. Throw `TokenizerModelError` for files that cannot be used.
   */
  readonly loader: TokenizerLoader<TTokenizer, TConfig>;
}

/** The services a {@link StandardTokenizerFamily} works with. */
export interface TokenizerFamilyServices {
  readonly configs: AssetConfigLoader;
  readonly downloads: AssetDownloadManager;
}

/**
 * The standard {@link TokenizerFamily}: fairseq2's `StandardTokenizerFamily`, with the family's
 * knowledge supplied as a {@link TokenizerFamilySpec}.
 */
export class StandardTokenizerFamily<TTokenizer extends Tokenizer, TConfig> implements TokenizerFamily<TTokenizer, TConfig> {
  readonly configSchema: TSchema;

  constructor(
    readonly name: string,
    readonly origin: string,
    private readonly spec: TokenizerFamilySpec<TTokenizer, TConfig>,
    private readonly services: TokenizerFamilyServices,
  ) {
    this.configSchema = spec.configSchema;
  }

  getDefaultConfig(): TConfig {
    return this.spec.defaultConfig();
  }

  getTokenizerConfig(card: AssetCard): TConfig {
    return this.services.configs.load(card, this.spec.defaultConfig() as Static<TSchema>, 'tokenizer', this.configSchema) as TConfig;
  }

  /** Problems of a card's `tokenizer_config` (for `fs2 assets validate`). */
  checkCard(card: AssetCard): AssetCardError[] {
    return this.services.configs.check(card, this.spec.defaultConfig() as Static<TSchema>, 'tokenizer', this.configSchema);
  }

  checkConfig(config: unknown, source: string): TConfig {
    const problems = checkConfig(config, this.configSchema);
    if (problems.length > 0) {
      const error = new ConfigValidationError(problems);
      throw new InvalidArgumentError('config', `${source} is not a valid ${this.name} tokenizer configuration: ${error.message}`, {
        cause: error,
      });
    }
    return config as TConfig;
  }

  async loadTokenizer(card: AssetCard, options: LoadTokenizerOptions<TConfig> = {}): Promise<TTokenizer> {
    const config =
      options.config === undefined ? this.getTokenizerConfig(card) : this.checkConfig(options.config, 'The `config` option');
    const tokenizerField = card.maybeField('tokenizer');
    if (tokenizerField === undefined) {
      throw new TokenizerGatedError(card.name, card.maybeField('url')?.asString());
    }
    const path = await retrieveCardAsset(
      card,
      { uriField: 'tokenizer', subPathField: 'tokenizer_path', kind: 'tokenizer' },
      this.services.downloads,
      {
        ...(options.progress === undefined ? {} : { progress: options.progress }),
        ...(options.localOnly === undefined ? {} : { localOnly: options.localOnly }),
      },
    );
    try {
      return await this.spec.loader(path, config);
    } catch (error) {
      if (error instanceof TokenizerModelError && tokenizerField.asUri().scheme !== 'file') {
        throw new AssetCardError(
          card.name,
          `The tokenizer of the \`${card.name}\` asset card cannot be loaded: ${error.message} If the download is damaged, delete ${path} and load the tokenizer again.`,
          { field: 'tokenizer', cause: error },
        );
      }
      throw error;
    }
  }

  async loadCustomTokenizer(path: string, config: TConfig): Promise<TTokenizer> {
    return this.spec.loader(path, this.checkConfig(config, 'The `config` argument'));
  }
}
