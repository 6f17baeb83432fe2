import type { AssetCard } from '../assets/AssetCard.js';
import type { AssetCardField } from '../assets/AssetCardField.js';

/** The name of the generic Hugging Face tokenizer family that the library registers. */
export const HF_TOKENIZER_FAMILY = 'hf';

/** The tokenizer family a card names, and the field that names it. */
export interface CardTokenizerFamily {
  readonly name: string;
  /** `tokenizer_family`; `undefined` when the card has none and falls back to `hf`. */
  readonly field: AssetCardField | undefined;
}

/**
 * The tokenizer family of a card (after `tokenizer_ref` is followed): its `tokenizer_family`,
 * else, for a card that has a `tokenizer` but names no family, the generic `hf` family (so that a
 * card pointing at a Hugging Face folder needs nothing more).
 *
 * @throws AssetCardError when the card has neither `tokenizer_family` nor `tokenizer`, or
 *   `tokenizer_family` is not a string.
 */
export function tokenizerFamilyName(card: AssetCard): CardTokenizerFamily {
  const field = card.maybeField('tokenizer_family');
  if (field === undefined && card.hasField('tokenizer')) {
    return { name: HF_TOKENIZER_FAMILY, field: undefined };
  }
  const named = field ?? card.field('tokenizer_family');
  return { name: named.asString(), field: named };
}
