import type { TSchema } from '@sinclair/typebox';

import type { AssetCard } from '../assets/AssetCard.js';
import { AssetStore } from '../assets/AssetStore.js';
import { AssetNotFoundError } from '../assets/errors.js';
import { InternalError } from '../errors/Fs2Error.js';
import type { DependencyResolver } from '../runtime/DependencyContainer.js';
import { getDependencyResolver } from '../runtime/global.js';
import type { StateEntry } from '../nn/loadModuleState.js';
import { ModelArchitectureNotKnownError, ModelFamilyNotKnownError, ModelNotKnownError } from './errors.js';
import {
  ModelFamily,
  isTensorParallelOptions,
  type CreateModelOptions,
  type IterCheckpointOptions,
  type LoadableModel,
  type LoadCustomModelOptions,
  type LoadModelOptions,
  type ParallelCreateModelOptions,
  type ParallelLoadCustomModelOptions,
  type ParallelLoadModelOptions,
  type SaveModelOptions,
} from './ModelFamily.js';
import type { TensorParallelModel } from './parallel/TensorParallelModel.js';

/**
 * The high-level interface to one model family (fairseq2's `ModelHub`): its cards, its
 * architectures, configs from cards, new models and loaded ones. Obtain it with the family's
 * accessor (`getLlamaModelHub()`), which checks the family registered under that name is the one
 * the accessor was written for.
 *
 * ```ts
 * const hub = getQwenModelHub();
 * for (const card of hub.iterCards()) console.log(card.name);
 * const model = await hub.loadModel('qwen3_0.6b');
 * const split = await hub.loadModel('qwen3_0.6b', { tp: 2 });   // two worker threads, a TensorParallelModel
 * ```
 */
export class ModelHub<TModel extends LoadableModel, TConfig> {
  constructor(
    readonly family: ModelFamily<TModel, TConfig>,
    private readonly store: AssetStore,
  ) {}

  /** The cards of this family's models, sorted by name. */
  *iterCards(): Generator<AssetCard> {
    yield* this.store.findCards('model_family', this.family.name);
  }

  /** The family's architecture names, sorted. */
  getArchs(): string[] {
    return this.family.getArchs();
  }

  /**
   * A fresh config for `arch`.
   *
   * @throws ModelArchitectureNotKnownError when the family has no such architecture.
   */
  getArchConfig(arch: string): TConfig {
    const config = this.maybeGetArchConfig(arch);
    if (config === undefined) {
      throw new ModelArchitectureNotKnownError(arch, this.family.name);
    }
    return config;
  }

  /** A fresh config for `arch`, or `undefined` when unknown. */
  maybeGetArchConfig(arch: string): TConfig | undefined {
    return this.family.maybeGetArchConfig(arch);
  }

  /**
   * The config a card (or a card name) describes: its `model_arch` preset with its `model_config`
   * overrides applied.
   *
   * @throws ModelNotKnownError when no card has the name.
   * @throws AssetCardError when the card belongs to another family.
   */
  getModelConfig(card: AssetCard | string): TConfig {
    return this.family.getModelConfig(this.checkedCard(card));
  }

  /**
   * A model with random weights (`seed`), or shape-only with `meta`. With `tp`, the model is
   * created split over `tp` worker threads and returned as a {@link TensorParallelModel} (the same
   * weights for a seed, whatever `tp`).
   *
   * @throws InvalidArgumentError when both `device` and `gangs` are given, or `gangs` and `tp`.
   * @throws NotSupportedError when `tp` is above 1 and the family has no sharder.
   * @throws TensorParallelSplitError when `tp` does not divide what the family splits.
   */
  createNewModel(config: TConfig, options: ParallelCreateModelOptions): Promise<TensorParallelModel>;
  createNewModel(config: TConfig, options?: CreateModelOptions): Promise<TModel>;
  createNewModel(config: TConfig, options: CreateModelOptions | ParallelCreateModelOptions = {}): Promise<TModel | TensorParallelModel> {
    return isTensorParallelOptions(options) ? this.family.createNewModel(config, options) : this.family.createNewModel(config, options);
  }

  /**
   * The model a card (or a card name) describes, with its checkpoint (downloaded if needed). With
   * `tp`, the checkpoint is downloaded here, then `tp` worker threads each load their slices of it,
   * and the model is returned as a {@link TensorParallelModel}.
   *
   * @throws ModelNotKnownError, AssetCardError (a card of another family, a bad field),
   *   ModelGatedError (a card without `checkpoint`), AssetDownloadError, CheckpointError;
   *   with `tp`, NotSupportedError, TensorParallelSplitError, and GangError when a worker fails.
   */
  loadModel(card: AssetCard | string, options: ParallelLoadModelOptions<TConfig>): Promise<TensorParallelModel>;
  loadModel(card: AssetCard | string, options?: LoadModelOptions<TConfig>): Promise<TModel>;
  loadModel(card: AssetCard | string, options: LoadModelOptions<TConfig> | ParallelLoadModelOptions<TConfig> = {}): Promise<TModel | TensorParallelModel> {
    const checked = this.checkedCard(card);
    return isTensorParallelOptions(options) ? this.family.loadModel(checked, options) : this.family.loadModel(checked, options);
  }

