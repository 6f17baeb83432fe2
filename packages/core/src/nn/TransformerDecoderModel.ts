import * as tf from '@tensorflow/tfjs';

import { InvalidArgumentError, NotSupportedError } from '../errors/Fs2Error.js';
import { attentionMask, firstAttendedKey } from './attentionMask.js';
import type { DecoderRuntime } from './DecoderRuntime.js';
import type { Device } from './devices/Device.js';
import type { HeapReservation } from './devices/HeapLedger.js';
import { Embedding } from './Embedding.js';
import { ModelNotLoadedError, type MemoryBreakdown } from './errors.js';
import { cpuKernelsMemory, estimateDecoderMemory } from './estimateDecoderMemory.js';
import { generate, type GeneratedToken, type GenerationOptions, type GenerationResult } from './generate.js';
import type { AttentionContext } from './GroupedQueryAttention.js';
import { CpuDecoder } from './kernels/CpuDecoder.js';
import { cpuKernelsEnabledFor, cpuKernelsFor, cpuKernelsLedger } from './kernels/cpuKernelsRegistry.js';
import { KVCache, kvCacheBytes, type KVCacheShape } from './KVCache.js';
import { Linear } from './Linear.js';
import { loadModuleState, type StateEntry, type StateSource } from './loadModuleState.js';
import { Module } from './Module.js';
import type { DecoderTensorParallelism } from './parallel/DecoderTensorParallelism.js';
import { RMSNorm } from './RMSNorm.js';
import { RotaryEncoder } from './RotaryEncoder.js';
import {
  resolveTransformerDecoderConfig,
  type ResolvedTransformerDecoderConfig,
  type TransformerDecoderConfig,
} from './TransformerDecoderConfig.js';
import { TransformerDecoderLayer } from './TransformerDecoderLayer.js';

/** The KV cache length a model reserves memory for when none is given. */
export const DEFAULT_MAX_CACHE_LENGTH = 4096;

/**
 * Positions per prefill chunk when none is given: bounds one group's attention scores at
 * `groupSize * 512 * cacheLength` floats during long prompts.
 */
export const DEFAULT_PREFILL_CHUNK_SIZE = 512;

/** Options of {@link TransformerDecoderModel}. */
export interface TransformerDecoderModelOptions {
  /**
   * The device the weights will live on (from `useDevice()`). Without one the model is shape-only:
   * it lists and counts its parameters but cannot load them. Default: none.
   */
  readonly device?: Device;
  /**
   * The longest KV cache the model will be asked for, in positions: what the memory check at
   * construction counts, and the largest `createCache()` capacity. Default:
   * `min(config.maxSeqLen, 4096)`.
   */
  readonly maxCacheLength?: number;
  /** Positions per chunk when prefilling a prompt through a cache. Default: `512`. */
  readonly prefillChunkSize?: number;
  /**
   * Splits the model over a tensor-parallel gang: this rank then holds its part of every sharded
   * parameter (its heads, feed-forward columns, and its part of the embedding and head by the
   * layout), and `forward` meets the other ranks in collectives; every rank must run the same calls.
   * The KV cache and the memory check are this rank's. Default: none (the whole model).
   */
  readonly tensorParallel?: DecoderTensorParallelism;
}

/** Token ids: one sequence, or a batch of sequences of equal length. */
export type TokenInput = readonly number[] | Int32Array | readonly (readonly number[] | Int32Array)[];

/** Options of {@link TransformerDecoderModel.forward}. */
export interface ForwardOptions {
  /**
   * A cache to continue from and append to: the tokens take positions `cache.length ...`.
   * Default: none (the tokens are a whole sequence from position 0).
   */
  readonly cache?: KVCache;
  /** `'all'`: logits `[batch, length, vocab]`; `'last'`: only the last position's, `[batch, vocab]`. Default: `'all'`. */
  readonly logits?: 'all' | 'last';
}

