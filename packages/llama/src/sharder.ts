import { checkTensorParallelSplit, type DecoderTensorParallelLayout, type SplitProblem } from '@fs2/core';

import { llamaFfnInnerDim, type LlamaConfig } from './config.js';

/**
 * The tensor-parallel layout of LLaMA models (fairseq2's `LLaMAFactory` with gangs,
 * fairseq2-reference.md §3.4): q/k/v and gate/inner column-parallel (whole query heads per rank,
 * key/value heads split the same way), attention and feed-forward output projections row-parallel,
 * norms replicated; the embedding split along the model dim with `shard_embed_dim` (LLaMA 1 and 2,
 * fairseq2's `ShardedEmbedding`) or along the vocabulary otherwise (LLaMA 3, `VocabShardedEmbedding`);
 * the output projection column-parallel over the vocabulary with the logits gathered. Tied
 * embeddings (Llama 3.2 1B/3B), which fairseq2 refuses under tensor parallelism, project through the
 * sharded embedding.
 *
 * @throws TensorParallelSplitError naming each of `num_attn_heads`, `num_key_value_heads`, the
 *   feed-forward width, `model_dim` (with `shard_embed_dim`) and `vocab_size` that `tpSize` does not
 *   divide.
 */
export function llamaSharder(config: LlamaConfig, tpSize: number): DecoderTensorParallelLayout {
  const dims: SplitProblem[] = [
    { label: '`num_attn_heads`', value: config.num_attn_heads },
    { label: '`num_key_value_heads`', value: config.num_key_value_heads },
    { label: 'the feed-forward width', value: llamaFfnInnerDim(config) },
  ];
  if (config.shard_embed_dim) {
    dims.push({ label: '`model_dim`', value: config.model_dim });
  }
  if (!config.shard_embed_dim || !config.tied_embeddings) {
    dims.push({ label: '`vocab_size`', value: config.vocab_size });
  }
  checkTensorParallelSplit('The llama model', tpSize, dims);
  return { embedding: config.shard_embed_dim ? 'model_dim' : 'vocab', finalProjection: 'vocab' };
}
