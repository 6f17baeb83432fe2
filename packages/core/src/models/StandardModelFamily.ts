import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

import type { Static, TSchema } from '@sinclair/typebox';
import { stringify as stringifyYaml } from 'yaml';

import type { AssetCard } from '../assets/AssetCard.js';
import { ASSET_NAME_RULE } from '../assets/assetNames.js';
import type { AssetConfigLoader } from '../assets/AssetConfigLoader.js';
import type { AssetDownloadManager } from '../assets/download/AssetDownloadManager.js';
import type { ProgressReporter } from '../assets/download/ProgressReporter.js';
import { AssetCardError, ConfigValidationError } from '../assets/errors.js';
import { retrieveCardAsset } from '../assets/retrieveCardAsset.js';
import { checkConfig } from '../assets/structureConfig.js';
import type { TensorRowReader } from '../checkpoint/CheckpointReader.js';
import type { CheckpointLoader } from '../checkpoint/CheckpointLoader.js';
import { CheckpointError } from '../checkpoint/errors.js';
import { writeSafetensors, writeShardedSafetensors, type TensorToWrite } from '../checkpoint/writeSafetensors.js';
import { InvalidArgumentError, NotSupportedError } from '../errors/Fs2Error.js';
import { createFakeGangs, type Gangs } from '../gang/Gangs.js';
import type { Device } from '../nn/devices/Device.js';
import { defaultDeviceRegistry, useDevice } from '../nn/devices/DeviceRegistry.js';
import { ParameterShapeMismatchError, StateKeyMismatchError } from '../nn/errors.js';
import type { StateEntry } from '../nn/loadModuleState.js';
import { shardState, shardStateEntry, type ParameterSharding } from '../nn/parallel/ParameterSharding.js';
import { randomState } from '../nn/randomState.js';
import type { Environment } from '../runtime/Environment.js';
import { ModelGatedError } from './errors.js';
import { readPlannedTensor } from './parallel/readPlannedTensor.js';
import { TensorParallelModel } from './parallel/TensorParallelModel.js';
import type { TensorParallelSource } from './parallel/protocol.js';
import {
  isTensorParallelOptions,
  type CheckpointConverter,
  type CreateModelOptions,
  type HuggingFaceInterop,
  type IterCheckpointOptions,
  type LoadableModel,
  type LoadCustomModelOptions,
  type LoadModelOptions,
  type MetaInterop,
  type ModelFactory,
  type ModelFamily,
  type ModelFamilyCapabilities,
  type ModelSharder,
  type ParallelCreateModelOptions,
  type ParallelLoadCustomModelOptions,
  type ParallelLoadModelOptions,
  type SavableModel,
  type SaveModelOptions,
  type SourceTensor,
  type TensorParallelOptions,
} from './ModelFamily.js';

/**
 * What a family author gives `registerModelFamily`: data and functions, plugged into
 * {@link StandardModelFamily}. Only `configSchema`, `defaultConfig`, `archs`, `factory` and
 * `converters` are required; what a family can do beyond that follows from what it provides.
 */
export interface ModelFamilySpec<TModel extends LoadableModel, TConfig> {
  /** What kind of model the factory builds. Default: `causal_lm`. */
  readonly kind?: string;
  /** The config's JSON schema (TypeBox): card overrides and custom configs are checked against it. */
  readonly configSchema: TSchema;
  /** The config of a card without `model_arch`. */
  readonly defaultConfig: () => TConfig;
  /** Architecture presets: name -> a function returning a fresh config (presets may call each other). */
  readonly archs: Readonly<Record<string, () => TConfig>>;
  readonly factory: ModelFactory<TModel, TConfig>;
  /**
   * Checkpoint formats the family reads, tried in order (the first whose `matches` accepts the
   * checkpoint's keys converts it). The fs2 native format (fs2 names and layout, as `saveModel`
   * with `format: 'fs2'` writes it) is always understood, after these.
   */
  readonly converters: readonly CheckpointConverter<TConfig>[];
  /** Reading `config.json` folders without a card, and exporting to them. */
  readonly huggingFace?: HuggingFaceInterop<TConfig>;
  /** Reading Meta reference folders (`params.json`). */
  readonly meta?: MetaInterop<TConfig>;
  /** Whether the factory builds shape-only models (`meta: true`). Default: `true`. */
  readonly supportsMeta?: boolean;
  /**
   * The family's tensor-parallel sharder: with one, the factory builds sharded models for gangs
   * whose tensor-parallel gang has several ranks, `capabilities.tensorParallel` is set, and `tp`
   * works. Default: none (`gangs` build whole models, `tp` above 1 is refused).
   */
  readonly sharder?: ModelSharder<TConfig>;
}

