import {
  DecoderTensorParallelism,
  TransformerDecoderModel,
  type ModelFactoryContext,
  type TransformerDecoderConfig,
} from '@fs2/core';

import type { MistralConfig } from './config.js';
import { mistralSharder } from './sharder.js';

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
 * @throws TensorParallelSplitError when the tensor-parallel gang cannot split the model ({@link mistralSharder}).
 * @throws DecoderConfigError when the config does not describe a valid decoder.
 * @throws HeapBudgetExceededError when the model does not fit the device.
 */
export function createMistralModel(config: MistralConfig, context: ModelFactoryContext): TransformerDecoderModel {
  const tp = context.gangs.tp;
  const tensorParallel = tp.size > 1 ? new DecoderTensorParallelism(tp, mistralSharder(config, tp.size)) : undefined;
  return new TransformerDecoderModel(mistralDecoderConfig(config), {
    ...(context.device === undefined ? {} : { device: context.device }),
    ...(tensorParallel === undefined ? {} : { tensorParallel }),
  });
}
