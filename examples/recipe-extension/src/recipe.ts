import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Type, type Static } from '@sinclair/typebox';
import {
  RecipeError,
  TokenizerSectionSchema,
  isLanguageModelDataset,
  openSectionDataset,
  registerCommonAssets,
  resolveTokenizer,
  CommonSectionSchema,
  defaultCommonSection,
  type DependencyResolver,
  type Recipe,
  type RecipeContext,
} from '@fs2/core';

/** The name of the recipe: `fs2 recipe dataset_stats OUTPUT_DIR`. */
export const DATASET_STATS_RECIPE = 'dataset_stats';

// Begin-example: recipe-config
/** The recipe's configuration: the dataset section of the built-in recipes, a tokenizer, `common`. */
export const DatasetStatsConfigSchema = Type.Object(
  {
    dataset: Type.Object({
      name: Type.Union([Type.String(), Type.Null()], { description: 'The dataset card. Default: null.' }),
      path: Type.Union([Type.String(), Type.Null()], { description: 'Without a card: the data path. Default: null.' }),
      family: Type.Union([Type.String(), Type.Null()], { description: 'With `path`: its family. Default: null (text).' }),
      config_overrides: Type.Record(Type.String(), Type.Unknown(), { description: 'dataset_config overrides. Default: {}.' }),
      split: Type.String({ description: 'The split to measure. Default: train.' }),
      max_seq_len: Type.Integer({ minimum: 1, description: 'Rows of this many tokens. Default: 256.' }),
    }),
    tokenizer: TokenizerSectionSchema,
    common: CommonSectionSchema,
  },
  { $id: 'fs2-examples.DatasetStatsConfig' },
);
export type DatasetStatsConfig = Static<typeof DatasetStatsConfigSchema>;
// End-example: recipe-config

/** What the recipe writes to `OUTPUT_DIR/stats.json`. */
export interface DatasetStats {
  readonly dataset: string;
  readonly split: string;
  readonly batches: number;
  readonly rows: number;
  readonly tokens: number;
  readonly target_tokens: number;
  readonly target_fraction: number;
}

/** Reads a split as batches and counts its rows, tokens and target tokens. */
async function run(resolver: DependencyResolver, config: DatasetStatsConfig, context: RecipeContext): Promise<void> {
  const { tokenizer } = await resolveTokenizer(resolver, DATASET_STATS_RECIPE, config.tokenizer, undefined);
  const dataset = await openSectionDataset(resolver, DATASET_STATS_RECIPE, config.dataset);
  if (!isLanguageModelDataset(dataset)) {
    throw new RecipeError(DATASET_STATS_RECIPE, 'the dataset does not read token batches.');
  }
  const reader = await dataset.createReader(config.dataset.split, tokenizer, {
    batchSize: 64,
    maxSeqLen: config.dataset.max_seq_len,
    shuffle: false,
  });
  let rows = 0;
  let tokens = 0;
  let targets = 0;
  for (let batch = reader.next(); batch !== undefined; batch = reader.next()) {
    rows += batch.batchSize;
    tokens += batch.numElements;
    targets += batch.numTargets;
  }
  const stats: DatasetStats = {
    dataset: dataset.name,
    split: config.dataset.split,
    batches: reader.batchesPerEpoch,
    rows,
    tokens,
    target_tokens: targets,
    target_fraction: tokens === 0 ? 0 : targets / tokens,
  };
  await mkdir(context.outputDir, { recursive: true });
  await writeFile(join(context.outputDir, 'stats.json'), `${JSON.stringify(stats, null, 2)}\n`);
  context.log(`${stats.dataset} (${stats.split}): ${rows} rows, ${tokens} tokens, ${targets} of them targets.`);
}

// Begin-example: recipe
/**
 * `fs2 recipe dataset_stats OUTPUT_DIR`: how many rows, tokens and target tokens a split makes
 * with a tokenizer. `register` adds the card folders `common.assets` names; the extension has
 * registered the `qa_tsv` family already, so any installed family's datasets work.
 */
export const datasetStatsRecipe: Recipe<DatasetStatsConfig> = {
  name: DATASET_STATS_RECIPE,
  description: 'count the rows, tokens and target tokens of a dataset split (an example extension recipe)',
  configSchema: DatasetStatsConfigSchema,
  defaultConfig: () => ({
    dataset: { name: null, path: null, family: null, config_overrides: {}, split: 'train', max_seq_len: 256 },
    tokenizer: { name: null, path: null, family: null, config_overrides: {} },
    common: defaultCommonSection(),
  }),
  register: (container, config) => registerCommonAssets(container, config.common),
  run,
};
// End-example: recipe