/** The services a {@link StandardModelFamily} works with. */
export interface ModelFamilyServices {
  readonly configs: AssetConfigLoader;
  readonly downloads: AssetDownloadManager;
  readonly checkpoints: CheckpointLoader;
  readonly progress: ProgressReporter;
  /**
   * The container's environment: the variables and working directory a tensor-parallel model's
   * workers build their own fs2 with. Default: `process.env` and `process.cwd()`.
   */
  readonly environment?: Environment;
}

/**
 * Variables fs2 reads through its `Environment`, passed to tensor-parallel workers with those of
 * `process.env` (each read through the container's environment, so an isolated one stays isolated).
 */
const FS2_VARIABLES = [
  'HOME',
  'PATH',
  'FAIRSEQ2_ASSET_DIR',
  'FAIRSEQ2_ASSET_ENV',
  'FAIRSEQ2_CACHE_DIR',
  'FAIRSEQ2_EXTENSION_TRACE',
  'FAIRSEQ2_EXTENSION_WARN',
  'FAIRSEQ2_NO_PROGRESS',
  'FAIRSEQ2_OFFLINE',
  'FAIRSEQ2_USER_ASSET_DIR',
  'HF_ENDPOINT',
  'HF_HOME',
  'HF_HUB_CACHE',
  'HF_HUB_OFFLINE',
  'HF_TOKEN',
  'HF_TOKEN_PATH',
  'XDG_CACHE_HOME',
  'XDG_CONFIG_HOME',
];

/** The most tensor-parallel ranks `tp` may ask for (`ThreadGangHost`'s limit). */
const MAX_TP = 256;

/** The fs2 native checkpoint format: the model's own parameter names and layout, read as is. */
function nativeConverter<TConfig>(parameterNames: () => ReadonlySet<string>): CheckpointConverter<TConfig> {
  return {
    format: 'fs2',
    matches: (keys) => {
      const names = parameterNames();
      return keys.size > 0 && [...keys].every((k) => names.has(k));
    },
    *convert(tensor) {
      const rows = tensor.rows;
      if (rows === undefined) {
        yield { name: tensor.key, data: tensor.data, shape: tensor.shape };
        return;
      }
      yield {
        name: tensor.key,
        shape: tensor.shape,
        get data() {
          return tensor.data;
        },
        rows: { layout: 'fs2', reader: rows },
      };
    },
    plan: (key, shape) => ({ name: key, shape: [...shape], transpose: false }),
  };
}

/**
 * The standard {@link ModelFamily}: fairseq2's `StandardModelFamily`, with the family's knowledge
 * supplied as a {@link ModelFamilySpec}.
 */
export class StandardModelFamily<TModel extends LoadableModel, TConfig> implements ModelFamily<TModel, TConfig> {
  readonly kind: string;
  readonly configSchema: TSchema;
  readonly capabilities: ModelFamilyCapabilities;
  readonly huggingFace: HuggingFaceInterop<TConfig> | undefined;
  readonly meta: MetaInterop<TConfig> | undefined;

  constructor(
    readonly name: string,
    readonly origin: string,
    private readonly spec: ModelFamilySpec<TModel, TConfig>,
    private readonly services: ModelFamilyServices,
  ) {
    this.kind = spec.kind ?? 'causal_lm';
    this.configSchema = spec.configSchema;
    this.huggingFace = spec.huggingFace;
    this.meta = spec.meta;
    this.capabilities = {
      meta: spec.supportsMeta ?? true,
      tensorParallel: spec.sharder !== undefined,
      huggingFaceExport: spec.huggingFace !== undefined,
    };
  }

  getArchs(): string[] {
    return Object.keys(this.spec.archs).sort();
  }

  maybeGetArchConfig(arch: string): TConfig | undefined {
    const preset = Object.hasOwn(this.spec.archs, arch) ? this.spec.archs[arch] : undefined;
    return preset?.();
  }

