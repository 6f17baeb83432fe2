import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** `T | null`, documented. */
function nullable<T extends TSchema>(schema: T, description: string) {
  return Type.Union([schema, Type.Null()], { description });
}

/** Free-form overrides, checked later against the schema of the family they are for. */
const Overrides = (description: string) => Type.Record(Type.String(), Type.Unknown(), { description });

/** `common`: what every built-in recipe shares (fairseq2's `common` section). */
export const CommonSectionSchema = Type.Object({
  seed: Type.Integer({ minimum: 0, description: 'Seed of the initial weights, the data order and sampling. Default: 2 (fairseq2).' }),
  assets: Type.Object({
    extra_paths: Type.Array(Type.String(), { description: 'More card files or folders to read (relative to the working directory). Default: [].' }),
    checkpoint_dir: nullable(
      Type.String(),
      "A training run's checkpoint folder whose cards (`last_checkpoint`, `best_checkpoint`, `checkpoint_step_N`) to register. Default: null.",
    ),
  }),
});

/** `model`: a card to load, or a family and architecture to build. */
export const ModelSectionSchema = Type.Object({
  name: nullable(Type.String(), 'The model card to start from (its weights and config). Default: null.'),
  family: nullable(Type.String(), 'Without `name`: the model family of a model trained from scratch. Default: null.'),
  arch: nullable(Type.String(), "Without `name`: the family's architecture preset. Default: null."),
  config_overrides: Overrides("Overrides of the model's config, as a card's `model_config`. Default: {}."),
});

/** `tokenizer`: a card, or a folder with no card. */
export const TokenizerSectionSchema = Type.Object({
  name: nullable(Type.String(), "The tokenizer card. Default: null (the model card's tokenizer)."),
  path: nullable(Type.String(), 'Without `name`: a folder (or `tokenizer.json`) with no card. Default: null.'),
  family: nullable(Type.String(), 'With `path`: the tokenizer family that reads it. Default: null (`hf`).'),
  config_overrides: Overrides("With `path`: the family's config. Default: {}."),
});

/** What the dataset sections of the built-in recipes share. */
const datasetSource = {
  name: nullable(Type.String(), 'The dataset card. Default: null.'),
  path: nullable(Type.String(), 'Without `name`: a data file or folder with no card. Default: null.'),
  family: nullable(Type.String(), 'With `path`: the dataset family that reads it. Default: null (`text`).'),
  config_overrides: Overrides("Overrides of the dataset's config, as a card's `dataset_config`. Default: {}."),
};

const batching = {
  max_seq_len: Type.Integer({ minimum: 1, description: 'Tokens per row: the packing length, or the longest example kept whole. Default: 256.' }),
  batch_size: Type.Integer({ minimum: 1, description: 'Rows per batch. Default: 16.' }),
  packing: nullable(Type.Boolean(), "Pack examples into full rows; null: the dataset's default (text: yes, instructions: no). Default: null."),
};

/** `dataset` of the `train` recipe. */
export const TrainDatasetSectionSchema = Type.Object({
  ...datasetSource,
  train_split: Type.String({ description: 'The split to train on. Default: train.' }),
  valid_split: nullable(Type.String(), 'The split to validate on; null for none. Default: valid.'),
  ...batching,
});

/** `trainer`. */
export const TrainerSectionSchema = Type.Object({
  device: Type.String({ description: 'The device to train on: wasm, cpu, or a registered provider. Default: wasm.' }),
  grad_accumulation: Type.Object({
    num_batches: Type.Integer({ minimum: 1, description: 'Batches whose gradients add up to one step. Default: 1.' }),
  }),
  max_grad_norm: nullable(Type.Number({ exclusiveMinimum: 0 }), 'Clip the global gradient norm to this; null for no clipping. Default: 1.0.'),
});

/** `optimizer` (fairseq2's `name` + `config`). */
export const OptimizerSectionSchema = Type.Object({
  name: Type.Literal('adamw', { description: 'The optimizer. Default: adamw (the only one).' }),
  config: Type.Object({
    lr: Type.Number({ exclusiveMinimum: 0, description: 'Peak learning rate. Default: 3e-4.' }),
    betas: Type.Tuple([Type.Number({ minimum: 0, exclusiveMaximum: 1 }), Type.Number({ minimum: 0, exclusiveMaximum: 1 })], {
      description: 'Moment decay rates. Default: [0.9, 0.95].',
    }),
    eps: Type.Number({ exclusiveMinimum: 0, description: 'Denominator epsilon. Default: 1e-8.' }),
    weight_decay: Type.Number({ minimum: 0, description: 'Decoupled weight decay of the weight matrices. Default: 0.1.' }),
  }),
});