/** Options of {@link TransformerDecoderModel.createCache}. */
export interface CacheOptions {
  /** Positions. Default: the model's `maxCacheLength`. */
  readonly capacity?: number;
  /** Sequences. Default: `1`. */
  readonly batchSize?: number;
}

/**
 * A decoder-only transformer language model (fairseq2's `TransformerLM` as the LLaMA, Qwen and
 * Mistral factories build it): embedding, {@link TransformerDecoderLayer}s, final RMSNorm, and an
 * output projection that is `final_proj` or, with tied embeddings, the embedding matrix.
 *
 * Building it allocates nothing and, on a device with a memory budget (wasm), first checks that the
 * weights, XNNPACK's packed copies, a KV cache of `maxCacheLength` and the activations of a prefill
 * chunk fit, reserving the bytes. Weights arrive through {@link TransformerDecoderModel.loadState}
 * with fs2 names (see {@link TransformerDecoderModel.parameterShapes}).
 *
 * ```ts
 * const device = await useDevice('wasm');
 * const model = new TransformerDecoderModel(config, { device });
 * await model.loadState(myConverter(checkpoint)); // yields { name, data, shape } in fs2 layout
 * for await (const { token } of model.generate(promptIds, { maxNewTokens: 32, stopTokens: [eos] })) {
 *   process.stdout.write(tokenizer.decode([token]));
 * }
 * model.dispose();
 * ```
 */
export class TransformerDecoderModel extends Module {
  readonly config: ResolvedTransformerDecoderConfig;
  readonly device: Device | undefined;
  readonly maxCacheLength: number;
  readonly prefillChunkSize: number;
  /** `decoder_frontend.embed`. */
  readonly embed: Embedding;
  /** `decoder.layers.N`. */
  readonly layers: readonly TransformerDecoderLayer[];
  /** `decoder.layer_norm`. */
  readonly layerNorm: RMSNorm;
  /** `final_proj`; absent with tied embeddings. */
  readonly finalProj: Linear | undefined;
  readonly rotary: RotaryEncoder;
  /**
   * The device's own implementation of this model (`DeviceProvider.createDecoderRuntime`: the
   * `webgpu` device's kernels), or `undefined` when the TF.js modules run it.
   */
  readonly runtime: DecoderRuntime | undefined;
  /** The tensor parallelism the model is split by, or `undefined` when it is whole. */
  readonly tensorParallel: DecoderTensorParallelism | undefined;
  /** The config of this rank's part (the whole config without tensor parallelism): memory and KV cache sizes. */
  private readonly localConfig: ResolvedTransformerDecoderConfig;
  private readonly cacheShape: KVCacheShape;
  private readonly reservation: HeapReservation | undefined;
  private readonly kernelReservation: HeapReservation | undefined;
  private cpu: CpuDecoder | undefined;
  private state: 'empty' | 'loaded' | 'disposed' = 'empty';

