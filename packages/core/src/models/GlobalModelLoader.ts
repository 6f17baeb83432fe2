import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { AssetCard } from '../assets/AssetCard.js';
import { AssetStore } from '../assets/AssetStore.js';
import type { CheckpointLoader } from '../checkpoint/CheckpointLoader.js';
import { CheckpointError, CheckpointNotFoundError } from '../checkpoint/errors.js';
import { InvalidArgumentError } from '../errors/Fs2Error.js';
import type { DependencyResolver, Lookup } from '../runtime/DependencyContainer.js';
import { createServiceIdentifier, type ServiceIdentifier } from '../runtime/ServiceIdentifier.js';
import { getDependencyResolver } from '../runtime/global.js';
import { ModelFamilyNotDetectedError } from './errors.js';
import { retrieveModelCard } from './ModelHub.js';
import {
  isTensorParallelOptions,
  type LoadableModel,
  type LoadModelOptions,
  type ModelFamily,
  type ModelPlacementOptions,
  type ParallelLoadModelOptions,
  type TensorParallelOptions,
} from './ModelFamily.js';
import type { TensorParallelModel } from './parallel/TensorParallelModel.js';

/** Options of loading a model from a folder that has no card. */
export interface LoadModelFromPathOptions extends ModelPlacementOptions {
  /** The family, required for Meta reference folders (`params.json`); checked against `config.json`. */
  readonly family?: string;
  /** Show load progress. Default: `true` (off with `FAIRSEQ2_NO_PROGRESS`). */
  readonly progress?: boolean;
}

/** Options of loading a model from a folder that has no card, split over worker threads (`tp`). */
export interface ParallelLoadModelFromPathOptions extends TensorParallelOptions {
  /** The family, required for Meta reference folders (`params.json`); checked against `config.json`. */
  readonly family?: string;
  /** Show load progress. Default: `true` (off with `FAIRSEQ2_NO_PROGRESS`). */
  readonly progress?: boolean;
}

/** A folder's family and config, as {@link GlobalModelLoader.describePath} reads them. */
export interface DetectedModel {
  readonly family: ModelFamily;
  readonly config: unknown;
  /** Where the config came from: `config.json`, `params.json`. */
  readonly configFile: string;
}

/**
 * Loads models of any registered family (fairseq2's `GlobalModelLoader`): by card, dispatching on
 * its `model_family`, or from a checkpoint folder with no card (an HF folder with `config.json`,
 * or a Meta folder with `params.json` and a family named by the caller).
 */
export interface GlobalModelLoader {
  /** The family a card names in `model_family`; an `AssetCardError` when none is registered. */
  familyOf(card: AssetCard): ModelFamily;
  /** The model a card (or card name) describes, whatever its family; with `tp`, in worker threads. */
  load(card: AssetCard | string, options: ParallelLoadModelOptions<unknown>): Promise<TensorParallelModel>;
  load(card: AssetCard | string, options?: LoadModelOptions<unknown>): Promise<LoadableModel>;
  /**
   * The family and config of a checkpoint folder with no card.
   *
   * @throws CheckpointNotFoundError when nothing exists at `path`.
   * @throws ModelFamilyNotDetectedError when the folder does not say which family reads it.
   * @throws InvalidArgumentError when `familyName` is not a registered family.
   */
  describePath(path: string, familyName?: string): Promise<DetectedModel>;
  /** Loads a checkpoint folder with no card; with `tp`, in worker threads. */
  loadFromPath(path: string, options: ParallelLoadModelFromPathOptions): Promise<TensorParallelModel>;
  loadFromPath(path: string, options?: LoadModelFromPathOptions): Promise<LoadableModel>;
}

/** The standard {@link GlobalModelLoader}. */
export class StandardGlobalModelLoader implements GlobalModelLoader {
  constructor(
    private readonly store: AssetStore,
    private readonly families: Lookup<ModelFamily>,
    private readonly checkpoints: CheckpointLoader,
  ) {}

