import type { AssetCard } from '../assets/AssetCard.js';
import type { AssetStore } from '../assets/AssetStore.js';
import type { DependencyResolver, Lookup } from '../runtime/DependencyContainer.js';
import { createServiceIdentifier, type ServiceIdentifier } from '../runtime/ServiceIdentifier.js';
import { getDependencyResolver } from '../runtime/global.js';
import type { DatasetFamily, OpenDatasetOptions } from './DatasetFamily.js';
import { DATASET_FAMILY_FIELD, retrieveDatasetCard } from './DatasetHub.js';
import { DatasetFamilyNotKnownError } from './errors.js';

/** Options of opening a dataset that has no card. */
export interface OpenDatasetFromPathOptions {
  /** The dataset family whose opener reads the files. Required: files do not say their family. */
  readonly family: string;
  /** The family's config. Default: the family's default config. */
  readonly config?: unknown;
}

/**
 * Opens datasets of any registered family: by card, dispatching on `dataset_family`, or from a
 * path with no card. Recipes use it to open the dataset their config names.
 */
export interface GlobalDatasetOpener {
  /** The family a card names in `dataset_family`; an `AssetCardError` when none is registered. */
  familyOf(card: AssetCard): DatasetFamily;
  /** The dataset a card (or card name) describes, whatever its family. */
  open(card: AssetCard | string, options?: OpenDatasetOptions<unknown>): Promise<unknown>;
  /** The dataset at `dataPath` (or described by the config alone) with no card. */
  openFromPath(dataPath: string | undefined, options: OpenDatasetFromPathOptions): Promise<unknown>;
}

export const GlobalDatasetOpener: ServiceIdentifier<GlobalDatasetOpener> = createServiceIdentifier('GlobalDatasetOpener');

/** The standard {@link GlobalDatasetOpener}. */
export class StandardGlobalDatasetOpener implements GlobalDatasetOpener {
  constructor(
    private readonly store: AssetStore,
    private readonly families: Lookup<DatasetFamily>,
  ) {}

  familyOf(card: AssetCard): DatasetFamily {
    const field = card.field(DATASET_FAMILY_FIELD);
    const name = field.asString();
    const family = this.families.maybeGet(name);
    if (family === undefined) {
      throw field.error(
        `\`${DATASET_FAMILY_FIELD}\` field of the \`${card.name}\` asset card is expected to be a registered dataset family (${this.familyNames().join(', ') || 'none is registered'}), but is \`${name}\` instead.`,
      );
    }
    return family;
  }

  /**
   * The dataset a card (or a card name) describes, whatever its family. `config` is not
   * type-checked by the compiler here (it is by the family's schema): prefer the family's hub when
   * the family is known in advance.
   *
   * @throws DatasetNotKnownError when no card has the name.
   * @throws AssetCardError when the card has no (registered) `dataset_family`.
   */
  async open(card: AssetCard | string, options: OpenDatasetOptions<unknown> = {}): Promise<unknown> {
    const resolved = typeof card === 'string' ? retrieveDatasetCard(this.store, card) : card;
    return this.familyOf(resolved).openDataset(resolved, options);
  }

  /**
   * The dataset at `dataPath` read by `options.family`.
   *
   * @throws DatasetFamilyNotKnownError when the family is not registered.
   */
  async openFromPath(dataPath: string | undefined, options: OpenDatasetFromPathOptions): Promise<unknown> {
    const family = this.families.maybeGet(options.family);
    if (family === undefined) {
      throw new DatasetFamilyNotKnownError(options.family, this.familyNames());
    }
    const config = options.config === undefined ? family.getDefaultConfig() : options.config;
    return family.openCustomDataset(dataPath, config);
  }

  private familyNames(): string[] {
    return this.families.keys().map(String).sort();
  }
}

/** Options of the global {@link openDataset}. */
export interface GlobalOpenDatasetOptions extends OpenDatasetOptions<unknown> {
  /** The resolver to use. Default: the process-global one (`initFairseq2()`). */
  readonly resolver?: DependencyResolver;
}

/**
 * Opens the dataset a card (or card name) describes, whatever its family. Prefer the family's hub
 * (`getTextDatasetHub().openDataset(...)`) when the family is known in advance: its result and
 * `config` are typed.
 *
 * ```ts
 * await initFairseq2();
 * const dataset = await openDataset('gsm8k_sft');
 * ```
 */
export function openDataset(card: AssetCard | string, options: GlobalOpenDatasetOptions = {}): Promise<unknown> {
  const { resolver = getDependencyResolver(), ...rest } = options;
  return resolver.resolve(GlobalDatasetOpener).open(card, rest);
}
