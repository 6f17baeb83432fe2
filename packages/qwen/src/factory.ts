import {
  NotSupportedError,
  TransformerDecoderModel,
  type ModelFactoryContext,
  type TransformerDecoderConfig,
} from '@fs2/core';

import type { QwenConfig } from './config.js';

/**
 * A {@link QwenConfig} as the generic decoder description fs2's TF.js model runs (fairseq2's
 * `QwenFactory`): pre-norm RMSNorm layers (eps `norm_eps`), grouped-query attention with q/k/v
 * biases (`qkv_proj_bias`) and q/k RMSNorms over the head width (`q_norm`, `k_norm`), rotary
 * encodings with θ `rope_theta` in the rotate-half layout HF checkpoints use, a SwiGLU network of
 * width `ffn_inner_dim`, and an output projection tied to the embedding or not.
 *
 * @throws NotSupportedError when `q_norm` and `k_norm` differ (no Qwen model does that).
 */
export function qwenDecoderConfig(config: QwenConfig): TransformerDecoderConfig {
  if (config.q_norm !== config.k_norm) {
    throw new NotSupportedError(
      `The qwen model family normalises queries and keys together: \`q_norm\` (${config.q_norm}) and \`k_norm\` (${config.k_norm}) must be equal.`,
    );
  }
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
    tiedEmbeddings: config.tied_embeddings,
    qkvBias: config.qkv_proj_bias,
    qkNorm: config.q_norm,
    maxSeqLen: config.max_seq_len,
  };
}

/**
 * Builds a Qwen model: on `context.device`, or shape-only (no device, nothing allocated) for
 * counting parameters. The weights come later, through `loadState` (the hub does it).
 *
 * @throws NotSupportedError when the gangs ask for tensor parallelism (the qwen sharder is not
 *   part of this release), or when `q_norm` and `k_norm` differ.
 * @throws DecoderConfigError when the config does not describe a valid decoder.
 * @throws HeapBudgetExceededError when the model does not fit the device.
 */
export function createQwenModel(config: QwenConfig, context: ModelFactoryContext): TransformerDecoderModel {
  if (context.gangs.tp.size > 1) {
    throw new NotSupportedError(
      `The qwen model family cannot split a model over a tensor-parallel gang of ${context.gangs.tp.size} ranks yet.`,
    );
  }
  return new TransformerDecoderModel(qwenDecoderConfig(config), context.device === undefined ? {} : { device: context.device });
}
