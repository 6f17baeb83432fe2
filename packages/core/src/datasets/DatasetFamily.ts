import type { Static, TSchema } from '@sinclair/typebox';

import type { AssetCard } from '../assets/AssetCard.js';
import { createServiceIdentifier, type ServiceIdentifier } from '../runtime/ServiceIdentifier.js';

/** What an opener receives besides the config. */
export interface DatasetOpenContext {
  /**
   * The name the dataset goes by in messages: its card's name, or the path of a custom dataset.
   */
  readonly name: string;
  /**
   * The local path of the card's `data` field (fairseq2's `data`, as in `gsm8k_sft@awscluster`:
   * `data: /data/gsm8k_data/sft`), downloaded first when it is a URI; relative paths resolve
   * against the card's file. `undefined` when the card has no `data` field (the config then says
   * where the data is, or the family needs no files).
   */
  readonly dataPath: string | undefined;
  /** Reports a warning (skipped records, ...) to the asset warning listeners. */
  readonly warn: (message: string) => void;
}

/**
 * Opens a dataset from the family's config (fairseq2's `DatasetOpener`), e.g. reading the files
 * at `context.dataPath`. Throw `DatasetError` for data that cannot be used.
 */
export type DatasetOpener<TDataset, TConfig> = (config: TConfig, context: DatasetOpenContext) => TDataset | Promise<TDataset>;

/** Options of `openDataset`. */
export interface OpenDatasetOptions<TConfig> {
  /** A config to use instead of the card's (checked against the family's schema). */
  readonly config?: TConfig;
  /** Show download progress for a `data` URI. Default: `true` (off with `FAIRSEQ2_NO_PROGRESS`). */
  readonly progress?: boolean;
  /** Use only what is already downloaded. Default: `false` (or offline mode). */
  readonly localOnly?: boolean;
}

/**
 * A dataset family: the knowledge of one kind of dataset (plain text, instruction records, a
 * recipe's own format) that the hub and the global opener need — its config schema, its default
 * config and its opener — registered in the container under its name (`registerDatasetFamily`).
 * Cards name it in `dataset_family`.
 */
export interface DatasetFamily<TDataset = unknown, TConfig = unknown> {
  /** The name cards use in `dataset_family`. */
  readonly name: string;
  /** The package (or `extras`, a recipe, user code) that registered the family. */
  readonly origin: string;
  /** The JSON schema of the config (TypeBox). */
  readonly configSchema: TSchema;

  /** A fresh default config (the config of a card without `dataset_config`). */
  getDefaultConfig(): TConfig;
  /** The config a card describes: the default config with its `dataset_config` overrides. */
  getDatasetConfig(card: AssetCard): TConfig;
  /** Checks a config against the schema; throws an error naming each problem. */
  checkConfig(config: unknown, source: string): TConfig;
  /** The dataset a card describes (its `data` downloaded first if it is a URI). */
  openDataset(card: AssetCard, options?: OpenDatasetOptions<TConfig>): Promise<TDataset>;
  /** The dataset at `dataPath` (a file or folder, or `undefined` when the config says all) with `config`. */
  openCustomDataset(dataPath: string | undefined, config: TConfig): Promise<TDataset>;
}

/** The container identifier under which dataset families are registered, keyed by name. */
export const DatasetFamily: ServiceIdentifier<DatasetFamily> = createServiceIdentifier('DatasetFamily');

/** The config type of a family's schema. */
export type DatasetConfigOf<S extends TSchema> = Static<S>;
