import { describe, expect, it } from '@jest/globals';

import { TensorParallelSplitError } from '@fs2/core';

import { mistral_7b } from './archs.js';
import { mistralSharder } from './sharder.js';

describe('mistralSharder', () => {
  it("keeps the embedding and the head whole on every rank, as fairseq2's Mistral factory does", () => {
    expect(mistralSharder(mistral_7b(), 8)).toEqual({ embedding: 'replicated', finalProjection: 'replicated' });
  });

  it('refuses a split that does not divide, naming every field', () => {
    // Mistral 7B: 32 query heads, 8 key/value heads, ffn 14336.
    const call = () => mistralSharder(mistral_7b(), 16);
    expect(call).toThrow(TensorParallelSplitError);
    expect(call).toThrow('The mistral model cannot be split over 16 tensor-parallel ranks: `num_key_value_heads` (8) is not a multiple of 16.');
  });
});