  getModelConfig(card: AssetCard): TConfig {
    const archField = card.maybeField('model_arch');
    let base: TConfig;
    if (archField === undefined) {
      base = this.spec.defaultConfig();
    } else {
      const arch = archField.asString();
      const preset = this.maybeGetArchConfig(arch);
      if (preset === undefined) {
        throw archField.error(
          `\`model_arch\` field of the \`${card.name}\` asset card is expected to be a supported ${this.name} model architecture, but is \`${arch}\` instead.`,
        );
      }
      base = preset;
    }
    return this.services.configs.load(card, base as Static<TSchema>, 'model', this.configSchema) as TConfig;
  }

  /** Problems of a card's `model_arch` and `model_config` (for `fs2 assets validate`). */
  checkCard(card: AssetCard): AssetCardError[] {
    try {
      const archField = card.maybeField('model_arch');
      const base = archField === undefined ? this.spec.defaultConfig() : this.maybeGetArchConfig(archField.asString());
      if (base === undefined) {
        this.getModelConfig(card); // Throws the located error.
        return [];
      }
      return this.services.configs.check(card, base as Static<TSchema>, 'model', this.configSchema);
    } catch (error) {
      if (error instanceof AssetCardError) {
        return [error];
      }
      throw error;
    }
  }

  checkConfig(config: unknown, source: string): TConfig {
    const problems = checkConfig(config, this.configSchema);
    if (problems.length > 0) {
      // Every problem, not the first: a config built in code has no file to look the others up in.
      const reasons = problems.map((p) => p.reason).join(' ');
      throw new InvalidArgumentError('config', `${source} is not a valid ${this.name} model configuration: ${reasons}`, {
        cause: new ConfigValidationError(problems),
      });
    }
    return config as TConfig;
  }

  createNewModel(config: TConfig, options: ParallelCreateModelOptions): Promise<TensorParallelModel>;
  createNewModel(config: TConfig, options?: CreateModelOptions): Promise<TModel>;
  async createNewModel(config: TConfig, options: CreateModelOptions | ParallelCreateModelOptions = {}): Promise<TModel | TensorParallelModel> {
    if (isTensorParallelOptions(options)) {
      checkPlacement(options);
      const checked = this.checkConfig(config, 'The `config` argument');
      this.checkTensorParallel(checked, options.tp);
      return this.startParallel(checked, { kind: 'random', seed: options.seed ?? 0 }, options, undefined);
    }
    const meta = options.meta ?? false;
    if (meta && !this.capabilities.meta) {
      throw new NotSupportedError(`The ${this.name} model family does not support shape-only (meta) models.`);
    }
    const model = await this.build(config, options, meta);
    if (!meta) {
      try {
        // A sharded model gets its slices of the whole model's random state: the same model for a
        // seed, whatever the number of ranks (as fairseq2's sharded modules initialise).
        const sharding = activeSharding(model);
        const shapes = sharding === undefined ? model.parameterShapes() : this.wholeShapes(config);
        const state = randomState(shapes, { seed: options.seed ?? 0 });
        await model.loadState(sharding === undefined ? state : shardState(state, sharding));
      } catch (error) {
        model.dispose();
        throw error;
      }
    }
    return model;
  }

  loadModel(card: AssetCard, options: ParallelLoadModelOptions<TConfig>): Promise<TensorParallelModel>;
  loadModel(card: AssetCard, options?: LoadModelOptions<TConfig>): Promise<TModel>;
  async loadModel(
    card: AssetCard,
    options: LoadModelOptions<TConfig> | ParallelLoadModelOptions<TConfig> = {},
  ): Promise<TModel | TensorParallelModel> {
    checkPlacement(options);
    const config =
      options.config === undefined ? this.getModelConfig(card) : this.checkConfig(options.config, 'The `config` option');
    if (isTensorParallelOptions(options)) {
      // Before any download: an impossible split fails at once.
      this.checkTensorParallel(config, options.tp);
    }
    const checkpointField = card.maybeField('checkpoint');
    if (checkpointField === undefined) {
      throw new ModelGatedError(card.name, card.maybeField('url')?.asString());
    }
    const path = await retrieveCardAsset(
      card,
      { uriField: 'checkpoint', subPathField: 'checkpoint_path', kind: 'model' },
      this.services.downloads,
      {
        ...(options.progress === undefined ? {} : { progress: options.progress }),
        ...(options.localOnly === undefined ? {} : { localOnly: options.localOnly }),
      },
    );
    if (isTensorParallelOptions(options)) {
      return this.startParallel(config, { kind: 'checkpoint', path }, options, card.name);
    }
    try {
      return await this.loadCustomModel(path, config, options, card.name);
    } catch (error) {
      if (error instanceof CheckpointError && checkpointField.asUri().scheme !== 'file') {
        throw new AssetCardError(
          card.name,
          `The checkpoint of the \`${card.name}\` asset card cannot be loaded: ${error.message} If the download is damaged, delete ${path} and load the model again.`,
          { field: 'checkpoint', cause: error },
        );
      }
      throw error;
    }
  }