  /**
   * @throws DecoderConfigError when a config field is invalid.
   * @throws HeapBudgetExceededError when the model would not fit the device's memory budget.
   * @throws TensorParallelSplitError when `tensorParallel` cannot split the config evenly.
   */
  constructor(config: TransformerDecoderConfig, options: TransformerDecoderModelOptions = {}) {
    super('');
    const c = resolveTransformerDecoderConfig(config);
    this.config = c;
    this.device = options.device;
    this.maxCacheLength = positiveOption('maxCacheLength', options.maxCacheLength) ?? Math.min(c.maxSeqLen, DEFAULT_MAX_CACHE_LENGTH);
    if (this.maxCacheLength > c.maxSeqLen) {
      throw new InvalidArgumentError(
        'maxCacheLength',
        `\`maxCacheLength\` (${this.maxCacheLength}) exceeds the model's \`maxSeqLen\` (${c.maxSeqLen}).`,
      );
    }
    this.prefillChunkSize = positiveOption('prefillChunkSize', options.prefillChunkSize) ?? DEFAULT_PREFILL_CHUNK_SIZE;

    const tp = options.tensorParallel !== undefined && options.tensorParallel.size > 1 ? options.tensorParallel : undefined;
    tp?.check(c);
    this.tensorParallel = tp;
    this.localConfig = tp === undefined ? c : tp.localConfig(c);
    const local = this.localConfig;
    this.cacheShape = { numLayers: c.numLayers, numKvHeads: local.numKvHeads, headDim: c.headDim };

    this.rotary = new RotaryEncoder(c.headDim, c.ropeTheta, c.ropeScaling);
    this.embed = tp?.createEmbedding(c) ?? new Embedding('decoder_frontend.embed', c.vocabSize, c.modelDim, { tiedProjection: c.tiedEmbeddings });
    this.layers = Array.from(
      { length: c.numLayers },
      (_, i) =>
        new TransformerDecoderLayer(`decoder.layers.${i}`, {
          modelDim: c.modelDim,
          numHeads: local.numHeads,
          numKvHeads: local.numKvHeads,
          headDim: c.headDim,
          qkvBias: c.qkvBias,
          qkNorm: c.qkNorm,
          normEps: c.normEps,
          ffnInnerDim: local.ffnInnerDim,
          rotary: this.rotary,
          ...(tp === undefined ? {} : { outputProjection: tp.outputProjection }),
        }),
    );
    this.layerNorm = new RMSNorm('decoder.layer_norm', c.modelDim, c.normEps);
    this.finalProj = c.tiedEmbeddings ? undefined : (tp?.createFinalProjection(c) ?? new Linear('final_proj', c.modelDim, c.vocabSize));

    if (tp !== undefined && this.device?.provider.createDecoderRuntime !== undefined) {
      throw new NotSupportedError(
        `Tensor parallelism is not supported on the ${this.device.name} device, which runs the model with its own kernels; use tp = 1 there.`,
      );
    }
    this.runtime = this.device?.provider.createDecoderRuntime?.(this);
    if (this.device !== undefined) {
      const estimate = this.memoryEstimate();
      this.device.ledger.check('the model', estimate);
      if (cpuKernelsEnabledFor(this.device)) {
        const kernels = cpuKernelsMemory(c, { cacheLength: this.maxCacheLength, prefillChunkSize: this.prefillChunkSize });
        cpuKernelsLedger.check('the model', kernels);
        this.kernelReservation = cpuKernelsLedger.reserve('the model', { ...kernels, kvCache: 0 });
      }
      this.reservation = this.device.ledger.reserve('the model', { ...estimate, kvCache: 0 });
    }
  }

  protected override children(): readonly Module[] {
    return [this.embed, ...this.layers, this.layerNorm, ...(this.finalProj === undefined ? [] : [this.finalProj]), this.rotary];
  }

  /**
   * What the model needs on its device (or on `packsMatMulWeights` hardware when shape-only): see
   * `estimateDecoderMemory`. The KV cache part is for one sequence of `maxCacheLength` positions.
   * Under tensor parallelism, this rank's part.
   */
  memoryEstimate(): MemoryBreakdown {
    return estimateDecoderMemory(this.localConfig, {
      packsMatMulWeights: this.device?.provider.packsMatMulWeights ?? true,
      cacheLength: this.maxCacheLength,
      prefillChunkSize: this.prefillChunkSize,
      cpuKernels: this.device !== undefined && cpuKernelsEnabledFor(this.device),
    });
  }

  /** Whether weights are loaded (and the model not disposed). */
  get isLoaded(): boolean {
    return this.state === 'loaded';
  }

