import type { Static, TSchema } from '@sinclair/typebox';

import type { AssetCard } from '../assets/AssetCard.js';
import type { TensorRowReader } from '../checkpoint/CheckpointReader.js';
import { createServiceIdentifier, type ServiceIdentifier } from '../runtime/ServiceIdentifier.js';
import type { Gangs } from '../gang/Gangs.js';
import type { Device } from '../nn/devices/Device.js';
import type { TensorConversionPlan } from '../nn/decoderCheckpoint.js';
import type { StateEntry, StateSource } from '../nn/loadModuleState.js';
import type { ParameterSharding } from '../nn/parallel/ParameterSharding.js';
import type { TensorParallelModel } from './parallel/TensorParallelModel.js';

/**
 * What a model must offer for fs2 to load weights into it: its parameter names and shapes (fs2
 * names and layout), a streamed state load, and disposal. `TransformerDecoderModel` is one; an
 * out-of-tree family brings its own.
 */
export interface LoadableModel {
  /** Parameter name -> shape, in fs2 names and layout. */
  parameterShapes(): Map<string, number[]>;
  /** Loads weights one tensor at a time; see `loadModuleState`. */
  loadState(source: StateSource): Promise<void>;
  /** Frees every tensor. */
  dispose(): void;
  /**
   * How the model is split over a tensor-parallel gang, when it is: a checkpoint loader then reads
   * only this rank's slice of each sharded tensor. Absent or `undefined` for a whole model.
   */
  readonly tensorParallel?: ParameterSharding | undefined;
}

/** A model whose weights can be read back (for saving and exporting), in fs2 names and layout. */
export interface SavableModel extends LoadableModel {
  /** The weights, one tensor at a time (a tied weight once, under its owner's name). */
  stateEntries(): Iterable<StateEntry>;
}

/** One tensor as read from a checkpoint, before conversion: the checkpoint's own name and layout. */
export interface SourceTensor {
  readonly key: string;
  readonly shape: readonly number[];
  /** The values, row-major (may be read from the file on first access when {@link rows} is given). */
  readonly data: Float32Array;
  /**
   * Synchronous access to the rows of the tensor in the file, when the checkpoint allows it (see
   * `TensorRowReader`): a converter that only renames or transposes passes it on (`StateEntry.rows`)
   * so that the model can stream the values into place instead of receiving `data`. Default: none.
   */
  readonly rows?: TensorRowReader;
}

/**
 * Converts a checkpoint of one source format (Hugging Face, Meta reference, fs2 native) into a
 * family's state, one tensor at a time. Key maps are declarative tables (`KeyMap`); an unknown
 * key throws and names it.
 */
export interface CheckpointConverter<TConfig> {
  /** The format's short name: `hf`, `meta`, `fs2`, ... */
  readonly format: string;
  /** Whether a checkpoint with these keys is in this format. */
  matches(keys: ReadonlySet<string>): boolean;
  /**
   * Whether `key` is dropped (a buffer the model recomputes, a tied copy), so that it is not even
   * read: an old GPT-2 checkpoint holds a 4 MiB causal mask per layer. Default: every key is read
   * and given to {@link convert}, which may still drop it.
   */
  isIgnored?(key: string): boolean;
  /**
   * The fs2 state entries for one source tensor (none to drop it, e.g. Meta's `rope.freqs`).
   * `path` names the checkpoint for error messages.
   */
  convert(tensor: SourceTensor, config: TConfig, path: string): Iterable<StateEntry>;
  /**
   * How the source tensor `key` of full shape `shape` becomes one fs2 parameter, declared rather
   * than done (`planDecoderTensor` builds one): its fs2 name and shape, whether it is transposed,
   * and Meta's q/k row permutation; `undefined` drops the key. When a converter has `plan`, the
   * family loads through it (and `convert` must do the same): a tensor-parallel rank then reads
   * only its slice of each sharded tensor (`readSlice`), permutes and transposes that slice alone.
   * A converter without `plan` (one that splits or fuses tensors) is read whole and its entries are
   * narrowed to the rank's part afterwards. Default: none.
   */
  plan?(key: string, shape: readonly number[], config: TConfig, path: string): TensorConversionPlan | undefined;
}

