import * as tf from '@tensorflow/tfjs';

import type { GeneratedToken, GenerationOptions, GenerationResult } from '../nn/generate.js';
import type { TokenInput, TransformerDecoderModel } from '../nn/TransformerDecoderModel.js';

/** Logits read back from a model: row-major values and their shape. */
export interface Logits {
  /** `[batch, length, vocab]` for every position, or `[batch, vocab]` for the last one. */
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Options of {@link CausalLM.logits}. */
export interface LogitsOptions {
  /** `'all'`: every position's logits, `[batch, length, vocab]`; `'last'`: the last one's, `[batch, vocab]`. Default: `'all'`. */
  readonly logits?: 'all' | 'last';
}

/**
 * What a program (the `fs2` CLI, a server) needs of a causal language model, wherever it runs: in
 * this thread ({@link localCausalLM} over a `TransformerDecoderModel`) or split over worker threads
 * (a `TensorParallelModel`). Everything that may cross threads is asynchronous.
 */
export interface CausalLM {
  /** The vocabulary size: token ids are in `[0, vocabSize)`. */
  readonly vocabSize: number;
  /** The longest sequence the model supports. */
  readonly maxSeqLen: number;
  /** The most positions a generation (prompt and new tokens) can use: the model's KV cache. */
  readonly maxCacheLength: number;
  /** The number of tensor-parallel ranks the model runs on (1 for a whole model). */
  readonly tensorParallelSize: number;
  /** The logits of one full forward pass over `tokens` (one sequence or a batch of equal lengths). */
  logits(tokens: TokenInput, options?: LogitsOptions): Promise<Logits>;
  /**
   * Generates tokens after `prompt`, yielding each as soon as it is chosen; the return value is the
   * whole result (see `generate` of `@fs2/core`'s nn).
   */
  generate(prompt: readonly number[] | Int32Array, options?: GenerationOptions): AsyncGenerator<GeneratedToken, GenerationResult, undefined>;
  /** Runs {@link CausalLM.generate} to the end and returns its result. */
  generateAll(prompt: readonly number[] | Int32Array, options?: GenerationOptions): Promise<GenerationResult>;
  /** Frees the model (its tensors, its workers). Using it afterwards fails. */
  dispose(): Promise<void>;
}

/** A local `TransformerDecoderModel` as a {@link CausalLM}; disposing it disposes the model. */
export function localCausalLM(model: TransformerDecoderModel): CausalLM {
  return {
    vocabSize: model.config.vocabSize,
    maxSeqLen: model.config.maxSeqLen,
    maxCacheLength: model.maxCacheLength,
    tensorParallelSize: model.tensorParallel?.size ?? 1,
    async logits(tokens, options = {}) {
      const tensor = model.forward(tokens, { logits: options.logits ?? 'all' });
      try {
        const data = (await tensor.data()) as Float32Array;
        // The cpu backend's data() returns the tensor's own storage (js-ecosystem.md §2.4).
        return { shape: [...tensor.shape], data: tf.getBackend() === 'cpu' ? data.slice() : data };
      } finally {
        tensor.dispose();
      }
    },
    generate: (prompt, options) => model.generate(prompt, options),
    generateAll: (prompt, options) => model.generateAll(prompt, options),
    async dispose() {
      model.dispose();
    },
  };
}
