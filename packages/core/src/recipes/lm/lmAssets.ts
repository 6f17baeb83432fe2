import { copyFile, mkdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

import type { AssetCard } from '../../assets/AssetCard.js';
import { AssetStore } from '../../assets/AssetStore.js';
import { AssetDownloadManager } from '../../assets/download/AssetDownloadManager.js';
import { mergeConfig } from '../../assets/mergeConfig.js';
import { retrieveCardAsset } from '../../assets/retrieveCardAsset.js';
import { DatasetFamily } from '../../datasets/DatasetFamily.js';
import { GlobalDatasetOpener } from '../../datasets/GlobalDatasetOpener.js';
import { TEXT_DATASET_FAMILY } from '../../datasets/textDatasetFamily.js';
import { ModelArchitectureNotKnownError, ModelFamilyNotKnownError } from '../../models/errors.js';
import { GlobalModelLoader } from '../../models/GlobalModelLoader.js';
import { ModelFamily } from '../../models/ModelFamily.js';
import { retrieveModelCard } from '../../models/ModelHub.js';
import type { ResolvedTransformerDecoderConfig } from '../../nn/TransformerDecoderConfig.js';
import { TransformerDecoderModel } from '../../nn/TransformerDecoderModel.js';
import type { DependencyResolver } from '../../runtime/DependencyContainer.js';
import { Environment } from '../../runtime/Environment.js';
import { GlobalTokenizerLoader } from '../../tokenizers/GlobalTokenizerLoader.js';
import type { Tokenizer } from '../../tokenizers/Tokenizer.js';
import { TokenizerFamily } from '../../tokenizers/TokenizerFamily.js';
import { HF_TOKENIZER_FAMILY, tokenizerFamilyName } from '../../tokenizers/tokenizerFamilyName.js';
import { RecipeError } from '../errors.js';
import type { DatasetSourceSection, ModelSection, TokenizerSection } from './configSections.js';

/** A model as a recipe configuration names it, resolved. */
export interface ResolvedModel {
  readonly family: ModelFamily;
  /** The family's config (checked against its schema). */
  readonly config: unknown;
  /** The decoder the family builds from it. */
  readonly decoder: ResolvedTransformerDecoderConfig;
  /** The card, when the section names one. */
  readonly card: AssetCard | undefined;
}

/**
 * The family, config and decoder shape of the `model` section: a card (`name`) with its
 * `model_config` and the section's `config_overrides`, or, without one, a `family` and `arch` (a
 * model trained from scratch). The family must build `TransformerDecoderModel`s (llama, qwen,
 * mistral, ...): those are what fs2 trains and runs.
 *
 * @throws RecipeError when the section names neither a card nor a family and architecture, or
 *   the family builds another kind of model.
 */
export async function resolveModel(resolver: DependencyResolver, recipe: string, section: ModelSection): Promise<ResolvedModel> {
  let family: ModelFamily;
  let base: unknown;
  let card: AssetCard | undefined;
  if (section.name !== null) {
    card = retrieveModelCard(resolver.resolve(AssetStore), section.name);
    family = resolver.resolve(GlobalModelLoader).familyOf(card);
    base = family.getModelConfig(card);
  } else {
    if (section.family === null || section.arch === null) {
      throw new RecipeError(recipe, 'the `model` section names no model: set `model.name` (a card), or `model.family` and `model.arch` to train one from scratch.');
    }
    const families = resolver.lookup(ModelFamily);
    const found = families.maybeGet(section.family);
    if (found === undefined) {
      throw new ModelFamilyNotKnownError(section.family, families.keys().map(String).sort());
    }
    family = found;
    base = family.maybeGetArchConfig(section.arch);
    if (base === undefined) {
      throw new ModelArchitectureNotKnownError(section.arch, family.name);
    }
  }
  const config =
    Object.keys(section.config_overrides).length === 0
      ? base
      : family.checkConfig(mergeConfig(base, section.config_overrides), 'The config with `model.config_overrides`');
  const shape = await family.createNewModel(config, { meta: true });
  try {
    if (!(shape instanceof TransformerDecoderModel)) {
      throw new RecipeError(
        recipe,
        `the ${family.name} model family builds models that are not \`TransformerDecoderModel\`s; fs2 trains and evaluates decoder-only transformers (llama, qwen, mistral, ...).`,
      );
    }
    return { family, config, decoder: shape.config, card };
  } finally {
    shape.dispose();
  }
}

/** The local path of a model card's checkpoint (downloaded if needed). */
export async function modelCheckpointPath(resolver: DependencyResolver, card: AssetCard): Promise<string> {
  return retrieveCardAsset(card, { uriField: 'checkpoint', subPathField: 'checkpoint_path', kind: 'model' }, resolver.resolve(AssetDownloadManager));
}

/** A tokenizer as a recipe configuration names it, and what a checkpoint card needs to name it again. */
export interface ResolvedTokenizer {
  readonly tokenizer: Tokenizer;
  /** The local path of its files (a folder, or a file). */
  readonly path: string;
  /** Its family's name. */
  readonly family: string;
  /** Its family's config. */
  readonly config: unknown;
}

/**
 * The tokenizer of the `tokenizer` section: a card (`name`), a path with no card, or else the
 * tokenizer of `modelCard`.
 *
 * @throws RecipeError when none of these is given.
 */
export async function resolveTokenizer(
  resolver: DependencyResolver,
  recipe: string,
  section: TokenizerSection,
  modelCard: AssetCard | undefined,
): Promise<ResolvedTokenizer> {
  const loader = resolver.resolve(GlobalTokenizerLoader);
  if (section.path !== null) {
    const family = section.family ?? HF_TOKENIZER_FAMILY;
    const config = section.config_overrides;
    const path = resolve(resolver.resolve(Environment).cwd, section.path);
    const known = resolver.lookup(TokenizerFamily).maybeGet(family);
    const full = known === undefined ? config : mergeConfig(known.getDefaultConfig(), config);
    return { tokenizer: await loader.loadFromPath(path, { family, config: full }), path, family, config: full };
  }
  const name = section.name ?? modelCard;
  if (name === null || name === undefined) {
    throw new RecipeError(recipe, 'no tokenizer is named: set `tokenizer.name` (a card) or `tokenizer.path` (a folder with `tokenizer.json`).');
  }
  const card = loader.resolveCard(name);
  const family = loader.familyOf(card);
  const config = family.getTokenizerConfig(card);
  const tokenizer = await family.loadTokenizer(card, { config });
  const path = await retrieveCardAsset(
    card,
    { uriField: 'tokenizer', subPathField: 'tokenizer_path', kind: 'tokenizer' },
    resolver.resolve(AssetDownloadManager),
  );
  return { tokenizer, path, family: tokenizerFamilyName(card).name, config };
}

/** The files of a tokenizer folder that a copy keeps (Hugging Face's and SentencePiece's). */
const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'generation_config.json',
  'tokenizer.model',
];

