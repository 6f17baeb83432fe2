import { describe, expect, it } from '@jest/globals';

import { CheckpointError } from '../checkpoint/errors.js';
import { ConfigFileReader } from './ConfigFileReader.js';
import { readHuggingFaceDecoderConfig } from './huggingFaceDecoderConfig.js';

const PATH = '/m/config.json';

/** The fields every decoder config.json has. */
const BASE = {
  model_type: 'llama',
  vocab_size: 32,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 24,
  max_position_embeddings: 128,
};

function message(body: () => unknown): string {
  try {
    body();
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError);
    return (error as Error).message;
  }
  throw new Error('Expected the call to throw.');
}

describe('readHuggingFaceDecoderConfig', () => {
  it('reads the required fields and leaves the omitted ones undefined (null counts as omitted)', () => {
    const config = readHuggingFaceDecoderConfig({ ...BASE, head_dim: null, sliding_window: null, rope_scaling: null }, PATH);

    expect(config).toEqual({
      modelType: 'llama',
      vocabSize: 32,
      hiddenSize: 16,
      numHiddenLayers: 2,
      numAttentionHeads: 4,
      numKeyValueHeads: undefined,
      headDim: undefined,
      intermediateSize: 24,
      rmsNormEps: undefined,
      ropeTheta: undefined,
      ropeScaling: undefined,
      tieWordEmbeddings: undefined,
      maxPositionEmbeddings: 128,
      slidingWindow: undefined,
      useSlidingWindow: undefined,
      attentionBias: undefined,
      mlpBias: undefined,
      bosTokenId: undefined,
      eosTokenIds: [],
      padTokenId: undefined,
    });
  });

  it('reads eos_token_id as one id or a list', () => {
    expect(readHuggingFaceDecoderConfig({ ...BASE, eos_token_id: 2 }, PATH).eosTokenIds).toEqual([2]);
    expect(readHuggingFaceDecoderConfig({ ...BASE, eos_token_id: [128001, 128008, 128009] }, PATH).eosTokenIds).toEqual([128001, 128008, 128009]);
    expect(message(() => readHuggingFaceDecoderConfig({ ...BASE, eos_token_id: [1, -2] }, PATH))).toBe(
      '`eos_token_id` in /m/config.json is expected to be a token id or a list of token ids, but is [1,-2] (list) instead.',
    );
  });

  it('reads llama3 and linear rope_scaling, under rope_type or the older type key; default means none', () => {
    const llama3 = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };

    expect(readHuggingFaceDecoderConfig({ ...BASE, rope_scaling: llama3 }, PATH).ropeScaling).toEqual({
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    });
    expect(readHuggingFaceDecoderConfig({ ...BASE, rope_scaling: { type: 'linear', factor: 2 } }, PATH).ropeScaling).toEqual({ type: 'linear', factor: 2 });
    expect(readHuggingFaceDecoderConfig({ ...BASE, rope_scaling: { rope_type: 'default' } }, PATH).ropeScaling).toBeUndefined();
    expect(message(() => readHuggingFaceDecoderConfig({ ...BASE, rope_scaling: { rope_type: 'dynamic', factor: 2 } }, PATH))).toBe(
      '`rope_scaling` in /m/config.json is of type "dynamic" (string), which fs2 does not implement (it implements `llama3` and `linear`).',
    );
    expect(message(() => readHuggingFaceDecoderConfig({ ...BASE, rope_scaling: { ...llama3, factor: '8' } }, PATH))).toBe(
      '`rope_scaling.factor` in /m/config.json is expected to be a positive number, but is "8" (string) instead.',
    );
    expect(message(() => readHuggingFaceDecoderConfig({ ...BASE, rope_scaling: [8] }, PATH))).toBe(
      '`rope_scaling` in /m/config.json is expected to be an object, but is [8] (list) instead.',
    );
  });

  it('names the field, the file and the value of every type error', () => {
    expect(message(() => readHuggingFaceDecoderConfig({ ...BASE, model_type: 3 }, PATH))).toBe(
      '`model_type` in /m/config.json is expected to be a string, but is 3 (number) instead.',
    );
    expect(message(() => readHuggingFaceDecoderConfig({ ...BASE, num_key_value_heads: 1.5 }, PATH))).toBe(
      '`num_key_value_heads` in /m/config.json is expected to be a positive integer, but is 1.5 (number) instead.',
    );
    expect(message(() => readHuggingFaceDecoderConfig({ ...BASE, tie_word_embeddings: 'yes' }, PATH))).toBe(
      '`tie_word_embeddings` in /m/config.json is expected to be a boolean, but is "yes" (string) instead.',
    );
    const { intermediate_size: _ffn, ...noFfn } = BASE;
    expect(message(() => readHuggingFaceDecoderConfig(noFfn, PATH))).toBe('/m/config.json has no `intermediate_size`.');
  });
});

describe('ConfigFileReader', () => {
  it('reads Meta-style fields: any integer (vocab_size -1), optional numbers, nested objects', () => {
    const reader = new ConfigFileReader({ vocab_size: -1, norm_eps: 1e-5, rope_scaling: { factor: 8 } }, '/m/params.json');

    expect(reader.maybeInteger('vocab_size')).toBe(-1);
    expect(reader.maybePositiveNumber('norm_eps')).toBe(1e-5);
    expect(reader.maybePositiveNumber('rope_theta')).toBeUndefined();
    expect(reader.has('rope_scaling')).toBe(true);
    expect(reader.maybeObject('rope_scaling')?.positiveNumber('factor')).toBe(8);
    expect(message(() => reader.maybeObject('rope_scaling')?.positiveInteger('original_max_position_embeddings'))).toBe(
      '`rope_scaling` in /m/params.json has no `original_max_position_embeddings`.',
    );
    expect(message(() => reader.positiveInteger('vocab_size'))).toBe(
      '`vocab_size` in /m/params.json is expected to be a positive integer, but is -1 (number) instead.',
    );
  });
});
