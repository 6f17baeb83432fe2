import type * as tf from '@tensorflow/tfjs';

import type { HeapReservation } from './devices/HeapLedger.js';
import type { KVCache } from './KVCache.js';
import type { Module } from './Module.js';
import type { TokenSampler } from './TokenSampler.js';

/**
 * A device's own implementation of a `TransformerDecoderModel`: its weight layout, kernels and KV
 * cache (the `webgpu` device's WGSL kernels, say). A device provider offers one through
 * `DeviceProvider.createDecoderRuntime`; the model then delegates loading, forward passes, caches
 * and token generation to it, and keeps validation (token ids, shapes, state keys) and its public
 * API. Devices without one run the TF.js modules.
 */
export interface DecoderRuntime {
  /**
   * The parameters `loadModuleState` streams a state into: a module tree with the same parameter
   * names and shapes as the model's (`model.parameterShapes()`).
   */
  readonly weights: Module;
  /**
   * One pass over `length` positions of `batchSize` sequences (`ids` batch-major), continuing
   * `cache` when given (and advancing its `length`): logits `[batch, length, vocab]` (`all`),
   * `[batch, vocab]` (`last`), or none. The model has validated the ids, the cache and the lengths.
   */
  run(ids: Int32Array, batchSize: number, length: number, cache: KVCache | undefined, logits: 'all' | 'last' | 'none'): tf.Tensor | undefined;
  /** A KV cache for `capacity` positions of `batchSize` sequences; `reservation` is released with it. */
  createCache(capacity: number, batchSize: number, reservation: HeapReservation): KVCache;
  /**
   * Starts generating after `prompt` into the empty `cache` (one sequence): see {@link TokenStream}.
   * `maxTokens` bounds how many tokens will be asked for, so that a runtime may compute ahead.
   */
  openTokenStream(prompt: Int32Array, cache: KVCache, sampler: TokenSampler, maxTokens: number): TokenStream;
  /** Frees everything the runtime holds (weights, constants, scratch memory). */
  dispose(): void;
}

/**
 * The tokens of one generation, produced one at a time: the first from the prompt, each next one
 * after feeding back the previous. The consumer stops asking when it has enough; the producer may
 * already have computed ahead (up to its `maxTokens`) and discards that work.
 */
export interface TokenStream {
  /** The next token. The first call prefills the prompt. */
  next(): Promise<number>;
  /** Positions still free in the cache once the last returned token is fed back (0: it cannot be). */
  readonly remaining: number;
  /** Frees what the stream holds besides the cache (called once, when the generation ends). */
  close(): void;
}
