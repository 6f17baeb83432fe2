import type { AssetCard } from '../assets/AssetCard.js';
import { AssetCardError } from '../assets/errors.js';
import type { AssetStore } from '../assets/AssetStore.js';
import { resolveTokenizerReference } from '../assets/resolveTokenizerReference.js';
import type { DependencyResolver, Lookup } from '../runtime/DependencyContainer.js';
import { createServiceIdentifier, type ServiceIdentifier } from '../runtime/ServiceIdentifier.js';
import { getDependencyResolver } from '../runtime/global.js';
import { TokenizerFamilyNotKnownError } from './errors.js';
import type { Tokenizer } from './Tokenizer.js';
import type { LoadTokenizerOptions, TokenizerFamily } from './TokenizerFamily.js';
import { HF_TOKENIZER_FAMILY, tokenizerFamilyName } from './tokenizerFamilyName.js';
import { retrieveTokenizerCard } from './TokenizerHub.js';

/** Options of loading a tokenizer from a path that has no card. */
export interface LoadTokenizerFromPathOptions {
  /** The tokenizer family whose loader reads the files. Default: `hf` (any `tokenizer.json`). */
  readonly family?: string;
  /** The family's config. Default: the family's default config. */
  readonly config?: unknown;
}

/**
 * Loads tokenizers of any registered family (fairseq2's `GlobalTokenizerLoader`): by card,
 * following `tokenizer_ref` and dispatching on `tokenizer_family`, or from a folder with no card.
 */
export interface GlobalTokenizerLoader {
  /**
   * The card that holds the tokenizer of `card` (or of the card named so): itself, or the end of
   * its `tokenizer_ref` chain.
   */
  resolveCard(card: AssetCard | string): AssetCard;
  /** The family a (resolved) card names in `tokenizer_family`; an `AssetCardError` when none is registered. */
  familyOf(card: AssetCard): TokenizerFamily;
  /** The tokenizer a card (or card name) describes, whatever its family. */
  load(card: AssetCard | string, options?: LoadTokenizerOptions<unknown>): Promise<Tokenizer>;
  /** The tokenizer of a folder (or file) with no card. */
  loadFromPath(path: string, options?: LoadTokenizerFromPathOptions): Promise<Tokenizer>;
}

/** The standard {@link GlobalTokenizerLoader}. */
export class StandardGlobalTokenizerLoader implements GlobalTokenizerLoader {
  constructor(
    private readonly store: AssetStore,
    private readonly families: Lookup<TokenizerFamily>,
  ) {}

  resolveCard(card: AssetCard | string): AssetCard {
    return resolveTokenizerReference(this.store, typeof card === 'string' ? retrieveTokenizerCard(this.store, card) : card);
  }

  familyOf(card: AssetCard): TokenizerFamily {
    const { name, field } = tokenizerFamilyName(card);
    const family = this.families.maybeGet(name);
    if (family === undefined) {
      const reason = `\`tokenizer_family\` field of the \`${card.name}\` asset card is expected to be a registered tokenizer family (${this.familyNames().join(', ') || 'none is registered'}), but is \`${name}\` instead.`;
      throw field === undefined ? new AssetCardError(card.name, reason, { field: 'tokenizer_family', location: card.location }) : field.error(reason);
    }
    return family;
  }

  /**
   * The tokenizer a card (or a card name) describes, whatever its family. `config` is not
   * type-checked by the compiler here (it is by the family's schema): prefer the family's hub when
   * the family is known in advance.
   */
  async load(card: AssetCard | string, options: LoadTokenizerOptions<unknown> = {}): Promise<Tokenizer> {
    const resolved = this.resolveCard(card);
    return this.familyOf(resolved).loadTokenizer(resolved, options);
  }

  /** The tokenizer at `path` (a folder with `tokenizer.json`, or the file), read by `options.family`. */
  async loadFromPath(path: string, options: LoadTokenizerFromPathOptions = {}): Promise<Tokenizer> {
    const name = options.family ?? HF_TOKENIZER_FAMILY;
    const family = this.families.maybeGet(name);
    if (family === undefined) {
      throw new TokenizerFamilyNotKnownError(name, this.familyNames());
    }
    const config = options.config === undefined ? family.getDefaultConfig() : options.config;
    return family.loadCustomTokenizer(path, config);
  }

  private familyNames(): string[] {
    return this.families.keys().map(String).sort();
  }
}

export const GlobalTokenizerLoader: ServiceIdentifier<GlobalTokenizerLoader> = createServiceIdentifier('GlobalTokenizerLoader');

/** Options of the global {@link loadTokenizer}. */
export interface GlobalLoadTokenizerOptions extends LoadTokenizerOptions<unknown> {
  /** The resolver to use. Default: the process-global one (`initFairseq2()`). */
  readonly resolver?: DependencyResolver;
}

/**
 * Loads the tokenizer a card (or card name) describes, whatever its family: fairseq2's
 * module-level `load_tokenizer`. `tokenizer_ref` is followed first. Prefer the family's hub
 * (`getQwenTokenizerHub().loadTokenizer(...)`) when the family is known in advance: its `config`
 * is type-checked.
 *
 * ```ts
 * await initFairseq2();
 * const tokenizer = await loadTokenizer('qwen3_0.6b');
 * ```
 */
export function loadTokenizer(card: AssetCard | string, options: GlobalLoadTokenizerOptions = {}): Promise<Tokenizer> {
  const { resolver = getDependencyResolver(), ...rest } = options;
  return resolver.resolve(GlobalTokenizerLoader).load(card, rest);
}

/** Options of the global {@link loadTokenizerFromPath}. */
export interface GlobalLoadTokenizerFromPathOptions extends LoadTokenizerFromPathOptions {
  /** The resolver to use. Default: the process-global one (`initFairseq2()`). */
  readonly resolver?: DependencyResolver;
}

/**
 * Loads the tokenizer of a folder with no card (an HF model or tokenizer folder with
 * `tokenizer.json`), read by the generic `hf` family or by `family` (a model family's CLI passes
 * its own, so that its special tokens and chat template apply).
 *
 * ```ts
 * const tokenizer = await loadTokenizerFromPath('/models/Qwen3-0.6B', { family: 'qwen' });
 * ```
 *
 * @throws TokenizerFamilyNotKnownError when `family` is not registered.
 * @throws TokenizerModelError when the folder has no usable `tokenizer.json`.
 */
export function loadTokenizerFromPath(path: string, options: GlobalLoadTokenizerFromPathOptions = {}): Promise<Tokenizer> {
  const { resolver = getDependencyResolver(), ...rest } = options;
  return resolver.resolve(GlobalTokenizerLoader).loadFromPath(path, rest);
}