/**
 * Copies a tokenizer's files (`tokenizer.json` and its companions, never model weights) into
 * `dest`, so that a checkpoint folder is complete without the card or cache it came from.
 */
export async function copyTokenizerFiles(source: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  const info = await stat(source);
  if (!info.isDirectory()) {
    await copyFile(source, join(dest, basename(source)));
    return;
  }
  for (const file of TOKENIZER_FILES) {
    try {
      await copyFile(join(source, file), join(dest, file));
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ENOENT') {
        throw error;
      }
    }
  }
}

/**
 * The dataset of a dataset section: a card (`name`), or a path read by `family` (default `text`)
 * with the section's `config_overrides` over the family's defaults.
 *
 * @throws RecipeError when the section names neither.
 */
export async function openSectionDataset(resolver: DependencyResolver, recipe: string, section: DatasetSourceSection): Promise<unknown> {
  const opener = resolver.resolve(GlobalDatasetOpener);
  if (section.name !== null) {
    const card = resolver.resolve(AssetStore).maybeRetrieveCard(section.name);
    if (card !== undefined && Object.keys(section.config_overrides).length > 0) {
      const family = opener.familyOf(card);
      const config = family.checkConfig(mergeConfig(family.getDatasetConfig(card), section.config_overrides), 'The config with `dataset.config_overrides`');
      return family.openDataset(card, { config });
    }
    return opener.open(section.name);
  }
  if (section.path === null) {
    throw new RecipeError(recipe, 'no dataset is named: set `dataset.name` (a card), or `dataset.path` (a file or folder) and `dataset.family`.');
  }
  const familyName = section.family ?? TEXT_DATASET_FAMILY;
  const family = resolver.lookup(DatasetFamily).maybeGet(familyName);
  const config = family === undefined ? section.config_overrides : mergeConfig(family.getDefaultConfig(), section.config_overrides);
  return opener.openFromPath(resolve(resolver.resolve(Environment).cwd, section.path), { family: familyName, config });
}