  /**
   * Loads the weights from `source`, one tensor at a time (fs2 names and layout, see
   * {@link TransformerDecoderModel.parameterShapes}); the model's device must be active. Linear
   * weights arrive `[in, out]`; q/k/v and gate/inner are fused as they arrive. On error the model
   * is left without weights.
   *
   * @throws ParameterShapeMismatchError, StateKeyMismatchError (see `loadModuleState`).
   */
  async loadState(source: StateSource): Promise<void> {
    const device = this.requireDevice();
    this.state = 'empty';
    if (this.runtime !== undefined) {
      await loadModuleState(this.runtime.weights, source, device);
      this.state = 'loaded';
      return;
    }
    this.cpu?.dispose();
    this.cpu = undefined;
    const kernels = cpuKernelsFor(device);
    try {
      await loadModuleState(this, source, device);
    } finally {
      kernels?.releaseStaging();
    }
    // A tensor-parallel rank runs its part through the TF.js modules (the CPU decoder computes a
    // whole model's layers).
    if (kernels !== undefined && this.tensorParallel === undefined) {
      try {
        this.cpu = CpuDecoder.maybeCreate(kernels, device, this);
      } catch (error) {
        this.unload();
        throw error;
      }
    }
    this.state = 'loaded';
  }

  /** Whether a sequence at a time runs as one pass on fs2's CPU kernels (see `CpuDecoder`). */
  get runsOnCpuKernels(): boolean {
    return this.cpu !== undefined;
  }

  /**
   * Logits for `tokens`: `[batch, length, vocab]`, or `[batch, vocab]` with `logits: 'last'`.
   * With a cache, the tokens continue its sequence and are appended to it. The caller disposes the
   * result; nothing else survives the call.
   */
  forward(tokens: TokenInput, options: ForwardOptions & { readonly logits: 'last' }): tf.Tensor2D;
  forward(tokens: TokenInput, options?: ForwardOptions & { readonly logits?: 'all' }): tf.Tensor3D;
  forward(tokens: TokenInput, options?: ForwardOptions): tf.Tensor2D | tf.Tensor3D;
  forward(tokens: TokenInput, options: ForwardOptions = {}): tf.Tensor2D | tf.Tensor3D {
    const { ids, batchSize, length } = this.tokenIds(tokens);
    return this.run(ids, batchSize, length, options.cache, options.logits ?? 'all') as tf.Tensor2D | tf.Tensor3D;
  }

  /**
   * Feeds `tokens` through `cache` in chunks of `prefillChunkSize` positions and returns the last
   * position's logits, `[batch, vocab]`: the start of a generation.
   */
  prefill(tokens: TokenInput, cache: KVCache): tf.Tensor2D {
    const { ids, batchSize, length } = this.tokenIds(tokens);
    const chunk = this.prefillChunkSize;
    for (let start = 0; start < length; start += chunk) {
      const end = Math.min(length, start + chunk);
      const piece = new Int32Array((end - start) * batchSize);
      for (let b = 0; b < batchSize; b++) {
        piece.set(ids.subarray(b * length + start, b * length + end), b * (end - start));
      }
      const last = end === length;
      const logits = this.run(piece, batchSize, end - start, cache, last ? 'last' : 'none');
      if (last) {
        return logits as tf.Tensor2D;
      }
    }
    throw new InvalidArgumentError('tokens', 'Prefill needs at least one token.');
  }

  /**
   * A KV cache for this model on its device (which must be active), reserved against the device's
   * memory budget.
   *
   * @throws HeapBudgetExceededError when it does not fit.
   */
  createCache(options: CacheOptions = {}): KVCache {
    const device = this.requireDevice();
    const capacity = positiveOption('capacity', options.capacity) ?? this.maxCacheLength;
    const batchSize = positiveOption('batchSize', options.batchSize) ?? 1;
    if (capacity > this.config.maxSeqLen) {
      throw new InvalidArgumentError(
        'capacity',
        `A KV cache of ${capacity} positions exceeds the model's \`maxSeqLen\` (${this.config.maxSeqLen}).`,
      );
    }
    device.assertActive();
    const what = `a KV cache of ${capacity} positions for ${batchSize} sequence(s)`;
    const kernels = batchSize === 1 ? this.cpu?.kernels : undefined;
    const reservation = (kernels === undefined ? device.ledger : cpuKernelsLedger).reserve(what, {
      kvCache: kvCacheBytes(this.cacheShape, capacity, batchSize),
    });
    try {
      return (
        this.runtime?.createCache(capacity, batchSize, reservation) ??
        new KVCache(device, this.cacheShape, capacity, batchSize, reservation, { kernels })
      );
    } catch (error) {
      reservation.release();
      throw error;
    }
  }

