import { checkTensorParallelSplit, type DecoderTensorParallelLayout } from '@fs2/core';

import type { MistralConfig } from './config.js';

/**
 * The tensor-parallel layout of Mistral models, fairseq2's (`MistralFactory` with gangs,
 * fairseq2-reference.md §3.4): q/k/v and gate/inner column-parallel (whole query heads per rank,
 * key/value heads split the same way), attention and feed-forward output projections row-parallel,
 * norms replicated; the embedding and the output projection are whole on every rank (fairseq2 builds
 * a `StandardEmbedding` and a plain `Linear` for Mistral), so every rank computes the full logits.
 *
 * @throws TensorParallelSplitError naming each of `num_attn_heads`, `num_key_value_heads` and
 *   `ffn_inner_dim` that `tpSize` does not divide.
 */
export function mistralSharder(config: MistralConfig, tpSize: number): DecoderTensorParallelLayout {
  checkTensorParallelSplit('The mistral model', tpSize, [
    { label: '`num_attn_heads`', value: config.num_attn_heads },
    { label: '`num_key_value_heads`', value: config.num_key_value_heads },
    { label: '`ffn_inner_dim`', value: config.ffn_inner_dim },
  ]);
  return { embedding: 'replicated', finalProjection: 'replicated' };
}