/**
 * How a family reads and writes Hugging Face folders (`config.json` + safetensors), so that an HF
 * folder loads with no card and a model can be exported.
 */
export interface HuggingFaceInterop<TConfig> {
  /** The `model_type` values of `config.json` this family reads (`llama`, `qwen2`, ...). */
  readonly modelTypes: readonly string[];
  /** `config.json` -> the family's config. `path` names the file for error messages. */
  fromConfigJson(json: Readonly<Record<string, unknown>>, path: string): TConfig;
  /** The family's config -> `config.json`. */
  toConfigJson(config: TConfig): Record<string, unknown>;
  /** One fs2 state entry -> HF tensors (names and layout), for export. */
  exportTensor(entry: StateEntry, config: TConfig): Iterable<SourceTensor>;
}

/** How a family reads Meta reference folders (`params.json` + `consolidated.NN.pth`). */
export interface MetaInterop<TConfig> {
  /** `params.json` -> the family's config; `vocabSize` comes from the embedding's shape when `-1`. */
  fromParamsJson(json: Readonly<Record<string, unknown>>, path: string, vocabSize: number | undefined): TConfig;
}

/** What a family's models can do beyond loading and running. One object, not a dozen flags. */
export interface ModelFamilyCapabilities {
  /** Builds a shape-only model (no weights, no device) for counting parameters. */
  readonly meta: boolean;
  /**
   * Can split a model over a tensor-parallel gang (the family has a sharder): `gangs` with a
   * tensor-parallel gang of several ranks, or `tp`, build sharded models.
   */
  readonly tensorParallel: boolean;
  /** Can save a model as an HF folder (`saveModel(model, dir, { format: 'hf' })`). */
  readonly huggingFaceExport: boolean;
}

/** What a factory receives besides the config. */
export interface ModelFactoryContext {
  /** The device to build on; `undefined` for a shape-only (meta) model. */
  readonly device: Device | undefined;
  /** The gangs the model is split over (fake gangs of size 1 when not parallel). */
  readonly gangs: Gangs;
  /** Build without weights or device (parameter counting). */
  readonly meta: boolean;
}

/** Builds a model from a config. */
export type ModelFactory<TModel, TConfig> = (config: TConfig, context: ModelFactoryContext) => TModel | Promise<TModel>;

/**
 * A family's tensor-parallel sharder (its `sharder.ts`): checks that `config` splits evenly over
 * `tpSize` ranks, throwing a `TensorParallelSplitError` that names the family's config fields
 * otherwise, and returns the layout the family's factory builds with (for decoders, a
 * `DecoderTensorParallelLayout`). The family calls it before starting any worker, so that an
 * impossible split fails at once.
 */
export type ModelSharder<TConfig, TLayout = unknown> = (config: TConfig, tpSize: number) => TLayout;

/** Options shared by the hub's create and load methods. */
export interface ModelPlacementOptions {
  /**
   * The device: `wasm` (default), `cpu`, `tensorflow`, `webgpu`, or any registered provider.
   * Not together with `gangs`.
   */
  readonly device?: string;
  /**
   * The gangs the model is split over (fairseq2's `gangs`), for code that already runs as one rank
   * of a gang (a thread gang worker): with a tensor-parallel gang of several ranks, a family with a
   * sharder builds this rank's part and loads only its slices of the checkpoint; a family without
   * one builds the whole model, as fairseq2 ignores a parallelism a family does not support. The
   * model goes on the active device (each worker activates its own with `useDevice`), else the
   * default one. Not together with `device` or `tp`. Default: no parallelism.
   */
  readonly gangs?: Gangs;
}