  /**
   * Generates tokens after `prompt`, yielding each as soon as it is chosen; the generator's return
   * value is the whole {@link GenerationResult}. See `generate`.
   */
  generate(prompt: readonly number[] | Int32Array, options: GenerationOptions = {}): AsyncGenerator<GeneratedToken, GenerationResult, undefined> {
    return generate(this, prompt, options);
  }

  /** Runs {@link TransformerDecoderModel.generate} to the end and returns its result. */
  async generateAll(prompt: readonly number[] | Int32Array, options: GenerationOptions = {}): Promise<GenerationResult> {
    const run = this.generate(prompt, options);
    for (;;) {
      const step = await run.next();
      if (step.done === true) {
        return step.value;
      }
    }
  }

  /**
   * The loaded weights, read back from the device in fs2 names and layout (see
   * `Module.stateEntries`): what `saveModel` writes and a family's HF export converts.
   *
   * @throws ModelNotLoadedError when the model is shape-only, not loaded or disposed.
   */
  override *stateEntries(): Generator<StateEntry> {
    this.assertReady();
    yield* super.stateEntries();
  }

  /** Frees every tensor and the memory reservation; the model cannot be used afterwards. */
  dispose(): void {
    if (this.state === 'disposed') {
      return;
    }
    this.unload();
    this.runtime?.dispose();
    this.reservation?.release();
    this.kernelReservation?.release();
    this.state = 'disposed';
  }

  override unload(): void {
    this.cpu?.dispose();
    this.cpu = undefined;
    super.unload();
  }

  private requireDevice(): Device {
    if (this.state === 'disposed') {
      throw new ModelNotLoadedError('disposed');
    }
    if (this.device === undefined) {
      throw new ModelNotLoadedError('shape_only');
    }
    return this.device;
  }

  private assertReady(): Device {
    const device = this.requireDevice();
    if (this.state !== 'loaded') {
      throw new ModelNotLoadedError('not_loaded');
    }
    device.assertActive();
    return device;
  }