  loadCustomModel(path: string, config: TConfig, options: ParallelLoadCustomModelOptions, displayName?: string): Promise<TensorParallelModel>;
  loadCustomModel(path: string, config: TConfig, options?: LoadCustomModelOptions, displayName?: string): Promise<TModel>;
  async loadCustomModel(
    path: string,
    config: TConfig,
    options: LoadCustomModelOptions | ParallelLoadCustomModelOptions = {},
    displayName = path,
  ): Promise<TModel | TensorParallelModel> {
    checkPlacement(options);
    const checked = this.checkConfig(config, 'The `config` argument');
    if (isTensorParallelOptions(options)) {
      this.checkTensorParallel(checked, options.tp);
      return this.startParallel(checked, { kind: 'checkpoint', path: resolve(path) }, options, displayName);
    }
    const model = await this.build(checked, options, false);
    const task =
      options.progress === false
        ? undefined
        : this.services.progress.startTask({ description: `Loading ${displayName}`, total: model.parameterShapes().size, unit: 'items', itemName: 'tensors' });
    try {
      await model.loadState(tapProgress(this.iterCheckpoint(path, checked, model), task));
      task?.finish();
      return model;
    } catch (error) {
      task?.abort();
      model.dispose();
      if (error instanceof StateKeyMismatchError || error instanceof ParameterShapeMismatchError) {
        // fairseq2: "Checkpoint at {path} is not compatible with the {family} model."
        throw new CheckpointError(path, `The checkpoint at ${path} does not fit the ${this.name} model: ${error.message}`, undefined, {
          cause: error,
        });
      }
      throw error;
    }
  }

  /** {@inheritDoc ModelFamily.iterCheckpoint} */
  iterCheckpoint(path: string, config: TConfig, options?: IterCheckpointOptions | LoadableModel): AsyncGenerator<StateEntry>;
  async *iterCheckpoint(path: string, config: TConfig, options: IterCheckpointOptions | LoadableModel = {}): AsyncGenerator<StateEntry> {
    const model = 'parameterShapes' in options ? options : undefined;
    let names: ReadonlySet<string> | undefined = model === undefined ? undefined : new Set(model.parameterShapes().keys());
    const parameterNames = (): ReadonlySet<string> => (names ??= new Set(this.shapeOnlyModel(config, createFakeGangs()).parameterShapes().keys()));
    const gangs = model === undefined ? (options as IterCheckpointOptions).gangs : undefined;
    const sharding =
      model !== undefined
        ? activeSharding(model)
        : gangs !== undefined && gangs.tp.size > 1 && this.spec.sharder !== undefined
          ? activeSharding(this.shapeOnlyModel(config, gangs))
          : undefined;
    const reader = await this.services.checkpoints.open(path);
    try {
      const keys = new Set(reader.keys());
      const converters = [...this.spec.converters, nativeConverter<TConfig>(parameterNames)];
      const converter = converters.find((c) => c.matches(keys));
      if (converter === undefined) {
        const sample = [...keys].slice(0, 3).join(', ');
        throw new CheckpointError(
          path,
          `${path} is not a checkpoint the ${this.name} model family can read: its keys (${sample}${keys.size > 3 ? ', ...' : ''}) match none of its formats (${converters.map((c) => c.format).join(', ')}).`,
        );
      }
      for (const key of reader.keys()) {
        if (converter.isIgnored?.(key) === true) {
          continue;
        }
        const shape = reader.shape(key);
        if (sharding !== undefined && converter.plan !== undefined) {
          // A tensor-parallel rank reads only its slice, converted as the plan says.
          const plan = converter.plan(key, shape, config, path);
          if (plan !== undefined) {
            yield await readPlannedTensor(reader, key, plan, sharding);
            continue;
          }
        }
        const fileRows = sharding === undefined ? reader.rowReader?.(key) : undefined;
        if (fileRows !== undefined) {
          // Read on demand: a model that streams the rows into place never asks for `data`. A
          // consumer that took neither gets the data read before the file moves on (it may keep
          // the entry, and the file is closed at the end).
          let data: Float32Array | undefined;
          let streamed = false;
          const rows: TensorRowReader = {
            rows: fileRows.rows,
            rowLength: fileRows.rowLength,
            read: (start, count, into) => {
              streamed = true;
              fileRows.read(start, count, into);
            },
          };
          const read = (): Float32Array => {
            if (data === undefined) {
              data = new Float32Array(fileRows.rows * fileRows.rowLength);
              fileRows.read(0, fileRows.rows, data);
            }
            return data;
          };
          const tensor: SourceTensor = {
            key,
            shape,
            get data() {
              return read();
            },
            rows,
          };
          yield* converter.convert(tensor, config, path);
          if (!streamed) {
            read();
          }
          continue;
        }
        const data = await reader.read(key);
        if (!(data instanceof Float32Array)) {
          throw new CheckpointError(path, `${key} in ${path} holds integers, but model weights are floating-point.`, key);
        }
        for (const entry of converter.convert({ key, shape, data }, config, path)) {
          // Read whole, then (a converter without a plan) narrowed to this rank's part.
          yield sharding === undefined ? entry : shardStateEntry(entry, sharding);
        }
      }
    } finally {
      await reader.close();
    }
  }