/**
 * The `tp` option: run the model split over `tp` tensor-parallel ranks, each a worker thread of
 * this process with its own TF.js backend (`ThreadGangHost`). The create and load methods then
 * return a {@link TensorParallelModel}, a proxy with the generation surface of a local model.
 */
export interface TensorParallelOptions {
  /**
   * The number of tensor-parallel ranks (worker threads), from 1 to 256; it must divide the
   * model's heads, key/value heads, feed-forward width and the split parts of its embedding and
   * head (the family's sharder says which). `1` runs the whole model in one worker. Required.
   */
  readonly tp: number;
  /** The device of every worker (each activates its own). Default: `wasm`. */
  readonly device?: string;
  /**
   * How long a rank waits in a collective for the others before the model fails with a `timeout`
   * `GangError`, in milliseconds. Default: 60 000 (`ThreadGangHost`'s).
   */
  readonly collectiveTimeoutMs?: number;
  /** How long the workers may take to build fs2 and load their shards, in milliseconds. Default: `Infinity`. */
  readonly startTimeoutMs?: number;
  /**
   * A module (a `file:` URL or an absolute path of compiled JavaScript) whose default export
   * `(container, { rank, size }) => void | Promise<void>` each worker runs while it builds its fs2
   * container, after the installed extensions: how a family registered in code rather than by an
   * installed extension reaches the workers. Default: none.
   */
  readonly workerSetup?: string | URL;
}

/** Options of `createNewModel`. */
export interface CreateModelOptions extends ModelPlacementOptions {
  /** Build shape-only (no weights, no device): needs `capabilities.meta`. Default: `false`. */
  readonly meta?: boolean;
  /** The seed of the random initial weights. Default: `0`. */
  readonly seed?: number;
}

/** Whether options ask for a tensor-parallel model in worker threads (they have `tp`). */
export function isTensorParallelOptions<T extends object>(options: T): options is T & TensorParallelOptions {
  return (options as Partial<TensorParallelOptions>).tp !== undefined;
}

/** Options of `createNewModel` with `tp`: the model is created in worker threads. */
export interface ParallelCreateModelOptions extends TensorParallelOptions {
  /** The seed of the random initial weights; every `tp` gives the same model for a seed. Default: `0`. */
  readonly seed?: number;
}

/** Options of `loadModel`. */
export interface LoadModelOptions<TConfig> extends ModelPlacementOptions {
  /** A config to use instead of the card's (checked against the family's schema). */
  readonly config?: TConfig;
  /** Show download and load progress. Default: `true` (off with `FAIRSEQ2_NO_PROGRESS`). */
  readonly progress?: boolean;
  /** Use only what is already downloaded. Default: `false` (or offline mode). */
  readonly localOnly?: boolean;
}

/** Options of `loadModel` with `tp`: the checkpoint is downloaded here, then loaded in worker threads. */
export interface ParallelLoadModelOptions<TConfig> extends Omit<LoadModelOptions<TConfig>, 'gangs' | 'device'>, TensorParallelOptions {}

/** Options of `loadCustomModel`. */
export interface LoadCustomModelOptions extends ModelPlacementOptions {
  /** Show load progress. Default: `true` (off with `FAIRSEQ2_NO_PROGRESS`). */
  readonly progress?: boolean;
}

/** Options of `loadCustomModel` with `tp`. */
export interface ParallelLoadCustomModelOptions extends TensorParallelOptions {
  /** Show load progress. Default: `true` (off with `FAIRSEQ2_NO_PROGRESS`). */
  readonly progress?: boolean;
}

/** Options of `iterCheckpoint`. */
export interface IterCheckpointOptions {
  /**
   * The gangs the tensors are for. A family that shards (`capabilities.tensorParallel`) yields this
   * rank's slices of its tensor-parallel gang (read with `readSlice`: nothing else of a sharded
   * tensor is read); a family without a sharder yields whole tensors, as fairseq2 ignores a
   * parallelism a family does not support. Default: none (whole tensors).
   */
  readonly gangs?: Gangs;
}

