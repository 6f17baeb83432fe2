import type { Static, TSchema } from '@sinclair/typebox';

import type { AssetCard } from '../assets/AssetCard.js';
import type { AssetConfigLoader } from '../assets/AssetConfigLoader.js';
import type { AssetDownloadManager } from '../assets/download/AssetDownloadManager.js';
import { AssetCardError, ConfigValidationError } from '../assets/errors.js';
import { retrieveCardAsset } from '../assets/retrieveCardAsset.js';
import { checkConfig } from '../assets/structureConfig.js';
import { InvalidArgumentError } from '../errors/Fs2Error.js';
import type { DatasetFamily, DatasetOpener, OpenDatasetOptions } from './DatasetFamily.js';
import { DatasetError } from './errors.js';

/** The card field that points at a dataset's files (fairseq2's `data`). */
export const DATA_FIELD = 'data';

/**
 * What a family author gives `registerDatasetFamily`: the config schema, the default config and
 * the opener, plugged into {@link StandardDatasetFamily} (fairseq2's
 * `register_dataset_family(container, name, kls, config_kls, opener=...)`: TypeScript has no
 * runtime classes to name, so the schema stands for `config_kls` and the opener's return type for
 * `kls`).
 *
 * ```ts
 * const MyDatasetConfigSchema = Type.Object(
 *   { min_length: Type.Integer({ minimum: 0, description: 'Drop shorter records. Default: 0.' }) },
 *   { $id: 'acme.MyDatasetConfig' });
 *
 * const spec: DatasetFamilySpec<MyDataset, Static<typeof MyDatasetConfigSchema>> = {
 *   configSchema: MyDatasetConfigSchema,
 *   defaultConfig: () => ({ min_length: 0 }),
 *   opener: (config, { dataPath }) => MyDataset.fromPath(dataPath, config),
 * };
 * ```
 */
export interface DatasetFamilySpec<TDataset, TConfig> {
  /** The config's JSON schema (TypeBox): card overrides and custom configs are checked against it. */
  readonly configSchema: TSchema;
  /** A fresh config for a card without `dataset_config` (fairseq2 default-constructs its config class). */
  readonly defaultConfig: () => TConfig;
  /** Opens the dataset. Throw `DatasetError` for data that cannot be used. */
  readonly opener: DatasetOpener<TDataset, TConfig>;
}

/** The services a {@link StandardDatasetFamily} works with. */
export interface DatasetFamilyServices {
  readonly configs: AssetConfigLoader;
  readonly downloads: AssetDownloadManager;
  readonly warn: (message: string) => void;
}

/**
 * The standard {@link DatasetFamily}: fairseq2's `StandardDatasetFamily`, with the family's
 * knowledge supplied as a {@link DatasetFamilySpec}. Unlike fairseq2's, which hands the opener
 * only its config, it also resolves the card's `data` field (a path relative to the card's file,
 * or a URI it downloads), as fairseq2 0.4's dataset loaders did.
 */
export class StandardDatasetFamily<TDataset, TConfig> implements DatasetFamily<TDataset, TConfig> {
  readonly configSchema: TSchema;

  constructor(
    readonly name: string,
    readonly origin: string,
    private readonly spec: DatasetFamilySpec<TDataset, TConfig>,
    private readonly services: DatasetFamilyServices,
  ) {
    this.configSchema = spec.configSchema;
  }

  getDefaultConfig(): TConfig {
    return this.spec.defaultConfig();
  }

  getDatasetConfig(card: AssetCard): TConfig {
    return this.services.configs.load(card, this.spec.defaultConfig() as Static<TSchema>, 'dataset', this.configSchema) as TConfig;
  }

  /** Problems of a card's `dataset_config` (for `fs2 assets validate`). */
  checkCard(card: AssetCard): AssetCardError[] {
    return this.services.configs.check(card, this.spec.defaultConfig() as Static<TSchema>, 'dataset', this.configSchema);
  }

  checkConfig(config: unknown, source: string): TConfig {
    const problems = checkConfig(config, this.configSchema);
    if (problems.length > 0) {
      const reasons = problems.map((p) => p.reason).join(' ');
      throw new InvalidArgumentError('config', `${source} is not a valid ${this.name} dataset configuration: ${reasons}`, {
        cause: new ConfigValidationError(problems),
      });
    }
    return config as TConfig;
  }

  async openDataset(card: AssetCard, options: OpenDatasetOptions<TConfig> = {}): Promise<TDataset> {
    const config = options.config === undefined ? this.getDatasetConfig(card) : this.checkConfig(options.config, 'The `config` option');
    const dataField = card.maybeField(DATA_FIELD);
    const dataPath =
      dataField === undefined
        ? undefined
        : await retrieveCardAsset(card, { uriField: DATA_FIELD, kind: 'dataset' }, this.services.downloads, {
            ...(options.progress === undefined ? {} : { progress: options.progress }),
            ...(options.localOnly === undefined ? {} : { localOnly: options.localOnly }),
          });
    try {
      return await this.spec.opener(config, { name: card.name, dataPath, warn: this.services.warn });
    } catch (error) {
      if (error instanceof DatasetError && dataField !== undefined && dataField.asUri().scheme !== 'file') {
        throw new AssetCardError(
          card.name,
          `The dataset of the \`${card.name}\` asset card cannot be opened: ${error.message} If the download is damaged, delete ${dataPath ?? ''} and open the dataset again.`,
          { field: DATA_FIELD, cause: error },
        );
      }
      throw error;
    }
  }

  async openCustomDataset(dataPath: string | undefined, config: TConfig): Promise<TDataset> {
    const checked = this.checkConfig(config, 'The `config` argument');
    return this.spec.opener(checked, { name: dataPath ?? `a custom ${this.name} dataset`, dataPath, warn: this.services.warn });
  }
}