  /**
   * A model with `config` and the checkpoint at `path` (custom training runs, third-party files);
   * with `tp`, split over worker threads as {@link ModelHub.loadModel} does.
   */
  loadCustomModel(path: string, config: TConfig, options: ParallelLoadCustomModelOptions): Promise<TensorParallelModel>;
  loadCustomModel(path: string, config: TConfig, options?: LoadCustomModelOptions): Promise<TModel>;
  loadCustomModel(
    path: string,
    config: TConfig,
    options: LoadCustomModelOptions | ParallelLoadCustomModelOptions = {},
  ): Promise<TModel | TensorParallelModel> {
    return isTensorParallelOptions(options)
      ? this.family.loadCustomModel(path, config, options)
      : this.family.loadCustomModel(path, config, options);
  }

  /** The checkpoint at `path` in fs2 names and layout, one tensor at a time. */
  iterCheckpoint(path: string, config: TConfig, options: IterCheckpointOptions = {}): AsyncGenerator<StateEntry> {
    return this.family.iterCheckpoint(path, config, options);
  }

  /** Writes a model to `dir` as an HF folder (`format: 'hf'`) or in fs2 names (`format: 'fs2'`). */
  saveModel(model: TModel, config: TConfig, dir: string, options: SaveModelOptions): Promise<void> {
    return this.family.saveModel(model, config, dir, options);
  }

  private checkedCard(card: AssetCard | string): AssetCard {
    const resolved = typeof card === 'string' ? retrieveModelCard(this.store, card) : card;
    const familyField = resolved.field('model_family');
    const familyName = familyField.asString();
    if (familyName !== this.family.name) {
      throw familyField.error(
        `\`model_family\` field of the \`${resolved.name}\` asset card is expected to be \`${this.family.name}\`, but is \`${familyName}\` instead.`,
      );
    }
    return resolved;
  }
}

/** `store.retrieveCard(name)`, with a missing card reported as {@link ModelNotKnownError}. */
export function retrieveModelCard(store: AssetStore, name: string): AssetCard {
  try {
    return store.retrieveCard(name);
  } catch (error) {
    if (error instanceof AssetNotFoundError) {
      throw new ModelNotKnownError(name);
    }
    throw error;
  }
}

/** What a hub accessor checks about the family registered under its name. */
export interface ModelHubAccessorOptions {
  /** The model kind the accessor's model type belongs to. Default: `causal_lm`. */
  readonly kind?: string;
  /** The config schema the accessor's config type was derived from (`Static<typeof schema>`). */
  readonly configSchema: TSchema;
}

/** A typed hub getter: from the process-global resolver, or from the resolver given. */
export type ModelHubAccessor<TModel extends LoadableModel, TConfig> = (resolver?: DependencyResolver) => ModelHub<TModel, TConfig>;

/**
 * Makes a family's typed hub getter (fairseq2's `ModelHubAccessor`), for family authors:
 *
 * ```ts
 * export const getLlamaModelHub = createModelHubAccessor<TransformerDecoderModel, LlamaConfig>(
 *   LLAMA_FAMILY, { configSchema: LlamaConfigSchema });
 * ```
 *
 * The getter resolves the family from the process-global resolver (after `initFairseq2()`) or the
 * one passed, and checks that its kind and config schema are the accessor's: a family registered
 * under the same name by someone else would otherwise hand out configs of another shape.
 *
 * @throws ModelFamilyNotKnownError when no family has the name.
 * @throws InternalError when the registered family is not the one the accessor was written for.
 */
export function createModelHubAccessor<TModel extends LoadableModel, TConfig>(
  familyName: string,
  options: ModelHubAccessorOptions,
): ModelHubAccessor<TModel, TConfig> {
  const kind = options.kind ?? 'causal_lm';
  return (resolver = getDependencyResolver()) => {
    const families = resolver.lookup(ModelFamily);
    const family = families.maybeGet(familyName);
    if (family === undefined) {
      throw new ModelFamilyNotKnownError(familyName, families.keys().map(String).sort());
    }
    if (family.kind !== kind) {
      throw new InternalError(
        `The hub accessor of the ${familyName} model family expects models of kind \`${kind}\`, but the family registered by ${family.origin} builds \`${family.kind}\`.`,
      );
    }
    if (!sameSchema(family.configSchema, options.configSchema)) {
      throw new InternalError(
        `The hub accessor of the ${familyName} model family expects the config schema ${schemaName(options.configSchema)}, but the family registered by ${family.origin} uses ${schemaName(family.configSchema)}.`,
      );
    }
    return new ModelHub(family as unknown as ModelFamily<TModel, TConfig>, resolver.resolve(AssetStore));
  };
}

function sameSchema(a: TSchema, b: TSchema): boolean {
  return a === b || (a.$id !== undefined && a.$id === b.$id);
}

function schemaName(schema: TSchema): string {
  return schema.$id === undefined ? '(without `$id`)' : `\`${schema.$id}\``;
}

