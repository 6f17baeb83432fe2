import type { TSchema } from '@sinclair/typebox';

import type { AssetCard } from '../assets/AssetCard.js';
import { AssetStore } from '../assets/AssetStore.js';
import { AssetNotFoundError } from '../assets/errors.js';
import { InternalError } from '../errors/Fs2Error.js';
import type { DependencyResolver } from '../runtime/DependencyContainer.js';
import { getDependencyResolver } from '../runtime/global.js';
import { DatasetFamily, type OpenDatasetOptions } from './DatasetFamily.js';
import { DatasetFamilyNotKnownError, DatasetNotKnownError } from './errors.js';

/** The field of a card that names its dataset family. */
export const DATASET_FAMILY_FIELD = 'dataset_family';

/**
 * The high-level interface to one dataset family (fairseq2's `DatasetHub`): its cards, configs
 * from cards, opened datasets. Obtain it with the family's accessor (`getTextDatasetHub()`), which
 * checks the family registered under that name is the one the accessor was written for.
 *
 * ```ts
 * const hub = getTextDatasetHub();
 * const dataset = await hub.openDataset('fs2_docs');
 * dataset.splits(); // ['train', 'valid']
 * ```
 */
export class DatasetHub<TDataset, TConfig> {
  constructor(
    readonly family: DatasetFamily<TDataset, TConfig>,
    private readonly store: AssetStore,
  ) {}

  /** The cards of this family's datasets, sorted by name. */
  *iterCards(): Generator<AssetCard> {
    yield* this.store.findCards(DATASET_FAMILY_FIELD, this.family.name);
  }

  /**
   * The config a card (or a card name) describes: the family's default config with its
   * `dataset_config` overrides applied.
   *
   * @throws DatasetNotKnownError when no card has the name.
   * @throws AssetCardError when the card belongs to another family, or an override does not fit.
   */
  getDatasetConfig(card: AssetCard | string): TConfig {
    return this.family.getDatasetConfig(this.checkedCard(card));
  }

  /**
   * The dataset a card (or a card name) describes, its `data` downloaded if it is a URI.
   *
   * @throws DatasetNotKnownError, AssetCardError (a card of another family, a bad field, a
   *   missing `data` path), AssetDownloadError, DatasetError (data that cannot be used).
   */
  openDataset(card: AssetCard | string, options: OpenDatasetOptions<TConfig> = {}): Promise<TDataset> {
    return this.family.openDataset(this.checkedCard(card), options);
  }

  /** The dataset at `dataPath` with `config` (files that have no card). */
  openCustomDataset(dataPath: string | undefined, config: TConfig): Promise<TDataset> {
    return this.family.openCustomDataset(dataPath, config);
  }

  private checkedCard(card: AssetCard | string): AssetCard {
    const resolved = typeof card === 'string' ? retrieveDatasetCard(this.store, card) : card;
    const familyField = resolved.field(DATASET_FAMILY_FIELD);
    const familyName = familyField.asString();
    if (familyName !== this.family.name) {
      throw familyField.error(
        `\`${DATASET_FAMILY_FIELD}\` field of the \`${resolved.name}\` asset card is expected to be \`${this.family.name}\`, but is \`${familyName}\` instead.`,
      );
    }
    return resolved;
  }
}

/** `store.retrieveCard(name)`, with a missing card reported as {@link DatasetNotKnownError}. */
export function retrieveDatasetCard(store: AssetStore, name: string): AssetCard {
  try {
    return store.retrieveCard(name);
  } catch (error) {
    if (error instanceof AssetNotFoundError) {
      throw new DatasetNotKnownError(name);
    }
    throw error;
  }
}

/** What a hub accessor checks about the family registered under its name. */
export interface DatasetHubAccessorOptions {
  /** The config schema the accessor's config type was derived from (`Static<typeof schema>`). */
  readonly configSchema: TSchema;
}

/** A typed hub getter: from the process-global resolver, or from the resolver given. */
export type DatasetHubAccessor<TDataset, TConfig> = (resolver?: DependencyResolver) => DatasetHub<TDataset, TConfig>;

/**
 * Makes a family's typed hub getter (fairseq2's `DatasetHubAccessor`), for family authors:
 *
 * ```ts
 * export const getMyDatasetHub = createDatasetHubAccessor<MyDataset, MyDatasetConfig>(
 *   MY_DATASET_FAMILY, { configSchema: MyDatasetConfigSchema });
 * ```
 *
 * The getter resolves the family from the process-global resolver (after `initFairseq2()`) or the
 * one passed, and checks that its config schema is the accessor's: a family registered under the
 * same name by someone else would otherwise hand out configs of another shape.
 *
 * @throws DatasetFamilyNotKnownError when no family has the name.
 * @throws InternalError when the registered family is not the one the accessor was written for.
 */
export function createDatasetHubAccessor<TDataset, TConfig>(
  familyName: string,
  options: DatasetHubAccessorOptions,
): DatasetHubAccessor<TDataset, TConfig> {
  return (resolver = getDependencyResolver()) => {
    const families = resolver.lookup(DatasetFamily);
    const family = families.maybeGet(familyName);
    if (family === undefined) {
      throw new DatasetFamilyNotKnownError(familyName, families.keys().map(String).sort());
    }
    if (!sameSchema(family.configSchema, options.configSchema)) {
      throw new InternalError(
        `The hub accessor of the ${familyName} dataset family expects the config schema ${schemaName(options.configSchema)}, but the family registered by ${family.origin} uses ${schemaName(family.configSchema)}.`,
      );
    }
    return new DatasetHub(family as unknown as DatasetFamily<TDataset, TConfig>, resolver.resolve(AssetStore));
  };
}

function sameSchema(a: TSchema, b: TSchema): boolean {
  return a === b || (a.$id !== undefined && a.$id === b.$id);
}

function schemaName(schema: TSchema): string {
  return schema.$id === undefined ? '(without `$id`)' : `\`${schema.$id}\``;
}