  /**
   * Checks `tokens` (equal lengths, ids inside the vocabulary) and packs them batch-major.
   *
   * @throws InvalidArgumentError naming the first offending sequence and position.
   */
  tokenIds(tokens: TokenInput): { ids: Int32Array; batchSize: number; length: number } {
    const rows: readonly (readonly number[] | Int32Array)[] =
      tokens instanceof Int32Array || typeof tokens[0] === 'number' || tokens.length === 0
        ? [tokens as readonly number[] | Int32Array]
        : (tokens as readonly (readonly number[] | Int32Array)[]);
    const length = rows[0]?.length ?? 0;
    if (length === 0) {
      throw new InvalidArgumentError('tokens', 'The model needs at least one token.');
    }
    const ids = new Int32Array(rows.length * length);
    rows.forEach((row, b) => {
      if (row.length !== length) {
        throw new InvalidArgumentError(
          'tokens',
          `Every sequence of a batch must have the same length: sequence 0 has ${length} tokens, sequence ${b} has ${row.length}.`,
        );
      }
      for (let t = 0; t < length; t++) {
        const id = row[t] as number;
        if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize) {
          throw new InvalidArgumentError(
            'tokens',
            `The token id ${id} at position ${t} of sequence ${b} is outside the vocabulary [0, ${this.config.vocabSize}).`,
          );
        }
        ids[b * length + t] = id;
      }
    });
    return { ids, batchSize: rows.length, length };
  }

  /** One pass over `length` positions of `batchSize` sequences (ids batch-major). */
  private run(
    ids: Int32Array,
    batchSize: number,
    length: number,
    cache: KVCache | undefined,
    logits: 'all' | 'last' | 'none',
  ): tf.Tensor | undefined {
    const device = this.assertReady();
    const c = this.config;
    const start = cache?.length ?? 0;
    if (cache !== undefined) {
      if (cache.device !== device) {
        throw new InvalidArgumentError('cache', `The KV cache lives on the \`${cache.device.name}\` device, the model on \`${device.name}\`.`);
      }
      if (cache.batchSize !== batchSize) {
        throw new InvalidArgumentError('cache', `The KV cache holds ${cache.batchSize} sequence(s), but ${batchSize} were given.`);
      }
      const shape = this.cacheShape;
      if (cache.shape.numLayers !== shape.numLayers || cache.shape.numKvHeads !== shape.numKvHeads || cache.shape.headDim !== shape.headDim) {
        throw new InvalidArgumentError('cache', 'The KV cache was made for a model of another shape.');
      }
      cache.assertFits(length);
    }
    if (start + length > c.maxSeqLen) {
      throw new InvalidArgumentError(
        'tokens',
        `Positions ${start} to ${start + length - 1} exceed the model's \`maxSeqLen\` (${c.maxSeqLen}).`,
      );
    }
    if (this.runtime !== undefined) {
      return this.runtime.run(ids, batchSize, length, cache, logits);
    }
    if (this.cpu !== undefined && batchSize === 1 && (cache === undefined || cache.kernels === this.cpu.kernels)) {
      return this.cpu.run(ids, cache, logits);
    }
    if (cache?.kernels !== undefined) {
      throw new InvalidArgumentError('cache', "The KV cache lives in the CPU kernels' memory, which this model does not run on.");
    }
    const keyStart = cache === undefined ? 0 : firstAttendedKey(start, c.slidingWindow);
    const maskValues = attentionMask(start, length, keyStart, c.slidingWindow);
    const rotary = this.rotary.tables(start, length);
    const mask = maskValues === undefined ? undefined : tf.tensor2d(maskValues, [length, start + length - keyStart]);
    let x: tf.Tensor2D | undefined;
    try {
      x = tf.tidy(() => this.embed.apply(tf.tensor1d(ids, 'int32')));
      for (let layer = 0; layer < this.layers.length; layer++) {
        const ctx: AttentionContext = { batchSize, length, start, keyStart, rotary, mask, cache, layer, device };
        // One tidy per layer (inside apply): a long prefill never holds two layers' intermediates.
        const next = (this.layers[layer] as TransformerDecoderLayer).apply(x, ctx);
        x.dispose();
        x = next;
      }
      if (cache !== undefined) {
        cache.length = start + length;
      }
      if (logits === 'none') {
        return undefined;
      }
      const hidden = x;
      return tf.tidy(() => {
        let h: tf.Tensor2D = hidden;
        if (logits === 'last' && length > 1) {
          h = tf.reshape(tf.slice(tf.reshape(hidden, [batchSize, length, c.modelDim]), [0, length - 1, 0], [batchSize, 1, c.modelDim]), [
            batchSize,
            c.modelDim,
          ]);
        }
        const normed = this.layerNorm.apply(h);
        const out = this.finalProj === undefined ? this.embed.project(normed) : this.finalProj.apply(normed);
        return logits === 'last' ? out : tf.reshape(out, [batchSize, length, c.vocabSize]);
      });
    } finally {
      x?.dispose();
      rotary.cos.dispose();
      rotary.sin.dispose();
      mask?.dispose();
    }
  }
}

function positiveOption(name: string, value: number | undefined): number | undefined {
  if (value !== undefined && (!Number.isSafeInteger(value) || value <= 0)) {
    throw new InvalidArgumentError(name, `\`${name}\` must be a positive integer, but is ${value}.`);
  }
  return value;
}