/** Options of `saveModel`. */
export interface SaveModelOptions {
  /**
   * `hf` writes `config.json` + `model.safetensors` in Hugging Face names and layout (what
   * `transformers`' `save_pretrained` writes); `fs2` writes `model.safetensors` in fs2 names and
   * layout + `model.yaml`, a card naming the family, the whole config and `checkpoint: .`, so that
   * the folder loads by card once registered (`registerFileAssets(container, dir)`).
   */
  readonly format: 'hf' | 'fs2';
  /** The name of the card `format: 'fs2'` writes. Default: the folder's name. */
  readonly name?: string;
  /** Split the weights into shards of at most this many bytes, with an index. Default: one file. */
  readonly maxShardBytes?: number;
}

/**
 * A model family: the knowledge of one kind of model (LLaMA, Qwen, ...) that the hub and the
 * global loader need — its config schema and architecture presets, its factory, its checkpoint
 * converters — registered in the container under its name (`registerModelFamily`).
 */
export interface ModelFamily<TModel extends LoadableModel = LoadableModel, TConfig = unknown> {
  /** The name cards use in `model_family`. */
  readonly name: string;
  /** What kind of model it builds (`causal_lm`, ...): hub accessors check it. */
  readonly kind: string;
  /** The package (or `extras`, or user code) that registered the family. */
  readonly origin: string;
  /** The JSON schema of the config (TypeBox). */
  readonly configSchema: TSchema;
  readonly capabilities: ModelFamilyCapabilities;
  readonly huggingFace: HuggingFaceInterop<TConfig> | undefined;
  readonly meta: MetaInterop<TConfig> | undefined;

  /** The architecture names, sorted. */
  getArchs(): string[];
  /** A fresh config for `arch`, or `undefined` when the family has no such architecture. */
  maybeGetArchConfig(arch: string): TConfig | undefined;
  /** The config a card describes: its `model_arch` preset with its `model_config` overrides. */
  getModelConfig(card: AssetCard): TConfig;
  /** Checks a config against the schema; throws an error naming each problem. */
  checkConfig(config: unknown, source: string): TConfig;
  /**
   * A model with fresh (random or zero) weights, or shape-only with `meta`; with `tp`, created in
   * `tp` worker threads and returned as a {@link TensorParallelModel}.
   */
  createNewModel(config: TConfig, options: ParallelCreateModelOptions): Promise<TensorParallelModel>;
  createNewModel(config: TConfig, options?: CreateModelOptions): Promise<TModel>;
  /**
   * The model a card describes, with its checkpoint loaded (downloaded first if needed); with `tp`,
   * loaded by `tp` worker threads, each reading its slices, and returned as a {@link TensorParallelModel}.
   */
  loadModel(card: AssetCard, options: ParallelLoadModelOptions<TConfig>): Promise<TensorParallelModel>;
  loadModel(card: AssetCard, options?: LoadModelOptions<TConfig>): Promise<TModel>;
  /** A model with `config` and the checkpoint at `path` (a file or folder of any known format); with `tp`, in workers. */
  loadCustomModel(path: string, config: TConfig, options: ParallelLoadCustomModelOptions): Promise<TensorParallelModel>;
  loadCustomModel(path: string, config: TConfig, options?: LoadCustomModelOptions): Promise<TModel>;
  /** The checkpoint at `path` converted to fs2 state entries, lazily, one tensor at a time. */
  iterCheckpoint(path: string, config: TConfig, options?: IterCheckpointOptions): AsyncGenerator<StateEntry>;
  /** Writes a model (its weights and config) to `dir`. */
  saveModel(model: TModel, config: TConfig, dir: string, options: SaveModelOptions): Promise<void>;
}

/** The container identifier under which families are registered, keyed by name. */
export const ModelFamily: ServiceIdentifier<ModelFamily> = createServiceIdentifier('ModelFamily');

/** The config type of a family's schema. */
export type ModelConfigOf<S extends TSchema> = Static<S>;
