import { AssetCardValidator } from '../assets/AssetCardValidator.js';
import { AssetConfigLoader } from '../assets/AssetConfigLoader.js';
import { AssetStore } from '../assets/AssetStore.js';
import { AssetDownloadManager } from '../assets/download/AssetDownloadManager.js';
import { AssetCardError, type AssetProblem } from '../assets/errors.js';
import { resolveTokenizerReference, TOKENIZER_REF_FIELD } from '../assets/resolveTokenizerReference.js';
import type { DependencyContainer, DependencyResolver } from '../runtime/DependencyContainer.js';
import { GlobalTokenizerLoader, StandardGlobalTokenizerLoader } from '../tokenizers/GlobalTokenizerLoader.js';
import { huggingFaceTokenizerFamilySpec } from '../tokenizers/huggingFaceTokenizerFamily.js';
import { StandardTokenizerFamily, type TokenizerFamilyServices, type TokenizerFamilySpec } from '../tokenizers/StandardTokenizerFamily.js';
import type { Tokenizer } from '../tokenizers/Tokenizer.js';
import { TokenizerFamily } from '../tokenizers/TokenizerFamily.js';
import { HF_TOKENIZER_FAMILY } from '../tokenizers/tokenizerFamilyName.js';

/**
 * Registers a tokenizer family under `name` (fairseq2's `register_tokenizer_family`): its config
 * schema, default config and loader, wrapped in a {@link StandardTokenizerFamily}. A second family
 * with the same name is an error naming both registrants (packages).
 *
 * ```ts
 * export default function setup(container: DependencyContainer): void {
 *   registerTokenizerFamily(container, QWEN_FAMILY, {
 *     configSchema: QwenTokenizerConfigSchema,
 *     defaultConfig: () => ({ use_im_end: false }),
 *     loader: loadQwenTokenizer,
 *   });
 * }
 * ```
 */
export function registerTokenizerFamily<TTokenizer extends Tokenizer, TConfig>(
  container: DependencyContainer,
  name: string,
  spec: TokenizerFamilySpec<TTokenizer, TConfig>,
): void {
  const origin = container.currentOrigin;
  container.register(
    TokenizerFamily,
    (r) => new StandardTokenizerFamily(name, origin, spec, tokenizerFamilyServices(r)) as unknown as TokenizerFamily,
    { key: name, singleton: true },
  );
}

function tokenizerFamilyServices(r: DependencyResolver): TokenizerFamilyServices {
  return { configs: r.resolve(AssetConfigLoader), downloads: r.resolve(AssetDownloadManager) };
}

/**
 * The library's part of the tokenizer subsystem: the generic `hf` family, the global loader, and
 * a card validator that checks every card with a `tokenizer_ref` (the reference resolves, without
 * a cycle) or a `tokenizer_family` (a registered family, `tokenizer_config` overrides that fit its
 * schema).
 */
export function registerTokenizerLibrary(container: DependencyContainer): void {
  registerTokenizerFamily(container, HF_TOKENIZER_FAMILY, huggingFaceTokenizerFamilySpec);
  container.register(GlobalTokenizerLoader, (r) => new StandardGlobalTokenizerLoader(r.resolve(AssetStore), r.lookup(TokenizerFamily)), {
    singleton: true,
  });
  container.collection.register(AssetCardValidator, (r) => {
    const loader = r.resolve(GlobalTokenizerLoader);
    const families = r.lookup(TokenizerFamily);
    return {
      name: 'tokenizer families',
      validate(card, context): readonly AssetProblem[] {
        try {
          if (card.hasField(TOKENIZER_REF_FIELD)) {
            resolveTokenizerReference(context.store, card); // The referenced card is checked as itself.
            return [];
          }
          if (!card.hasField('tokenizer_family')) {
            return [];
          }
          const family = loader.familyOf(card);
          return family instanceof StandardTokenizerFamily ? family.checkCard(card) : [];
        } catch (error) {
          if (!(error instanceof AssetCardError)) {
            throw error;
          }
          if (error.field === 'tokenizer_family' && families.keys().every((key) => key === HF_TOKENIZER_FAMILY)) {
            return []; // Only the library's own family is installed: nothing to check other names against.
          }
          return [error];
        }
      },
    };
  });
}
