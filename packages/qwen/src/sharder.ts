import { checkTensorParallelSplit, type DecoderTensorParallelLayout } from '@fs2/core';

import type { QwenConfig } from './config.js';

/**
 * The tensor-parallel layout of Qwen models (fairseq2's `QwenFactory` with gangs,
 * fairseq2-reference.md §3.4): q/k/v (with their biases) and gate/inner column-parallel (whole query
 * heads per rank, key/value heads split the same way), attention and feed-forward output projections
 * row-parallel, norms (the q/k norms included) replicated; the embedding split along the vocabulary
 * and the output projection column-parallel over it, the logits gathered. fairseq2 refuses tied
 * embeddings (Qwen 2.5 0.5B-3B, Qwen 3 0.6B-4B) under tensor parallelism; here the
 * vocabulary-sharded embedding serves as the vocabulary-parallel head.
 *
 * @throws TensorParallelSplitError naming each of `num_attn_heads`, `num_key_value_heads`,
 *   `ffn_inner_dim` and `vocab_size` that `tpSize` does not divide.
 */
export function qwenSharder(config: QwenConfig, tpSize: number): DecoderTensorParallelLayout {
  checkTensorParallelSplit('The qwen model', tpSize, [
    { label: '`num_attn_heads`', value: config.num_attn_heads },
    { label: '`num_key_value_heads`', value: config.num_key_value_heads },
    { label: '`ffn_inner_dim`', value: config.ffn_inner_dim },
    { label: '`vocab_size`', value: config.vocab_size },
  ]);
  return { embedding: 'vocab', finalProjection: 'vocab' };
}
