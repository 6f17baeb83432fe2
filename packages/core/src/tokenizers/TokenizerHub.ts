import type { TSchema } from '@sinclair/typebox';

import type { AssetCard } from '../assets/AssetCard.js';
import { AssetStore } from '../assets/AssetStore.js';
import { AssetCardError, AssetNotFoundError } from '../assets/errors.js';
import { resolveTokenizerReference } from '../assets/resolveTokenizerReference.js';
import { InternalError } from '../errors/Fs2Error.js';
import type { DependencyResolver } from '../runtime/DependencyContainer.js';
import { getDependencyResolver } from '../runtime/global.js';
import { TokenizerFamilyNotKnownError, TokenizerNotKnownError } from './errors.js';
import type { Tokenizer } from './Tokenizer.js';
import { TokenizerFamily, type LoadTokenizerOptions } from './TokenizerFamily.js';
import { tokenizerFamilyName } from './tokenizerFamilyName.js';

/**
 * The high-level interface to one tokenizer family (fairseq2's `TokenizerHub`): its cards, configs
 * from cards, loaded tokenizers. Obtain it with the family's accessor (`getQwenTokenizerHub()`),
 * which checks the family registered under that name is the one the accessor was written for.
 *
 * ```ts
 * const hub = getQwenTokenizerHub();
 * const tokenizer = await hub.loadTokenizer('qwen3_0.6b');
 * tokenizer.encode('Hello world!'); // [9707, 1879, 0]
 * ```
 *
 * A card's `tokenizer_ref: <other card>` is followed (with a cycle guard) before anything else, as
 * in fairseq2: the referenced card supplies the tokenizer, its family and its config.
 */
export class TokenizerHub<TTokenizer extends Tokenizer, TConfig> {
  constructor(
    readonly family: TokenizerFamily<TTokenizer, TConfig>,
    private readonly store: AssetStore,
  ) {}

  /** The cards of this family's tokenizers, sorted by name. */
  *iterCards(): Generator<AssetCard> {
    yield* this.store.findCards('tokenizer_family', this.family.name);
  }

  /**
   * The config a card (or a card name) describes: the family's default config with its
   * `tokenizer_config` overrides applied.
   *
   * @throws TokenizerNotKnownError when no card has the name.
   * @throws AssetCardError when the card belongs to another family, or an override does not fit.
   */
  getTokenizerConfig(card: AssetCard | string): TConfig {
    return this.family.getTokenizerConfig(this.checkedCard(card));
  }

  /**
   * The tokenizer a card (or a card name) describes, its files downloaded if needed.
   *
   * @throws TokenizerNotKnownError, AssetCardError (a card of another family, a bad field, a
   *   broken download), TokenizerGatedError (a card without `tokenizer`), AssetDownloadError,
   *   TokenizerModelError (local files that cannot be used).
   */
  loadTokenizer(card: AssetCard | string, options: LoadTokenizerOptions<TConfig> = {}): Promise<TTokenizer> {
    return this.family.loadTokenizer(this.checkedCard(card), options);
  }

  /** The tokenizer at `path` (a folder or a file) with `config` (custom training runs, third-party files). */
  loadCustomTokenizer(path: string, config: TConfig): Promise<TTokenizer> {
    return this.family.loadCustomTokenizer(path, config);
  }

  private checkedCard(card: AssetCard | string): AssetCard {
    const resolved = resolveTokenizerReference(this.store, typeof card === 'string' ? retrieveTokenizerCard(this.store, card) : card);
    const { name, field } = tokenizerFamilyName(resolved);
    if (name !== this.family.name) {
      const reason = `\`tokenizer_family\` field of the \`${resolved.name}\` asset card is expected to be \`${this.family.name}\`, but is \`${name}\`${field === undefined ? ' (the default of a card with a `tokenizer` and no `tokenizer_family`)' : ''} instead.`;
      throw field === undefined ? new AssetCardError(resolved.name, reason, { field: 'tokenizer_family', location: resolved.location }) : field.error(reason);
    }
    return resolved;
  }
}

/** `store.retrieveCard(name)`, with a missing card reported as {@link TokenizerNotKnownError}. */
export function retrieveTokenizerCard(store: AssetStore, name: string): AssetCard {
  try {
    return store.retrieveCard(name);
  } catch (error) {
    if (error instanceof AssetNotFoundError) {
      throw new TokenizerNotKnownError(name);
    }
    throw error;
  }
}

/** What a hub accessor checks about the family registered under its name. */
export interface TokenizerHubAccessorOptions {
  /** The config schema the accessor's config type was derived from (`Static<typeof schema>`). */
  readonly configSchema: TSchema;
}

/** A typed hub getter: from the process-global resolver, or from the resolver given. */
export type TokenizerHubAccessor<TTokenizer extends Tokenizer, TConfig> = (resolver?: DependencyResolver) => TokenizerHub<TTokenizer, TConfig>;

/**
 * Makes a family's typed hub getter (fairseq2's `TokenizerHubAccessor`), for family authors:
 *
 * ```ts
 * export const getQwenTokenizerHub = createTokenizerHubAccessor<HuggingFaceTokenizer, QwenTokenizerConfig>(
 *   QWEN_FAMILY, { configSchema: QwenTokenizerConfigSchema });
 * ```
 *
 * The getter resolves the family from the process-global resolver (after `initFairseq2()`) or the
 * one passed, and checks that its config schema is the accessor's: a family registered under the
 * same name by someone else would otherwise hand out configs of another shape.
 *
 * @throws TokenizerFamilyNotKnownError when no family has the name.
 * @throws InternalError when the registered family is not the one the accessor was written for.
 */
export function createTokenizerHubAccessor<TTokenizer extends Tokenizer, TConfig>(
  familyName: string,
  options: TokenizerHubAccessorOptions,
): TokenizerHubAccessor<TTokenizer, TConfig> {
  return (resolver = getDependencyResolver()) => {
    const families = resolver.lookup(TokenizerFamily);
    const family = families.maybeGet(familyName);
    if (family === undefined) {
      throw new TokenizerFamilyNotKnownError(familyName, families.keys().map(String).sort());
    }
    if (!sameSchema(family.configSchema, options.configSchema)) {
      throw new InternalError(
        `The hub accessor of the ${familyName} tokenizer family expects the config schema ${schemaName(options.configSchema)}, but the family registered by ${family.origin} uses ${schemaName(family.configSchema)}.`,
      );
    }
    return new TokenizerHub(family as unknown as TokenizerFamily<TTokenizer, TConfig>, resolver.resolve(AssetStore));
  };
}

function sameSchema(a: TSchema, b: TSchema): boolean {
  return a === b || (a.$id !== undefined && a.$id === b.$id);
}

function schemaName(schema: TSchema): string {
  return schema.$id === undefined ? '(without `$id`)' : `\`${schema.$id}\``;
}