/** `lr_scheduler` (fairseq2's `name` + `config`). */
export const LrSchedulerSectionSchema = Type.Object({
  name: Type.Union([Type.Literal('constant'), Type.Literal('cosine_annealing')], {
    description: 'The schedule after warm-up. Default: cosine_annealing.',
  }),
  config: Type.Object({
    num_warmup_steps: Type.Integer({ minimum: 0, description: 'Steps of linear warm-up. Default: 100.' }),
    start_lr: Type.Number({ minimum: 0, description: 'The learning rate warm-up starts from. Default: 0.' }),
    final_lr_scale: Type.Number({ minimum: 0, description: 'cosine_annealing: the final learning rate as a fraction of the peak. Default: 0.1.' }),
  }),
});

/** `regime`: how long, and how often to validate, checkpoint and publish. */
export const RegimeSectionSchema = Type.Object({
  num_steps: Type.Integer({ minimum: 1, description: 'Optimizer steps. Default: 1000.' }),
  num_data_epochs: nullable(Type.Integer({ minimum: 1 }), 'Stop after this many passes over the data, if first. Default: null.'),
  validate_every_n_steps: Type.Integer({ minimum: 1, description: 'Validate after every N steps (and the last). Default: 100.' }),
  max_num_valid_batches: nullable(Type.Integer({ minimum: 1 }), 'Validate on at most this many batches; null: the whole split. Default: null.'),
  checkpoint_every_n_steps: Type.Integer({ minimum: 1, description: 'Save a checkpoint after every N steps (and the last). Default: 100.' }),
  keep_last_n_checkpoints: nullable(Type.Integer({ minimum: 1 }), 'Keep only the newest N checkpoints; null: all. Default: null.'),
  keep_best_n_checkpoints: Type.Integer({ minimum: 0, description: 'Also keep the N best-validated checkpoints. Default: 0.' }),
  publish_metrics_every_n_steps: Type.Integer({ minimum: 1, description: 'Publish training metrics after every N steps. Default: 10.' }),
});

/** The configuration of the `train` recipe. */
export const TrainRecipeConfigSchema = Type.Object(
  {
    model: ModelSectionSchema,
    tokenizer: TokenizerSectionSchema,
    dataset: TrainDatasetSectionSchema,
    trainer: TrainerSectionSchema,
    optimizer: OptimizerSectionSchema,
    lr_scheduler: LrSchedulerSectionSchema,
    regime: RegimeSectionSchema,
    common: CommonSectionSchema,
  },
  { $id: 'fs2.TrainRecipeConfig' },
);

/** See {@link TrainRecipeConfigSchema}. */
export type TrainRecipeConfig = Static<typeof TrainRecipeConfigSchema>;

/** The default {@link TrainRecipeConfig}. */
export function defaultTrainRecipeConfig(): TrainRecipeConfig {
  return {
    model: defaultModelSection(),
    tokenizer: defaultTokenizerSection(),
    dataset: {
      ...defaultDatasetSource(),
      train_split: 'train',
      valid_split: 'valid',
      max_seq_len: 256,
      batch_size: 16,
      packing: null,
    },
    trainer: { device: 'wasm', grad_accumulation: { num_batches: 1 }, max_grad_norm: 1.0 },
    optimizer: { name: 'adamw', config: { lr: 3e-4, betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0.1 } },
    lr_scheduler: { name: 'cosine_annealing', config: { num_warmup_steps: 100, start_lr: 0, final_lr_scale: 0.1 } },
    regime: {
      num_steps: 1000,
      num_data_epochs: null,
      validate_every_n_steps: 100,
      max_num_valid_batches: null,
      checkpoint_every_n_steps: 100,
      keep_last_n_checkpoints: null,
      keep_best_n_checkpoints: 0,
      publish_metrics_every_n_steps: 10,
    },
    common: defaultCommonSection(),
  };
}

/** The default `model` section: no model named (the recipe asks for one). */
export function defaultModelSection(): Static<typeof ModelSectionSchema> {
  return { name: null, family: null, arch: null, config_overrides: {} };
}

/** The default `tokenizer` section: the model's own tokenizer. */
export function defaultTokenizerSection(): Static<typeof TokenizerSectionSchema> {
  return { name: null, path: null, family: null, config_overrides: {} };
}

