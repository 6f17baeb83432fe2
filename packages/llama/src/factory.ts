import {
  NotSupportedError,
  TransformerDecoderModel,
  type ModelFactoryContext,
  type TransformerDecoderConfig,
} from '@fs2/core';

import { llamaFfnInnerDim, type LlamaConfig } from './config.js';

/**
 * A {@link LlamaConfig} as the generic decoder description fs2's TF.js model runs (fairseq2's
 * `LLaMAFactory`): pre-norm RMSNorm layers, grouped-query attention without biases, rotary
 * encodings with θ `rope_theta` (Llama 3.1 scaling with `use_scaled_rope`), a SwiGLU network of
 * the effective width {@link llamaFfnInnerDim}, and an output projection tied to the embedding or
 * not.
 */
export function llamaDecoderConfig(config: LlamaConfig): TransformerDecoderConfig {
  const [lowFreqFactor, highFreqFactor] = config.rope_scale.frequency_factors;
  return {
    vocabSize: config.vocab_size,
    modelDim: config.model_dim,
    numLayers: config.num_layers,
    numHeads: config.num_attn_heads,
    numKvHeads: config.num_key_value_heads,
    ...(config.head_dim === null ? {} : { headDim: config.head_dim }),
    ffnInnerDim: llamaFfnInnerDim(config),
    normEps: config.norm_eps,
    ropeTheta: config.rope_theta,
    ...(config.use_scaled_rope
      ? {
          ropeScaling: {
            type: 'llama3' as const,
            factor: config.rope_scale.factor,
            lowFreqFactor,
            highFreqFactor,
            originalMaxPositionEmbeddings: config.rope_scale.original_context_length,
          },
        }
      : {}),
    tiedEmbeddings: config.tied_embeddings,
    maxSeqLen: config.max_seq_len,
  };
}

/**
 * Builds a LLaMA model: on `context.device`, or shape-only (no device, nothing allocated) for
 * counting parameters. The weights come later, through `loadState` (the hub does it).
 *
 * @throws NotSupportedError when the gangs ask for tensor parallelism (the llama sharder is not
 *   part of this release).
 * @throws DecoderConfigError when the config does not describe a valid decoder.
 * @throws HeapBudgetExceededError when the model does not fit the device.
 */
export function createLlamaModel(config: LlamaConfig, context: ModelFactoryContext): TransformerDecoderModel {
  if (context.gangs.tp.size > 1) {
    throw new NotSupportedError(
      `The llama model family cannot split a model over a tensor-parallel gang of ${context.gangs.tp.size} ranks yet.`,
    );
  }
  return new TransformerDecoderModel(llamaDecoderConfig(config), context.device === undefined ? {} : { device: context.device });
}