  async saveModel(model: TModel, config: TConfig, dir: string, options: SaveModelOptions): Promise<void> {
    if (!isSavable(model)) {
      throw new NotSupportedError(`The ${this.name} model does not expose its weights (\`stateEntries()\`), so it cannot be saved.`);
    }
    const sharding = activeSharding(model);
    if (sharding !== undefined) {
      throw new NotSupportedError(
        `The ${this.name} model is split over ${sharding.size} tensor-parallel ranks, and each holds only its part of the weights: load it whole (without \`gangs\`) to save it.`,
      );
    }
    const checked = this.checkConfig(config, 'The `config` argument');
    const cardName = options.name ?? basename(resolve(dir));
    if (options.format === 'fs2' && (cardName.trim() === '' || cardName.includes('@'))) {
      throw new InvalidArgumentError('name', `The card name ${JSON.stringify(cardName)} is not valid: ${ASSET_NAME_RULE}, and a saved card has no environment.`);
    }
    const interop = this.huggingFace;
    if (options.format === 'hf' && interop === undefined) {
      throw new NotSupportedError(`The ${this.name} model family cannot export Hugging Face checkpoints.`);
    }
    await mkdir(dir, { recursive: true });
    let tensors: TensorToWrite[];
    if (options.format === 'hf' && interop !== undefined) {
      tensors = [...model.stateEntries()].flatMap((entry) =>
        [...interop.exportTensor(entry, checked)].map((t) => ({ key: t.key, shape: t.shape, dtype: 'F32' as const, data: t.data })),
      );
      await writeFile(join(dir, 'config.json'), `${JSON.stringify(interop.toConfigJson(checked), null, 2)}\n`);
    } else {
      tensors = [...model.stateEntries()].map((e) => ({ key: e.name, shape: e.shape, dtype: 'F32' as const, data: e.data }));
      const card = { name: cardName, model_family: this.name, model_config: checked, checkpoint: '.' };
      await writeFile(join(dir, 'model.yaml'), stringifyYaml(card));
    }
    const metadata = { format: options.format === 'hf' ? 'pt' : 'fs2' };
    if (options.maxShardBytes === undefined) {
      await writeSafetensors(join(dir, 'model.safetensors'), tensors, metadata);
    } else {
      await writeShardedSafetensors(dir, tensors, { maxShardBytes: options.maxShardBytes, metadata });
    }
  }

  private async build(config: TConfig, options: CreateModelOptions, meta: boolean): Promise<TModel> {
    checkPlacement(options);
    const checked = this.checkConfig(config, 'The `config` argument');
    const device = meta ? undefined : await placementDevice(options);
    const gangs: Gangs = options.gangs ?? createFakeGangs();
    return this.spec.factory(checked, { device, gangs, meta });
  }