  /** The family a card names in `model_family`. */
  familyOf(card: AssetCard): ModelFamily {
    const field = card.field('model_family');
    const name = field.asString();
    const family = this.families.maybeGet(name);
    if (family === undefined) {
      throw field.error(
        `\`model_family\` field of the \`${card.name}\` asset card is expected to be a registered model family (${this.familyNames().join(', ') || 'none is registered'}), but is \`${name}\` instead.`,
      );
    }
    return family;
  }

  /**
   * The model a card (or a card name) describes, whatever its family. `config` is not type-checked
   * by the compiler here (it is by the family's schema): prefer the family's hub when the family is
   * known in advance.
   */
  load(card: AssetCard | string, options: ParallelLoadModelOptions<unknown>): Promise<TensorParallelModel>;
  load(card: AssetCard | string, options?: LoadModelOptions<unknown>): Promise<LoadableModel>;
  async load(
    card: AssetCard | string,
    options: LoadModelOptions<unknown> | ParallelLoadModelOptions<unknown> = {},
  ): Promise<LoadableModel | TensorParallelModel> {
    const resolved = typeof card === 'string' ? retrieveModelCard(this.store, card) : card;
    const family = this.familyOf(resolved);
    return isTensorParallelOptions(options) ? family.loadModel(resolved, options) : family.loadModel(resolved, options);
  }

  /** Reads the family and config of a checkpoint folder with no card. */
  async describePath(path: string, familyName?: string): Promise<DetectedModel> {
    const family = familyName === undefined ? undefined : this.requireFamily(familyName);
    if (!existsSync(path)) {
      throw new CheckpointNotFoundError(path);
    }
    const dir = statSync(path).isDirectory() ? path : undefined;
    if (dir === undefined) {
      throw new ModelFamilyNotDetectedError(path, 'it is not a folder; give a card, or a folder with `config.json` (Hugging Face) or `params.json` (Meta).');
    }
    const configJson = join(dir, 'config.json');
    if (existsSync(configJson)) {
      const json = await readJsonObject(configJson);
      const modelType = typeof json['model_type'] === 'string' ? json['model_type'] : undefined;
      const candidates = family === undefined ? this.allFamilies() : [family];
      const match = candidates.find((f) => modelType !== undefined && f.huggingFace?.modelTypes.includes(modelType) === true);
      if (match === undefined) {
        const known = this.allFamilies().flatMap((f) => (f.huggingFace?.modelTypes ?? []).map((t) => `${t} (${f.name})`));
        throw new ModelFamilyNotDetectedError(
          path,
          modelType === undefined
            ? `${configJson} has no \`model_type\`.`
            : `no ${family === undefined ? 'registered family' : `${family.name} family`} reads \`model_type\` \`${modelType}\` (known: ${known.join(', ') || 'none'}).`,
        );
      }
      return { family: match, config: (match.huggingFace as NonNullable<typeof match.huggingFace>).fromConfigJson(json, configJson), configFile: configJson };
    }
    const paramsJson = join(dir, 'params.json');
    if (existsSync(paramsJson)) {
      if (family === undefined) {
        throw new ModelFamilyNotDetectedError(path, 'a Meta reference folder (`params.json`) does not name its family: pass one (`--family llama`) or write a card.');
      }
      if (family.meta === undefined) {
        throw new ModelFamilyNotDetectedError(path, `the ${family.name} model family does not read Meta reference folders (\`params.json\`).`);
      }
      const json = await readJsonObject(paramsJson);
      const vocabSize = await this.embeddingRows(dir);
      return { family, config: family.meta.fromParamsJson(json, paramsJson, vocabSize), configFile: paramsJson };
    }
    const files = readdirSync(dir).slice(0, 8).join(', ');
    throw new ModelFamilyNotDetectedError(path, `it has neither \`config.json\` (Hugging Face) nor \`params.json\` (Meta); it holds ${files || 'nothing'}.`);
  }

