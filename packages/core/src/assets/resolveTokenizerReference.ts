import type { AssetCard } from './AssetCard.js';
import type { AssetStore } from './AssetStore.js';
import { AssetCardCycleError, AssetCardError } from './errors.js';

/** The field by which a card borrows another card's tokenizer (fairseq2's `tokenizer_ref`). */
export const TOKENIZER_REF_FIELD = 'tokenizer_ref';

/**
 * Follows `tokenizer_ref: <asset name>` from `card` until a card without one, and returns that
 * card (fairseq2's `resolve_tokenizer_reference`, plus a cycle guard it lacks).
 *
 * @throws AssetCardError when a referenced card does not exist ("`x` asset referenced by the `y`
 *   asset card does not exist.") or the references loop ("... has a cycle in its `tokenizer_ref`
 *   chain: a -> b -> a.").
 */
export function resolveTokenizerReference(store: AssetStore, card: AssetCard): AssetCard {
  const chain = [card.name];
  let current = card;
  for (;;) {
    const ref = current.maybeField(TOKENIZER_REF_FIELD);
    if (ref === undefined) {
      return current;
    }
    const name = ref.asString();
    const next = store.maybeRetrieveCard(name);
    if (next === undefined) {
      throw new AssetCardError(current.name, `\`${name}\` asset referenced by the \`${current.name}\` asset card does not exist.`, {
        field: TOKENIZER_REF_FIELD,
        location: ref.location,
      });
    }
    if (chain.includes(next.name)) {
      throw new AssetCardCycleError(
        current.name,
        `The \`${card.name}\` asset card has a cycle in its \`${TOKENIZER_REF_FIELD}\` chain: ${[...chain, next.name].join(' -> ')}.`,
        [...chain.slice(chain.indexOf(next.name)), next.name],
        { field: TOKENIZER_REF_FIELD, location: ref.location },
      );
    }
    chain.push(next.name);
    current = next;
  }
}
