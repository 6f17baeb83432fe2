import { createServiceIdentifier, type ServiceIdentifier } from '../runtime/ServiceIdentifier.js';
import type { AssetCard } from './AssetCard.js';
import type { AssetStore } from './AssetStore.js';
import type { AssetProblem } from './errors.js';

/** What a validator may consult besides the card. */
export interface AssetCardValidationContext {
  readonly store: AssetStore;
}

/**
 * A check of cards beyond their shape, registered by the subsystem that reads them: a model
 * family checks that `model_arch` names one of its architectures and that `model_config` fits
 * its schema. A collection; `fs2 assets validate` runs every member on every card.
 *
 * A validator returns its problems (each an `AssetCardError` located at the faulty value, so
 * the report reads `file:line:col: message`); it ignores cards that are not its concern (another
 * family's). A validator that throws an `AssetCardError` reports that one problem.
 */
export interface AssetCardValidator {
  /** Who checks, for messages about the validator itself (`llama model family`). */
  readonly name: string;
  validate(card: AssetCard, context: AssetCardValidationContext): readonly AssetProblem[];
}

export const AssetCardValidator: ServiceIdentifier<AssetCardValidator> = createServiceIdentifier('AssetCardValidator');
