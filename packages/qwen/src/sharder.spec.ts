import { describe, expect, it } from '@jest/globals';

import { TensorParallelSplitError } from '@fs2/core';

import { qwen25_0_5b, qwen3_8b } from './archs.js';
import { qwenSharder } from './sharder.js';

describe('qwenSharder', () => {
  it('splits the vocabulary, tied embeddings included (the embedding is then the vocabulary-parallel head)', () => {
    expect(qwenSharder(qwen3_8b(), 8)).toEqual({ embedding: 'vocab', finalProjection: 'vocab' });
    expect(qwen25_0_5b().tied_embeddings).toBe(true);
    expect(qwenSharder(qwen25_0_5b(), 2)).toEqual({ embedding: 'vocab', finalProjection: 'vocab' });
  });

  it('refuses a split that does not divide, naming every field', () => {
    // Qwen 2.5 0.5B: 14 query heads, 2 key/value heads, ffn 4864, vocabulary 151936.
    const call = () => qwenSharder(qwen25_0_5b(), 4);
    expect(call).toThrow(TensorParallelSplitError);
    expect(call).toThrow(
      'The qwen model cannot be split over 4 tensor-parallel ranks: `num_attn_heads` (14) is not a multiple of 4; `num_key_value_heads` (2) is not a multiple of 4.',
    );
  });
});