  /** A shape-only model of `config` split by `gangs` (a synchronous factory only). */
  private shapeOnlyModel(config: TConfig, gangs: Gangs): TModel {
    const model = this.spec.factory(config, { device: undefined, gangs, meta: true });
    if (model instanceof Promise) {
      throw new NotSupportedError(`The ${this.name} model family builds models asynchronously; pass the model to \`iterCheckpoint\`.`);
    }
    return model;
  }

  /** The parameter shapes of the whole (unsharded) model of `config`. */
  private wholeShapes(config: TConfig): Map<string, number[]> {
    return this.shapeOnlyModel(config, createFakeGangs()).parameterShapes();
  }

  /**
   * Checks a `tp` option: an integer from 1 to 256, a family with a sharder for more than one rank,
   * and a config the sharder can split.
   */
  private checkTensorParallel(config: TConfig, tp: number): void {
    if (!Number.isInteger(tp) || tp < 1 || tp > MAX_TP) {
      throw new InvalidArgumentError('tp', `\`tp\` must be an integer from 1 to ${MAX_TP}, but is ${String(tp)} instead.`);
    }
    if (tp > 1) {
      if (this.spec.sharder === undefined) {
        throw new NotSupportedError(`The ${this.name} model family cannot split a model over ${tp} tensor-parallel ranks: it has no sharder.`);
      }
      this.spec.sharder(config, tp);
    }
  }

  /** Starts `tp` workers that build the model and load `source` (a local checkpoint, or random weights). */
  private async startParallel(
    config: TConfig,
    source: TensorParallelSource,
    options: TensorParallelOptions & { readonly progress?: boolean },
    displayName: string | undefined,
  ): Promise<TensorParallelModel> {
    const environment = this.services.environment;
    const env: Record<string, string> = {};
    for (const name of new Set([...Object.keys(process.env), ...FS2_VARIABLES])) {
      const value = environment === undefined ? process.env[name] : environment.get(name);
      if (value !== undefined) {
        env[name] = value;
      }
    }
    const task =
      options.progress === false || displayName === undefined
        ? undefined
        : this.services.progress.startTask({ description: `Loading ${displayName} on ${options.tp} tensor-parallel rank${options.tp === 1 ? '' : 's'}` });
    try {
      const model = await TensorParallelModel.start({
        family: this.name,
        config,
        source,
        tp: options.tp,
        env,
        cwd: environment?.cwd ?? process.cwd(),
        ...(options.device === undefined ? {} : { device: options.device }),
        ...(options.workerSetup === undefined ? {} : { workerSetup: options.workerSetup }),
        ...(options.collectiveTimeoutMs === undefined ? {} : { collectiveTimeoutMs: options.collectiveTimeoutMs }),
        ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
      });
      task?.finish();
      return model;
    } catch (error) {
      task?.abort();
      throw error;
    }
  }
}

function checkPlacement(options: { readonly device?: string; readonly gangs?: Gangs; readonly tp?: number }): void {
  if (options.gangs !== undefined && options.tp !== undefined) {
    throw new InvalidArgumentError('tp', '`gangs` and `tp` must not be specified at the same time: `tp` starts its own gang.');
  }
  if (options.device !== undefined && options.gangs !== undefined) {
    throw new InvalidArgumentError('device', '`gangs` and `device` must not be specified at the same time.');
  }
}

/**
 * The device a model is built on: the one named, or with `gangs` the active one (each rank of a
 * gang activates its own device, as fairseq2 takes `gangs.root.device`), else the default.
 */
async function placementDevice(options: CreateModelOptions): Promise<Device> {
  if (options.gangs !== undefined) {
    const active = defaultDeviceRegistry.maybeActiveDevice();
    if (active !== undefined) {
      return active;
    }
  }
  return useDevice(options.device);
}

/** The sharding of a model split over several ranks, or `undefined`. */
function activeSharding(model: LoadableModel): ParameterSharding | undefined {
  const sharding = model.tensorParallel;
  return sharding !== undefined && sharding.size > 1 ? sharding : undefined;
}

function isSavable(model: LoadableModel): model is SavableModel {
  return typeof (model as Partial<SavableModel>).stateEntries === 'function';
}

async function* tapProgress(
  source: AsyncIterable<StateEntry>,
  task: { advance(amount: number): void } | undefined,
): AsyncGenerator<StateEntry> {
  for await (const entry of source) {
    yield entry;
    task?.advance(1);
  }
}