/** The default source fields of a `dataset` section: no dataset named. */
function defaultDatasetSource(): { name: null; path: null; family: null; config_overrides: Record<string, never> } {
  return { name: null, path: null, family: null, config_overrides: {} };
}

/** The default `common` section. */
export function defaultCommonSection(): Static<typeof CommonSectionSchema> {
  return { seed: 2, assets: { extra_paths: [], checkpoint_dir: null } };
}

/** The configuration of the `eval` recipe. */
export const EvalRecipeConfigSchema = Type.Object(
  {
    model: ModelSectionSchema,
    tokenizer: TokenizerSectionSchema,
    dataset: Type.Object({
      ...datasetSource,
      split: Type.String({ description: 'The split to evaluate on. Default: valid.' }),
      max_num_batches: nullable(Type.Integer({ minimum: 1 }), 'Evaluate at most this many batches; null: the whole split. Default: null.'),
      ...batching,
    }),
    device: Type.String({ description: 'The device: wasm, cpu, or a registered provider. Default: wasm.' }),
    common: CommonSectionSchema,
  },
  { $id: 'fs2.EvalRecipeConfig' },
);

/** See {@link EvalRecipeConfigSchema}. */
export type EvalRecipeConfig = Static<typeof EvalRecipeConfigSchema>;

/** The default {@link EvalRecipeConfig}. */
export function defaultEvalRecipeConfig(): EvalRecipeConfig {
  return {
    model: defaultModelSection(),
    tokenizer: defaultTokenizerSection(),
    dataset: {
      ...defaultDatasetSource(),
      split: 'valid',
      max_num_batches: null,
      max_seq_len: 256,
      batch_size: 8,
      packing: null,
    },
    device: 'wasm',
    common: defaultCommonSection(),
  };
}

/** The configuration of the `generate` recipe. */
export const GenerateRecipeConfigSchema = Type.Object(
  {
    model: ModelSectionSchema,
    tokenizer: TokenizerSectionSchema,
    dataset: Type.Object({
      ...datasetSource,
      split: Type.String({ description: 'The split whose prompts to complete. Default: test.' }),
      max_num_prompts: nullable(Type.Integer({ minimum: 1 }), 'Complete at most this many prompts; null: all. Default: null.'),
    }),
    generator: Type.Object({
      max_new_tokens: Type.Integer({ minimum: 1, description: 'The most tokens per completion. Default: 128.' }),
      temperature: Type.Number({ minimum: 0, description: '0: greedy; above: sampling temperature. Default: 0.' }),
      top_k: Type.Integer({ minimum: 0, description: 'Sample among the k likeliest tokens; 0: off. Default: 0.' }),
      top_p: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'Nucleus sampling mass; 1: off. Default: 1.' }),
      chat: Type.Boolean({ description: "Wrap text prompts as a user message in the tokenizer's chat template. Default: false." }),
      skip_special_tokens: Type.Boolean({ description: 'Leave special tokens out of the output text. Default: true.' }),
    }),
    output_file: Type.String({ description: 'The JSONL file written, relative to the output folder. Default: generations.jsonl.' }),
    device: Type.String({ description: 'The device: wasm, cpu, or a registered provider. Default: wasm.' }),
    common: CommonSectionSchema,
  },
  { $id: 'fs2.GenerateRecipeConfig' },
);

/** See {@link GenerateRecipeConfigSchema}. */
export type GenerateRecipeConfig = Static<typeof GenerateRecipeConfigSchema>;

/** The default {@link GenerateRecipeConfig}. */
export function defaultGenerateRecipeConfig(): GenerateRecipeConfig {
  return {
    model: defaultModelSection(),
    tokenizer: defaultTokenizerSection(),
    dataset: { name: null, path: null, family: null, config_overrides: {}, split: 'test', max_num_prompts: null },
    generator: { max_new_tokens: 128, temperature: 0, top_k: 0, top_p: 1, chat: false, skip_special_tokens: true },
    output_file: 'generations.jsonl',
    device: 'wasm',
    common: defaultCommonSection(),
  };
}

/** The `model` section. */
export type ModelSection = Static<typeof ModelSectionSchema>;
/** The `tokenizer` section. */
export type TokenizerSection = Static<typeof TokenizerSectionSchema>;
/** The `common` section. */
export type CommonSection = Static<typeof CommonSectionSchema>;
/** The part of a dataset section that names the dataset. */
export interface DatasetSourceSection {
  readonly name: string | null;
  readonly path: string | null;
  readonly family: string | null;
  readonly config_overrides: Readonly<Record<string, unknown>>;
}
