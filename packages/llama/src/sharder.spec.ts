import { describe, expect, it } from '@jest/globals';

import { TensorParallelSplitError } from '@fs2/core';

import { llama3_8b, llama2_7b, llama3_2_1b } from './archs.js';
import { llamaSharder } from './sharder.js';

describe('llamaSharder', () => {
  it('splits the vocabulary of LLaMA 3 and the model dim of LLaMA 2, as fairseq2 does', () => {
    expect(llamaSharder(llama3_8b(), 8)).toEqual({ embedding: 'vocab', finalProjection: 'vocab' });
    expect(llamaSharder(llama2_7b(), 8)).toEqual({ embedding: 'model_dim', finalProjection: 'vocab' });
    // Tied embeddings (Llama 3.2 1B): the vocabulary-sharded embedding is the head.
    expect(llamaSharder(llama3_2_1b(), 8)).toEqual({ embedding: 'vocab', finalProjection: 'vocab' });
  });

  it('refuses a split that does not divide the heads, naming every field', () => {
    const call = () => llamaSharder(llama3_8b(), 3);
    expect(call).toThrow(TensorParallelSplitError);
    expect(call).toThrow(
      'The llama model cannot be split over 3 tensor-parallel ranks: `num_attn_heads` (32) is not a multiple of 3; `num_key_value_heads` (8) is not a multiple of 3; the feed-forward width (14336) is not a multiple of 3.',
    );
    expect(() => llamaSharder(llama3_8b(), 16)).toThrow(
      'The llama model cannot be split over 16 tensor-parallel ranks: `num_key_value_heads` (8) is not a multiple of 16.',
    );
    expect(() => llamaSharder({ ...llama2_7b(), model_dim: 4100, vocab_size: 32001 }, 2)).toThrow(
      'The llama model cannot be split over 2 tensor-parallel ranks: `vocab_size` (32001) is not a multiple of 2.',
    );
  });
});