  /** Loads a checkpoint folder with no card: its family and config come from its own files. */
  loadFromPath(path: string, options: ParallelLoadModelFromPathOptions): Promise<TensorParallelModel>;
  loadFromPath(path: string, options?: LoadModelFromPathOptions): Promise<LoadableModel>;
  async loadFromPath(
    path: string,
    options: LoadModelFromPathOptions | ParallelLoadModelFromPathOptions = {},
  ): Promise<LoadableModel | TensorParallelModel> {
    const detected = await this.describePath(path, options.family);
    const { family: _family, ...placement } = options;
    return isTensorParallelOptions(placement)
      ? detected.family.loadCustomModel(path, detected.config, placement)
      : detected.family.loadCustomModel(path, detected.config, placement);
  }

  private requireFamily(name: string): ModelFamily {
    const family = this.families.maybeGet(name);
    if (family === undefined) {
      throw new InvalidArgumentError('family', `${name} is not a known model family. Registered families: ${this.familyNames().join(', ') || 'none'}.`);
    }
    return family;
  }

  private familyNames(): string[] {
    return this.families.keys().map(String).sort();
  }

  private allFamilies(): ModelFamily[] {
    return this.familyNames().map((n) => this.families.get(n));
  }

  /** The vocabulary size from a Meta checkpoint's embedding (`params.json` may say `-1`). */
  private async embeddingRows(dir: string): Promise<number | undefined> {
    let reader;
    try {
      reader = await this.checkpoints.open(dir);
    } catch (error) {
      if (error instanceof CheckpointError) {
        return undefined;
      }
      throw error;
    }
    try {
      return reader.has('tok_embeddings.weight') ? reader.shape('tok_embeddings.weight')[0] : undefined;
    } finally {
      await reader.close();
    }
  }
}

export const GlobalModelLoader: ServiceIdentifier<GlobalModelLoader> = createServiceIdentifier('GlobalModelLoader');

async function readJsonObject(path: string): Promise<Record<string, unknown>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new CheckpointError(path, `${path} is not valid JSON: ${(error as Error).message}`, undefined, { cause: error });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new CheckpointError(path, `${path} is expected to hold a JSON object.`);
  }
  return json as Record<string, unknown>;
}

/** Options of the global {@link loadModel}. */
export interface GlobalLoadModelOptions extends LoadModelOptions<unknown> {
  /** The resolver to use. Default: the process-global one (`initFairseq2()`). */
  readonly resolver?: DependencyResolver;
}

/** Options of the global {@link loadModel} with `tp`. */
export interface GlobalParallelLoadModelOptions extends ParallelLoadModelOptions<unknown> {
  /** The resolver to use. Default: the process-global one (`initFairseq2()`). */
  readonly resolver?: DependencyResolver;
}

/**
 * Loads the model a card (or card name) describes, whatever its family: fairseq2's module-level
 * `load_model`. Prefer the family's hub (`getLlamaModelHub().loadModel(...)`) when the family is
 * known in advance: its `config` is type-checked and it cannot load a model of another family.
 * With `tp`, the model runs split over `tp` worker threads (a {@link TensorParallelModel}).
 */
export function loadModel(card: AssetCard | string, options: GlobalParallelLoadModelOptions): Promise<TensorParallelModel>;
export function loadModel(card: AssetCard | string, options?: GlobalLoadModelOptions): Promise<LoadableModel>;
export function loadModel(
  card: AssetCard | string,
  options: GlobalLoadModelOptions | GlobalParallelLoadModelOptions = {},
): Promise<LoadableModel | TensorParallelModel> {
  const { resolver = getDependencyResolver(), ...rest } = options;
  const loader = resolver.resolve(GlobalModelLoader);
  return isTensorParallelOptions(rest) ? loader.load(card, rest) : loader.load(card, rest);
}
