import {
  NotSupportedError,
  TransformerDecoderModel,
  type ModelFactoryContext,
  type TransformerDecoderConfig,
} from '@fs2/core';

import type { MistralConfig } from './config.js';

/**
 * A {@link MistralConfig} as the generic decoder description fs2's TF.js model runs (fairseq2's
 * `MistralFactory`): pre-norm RMSNorm layers, grouped-query attention without biases over a
 * sliding window of `attn_window_len` positions, rotary encodings with θ `rope_theta`, a SwiGLU
 * network of width `ffn_inner_dim`, and an untied output projection.
 */
export function mistralDecoderConfig(config: MistralConfig): TransformerDecoderConfig {
  return {
    vocabSize: config.vocab_size,
    modelDim: config.model_dim,
    numLayers: config.num_layers,
    numHeads: config.num_attn_heads,
    numKvHeads: config.num_key_value_heads,
    ...(config.head_dim === null ? {} : { headDim: config.head_dim }),
    ffnInnerDim: config.ffn_inner_dim,
    normEps: config.norm_eps,
    ropeTheta: config.rope_theta,
    ...(config.attn_window_len === null ? {} : { slidingWindow: config.attn_window_len }),
    maxSeqLen: config.max_seq_len,
  };
}

/**
 * Builds a Mistral model: on `context.device`, or shape-only (no device, nothing allocated) for
 * counting parameters. The weights come later, through `loadState` (the hub does it).
 *
 * @throws NotSupportedError when the gangs ask for tensor parallelism (the mistral sharder is not
 *   part of this release).
 * @throws DecoderConfigError when the config does not describe a valid decoder.
 * @throws HeapBudgetExceededError when the model does not fit the device.
 */
export function createMistralModel(config: MistralConfig, context: ModelFactoryContext): TransformerDecoderModel {
  if (context.gangs.tp.size > 1) {
    throw new NotSupportedError(
      `The mistral model family cannot split a model over a tensor-parallel gang of ${context.gangs.tp.size} ranks yet.`,
    );
  }
  return new TransformerDecoderModel(mistralDecoderConfig(config), context.device === undefined ? {} : { device: context.device });
}
