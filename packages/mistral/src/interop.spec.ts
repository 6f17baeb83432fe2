import { describe, expect, it } from '@jest/globals';

import { CheckpointError, type SourceTensor, type StateEntry } from '@fs2/core';

import { caught } from '../../../test/support/assets.js';
import { mistral_7b, mistral_7b_v03 } from './archs.js';
import type { MistralConfig } from './config.js';
import { mistralHuggingFaceInterop, mistralMetaInterop, mistralReferenceConverter } from './interop.js';

/** transformers' config.json of mistralai/Mistral-7B-v0.1, as published. */
const MISTRAL_7B_V01_CONFIG_JSON = {
  architectures: ['MistralForCausalLM'],
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 4096,
  initializer_range: 0.02,
  intermediate_size: 14336,
  max_position_embeddings: 32768,
  model_type: 'mistral',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  sliding_window: 4096,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  use_cache: true,
  vocab_size: 32000,
};

/** params.json of Mistral AI's mistral-7B-v0.1 reference release. */
const MISTRAL_7B_V01_PARAMS = { dim: 4096, n_layers: 32, head_dim: 128, hidden_dim: 14336, n_heads: 32, n_kv_heads: 8, norm_eps: 1e-5, sliding_window: 4096, vocab_size: 32000 };

/** params.json of Mistral AI's mistral-7B-v0.3 reference release. */
const MISTRAL_7B_V03_PARAMS = { dim: 4096, n_layers: 32, head_dim: 128, hidden_dim: 14336, n_heads: 32, n_kv_heads: 8, norm_eps: 1e-5, vocab_size: 32768, rope_theta: 1000000.0 };

describe('mistralHuggingFaceInterop', () => {
  it('reads Mistral-7B-v0.1 config.json as mistral_7b, with its sliding window (context from max_position_embeddings)', () => {
    expect(mistralHuggingFaceInterop.fromConfigJson(MISTRAL_7B_V01_CONFIG_JSON, '/m/config.json')).toEqual({ ...mistral_7b(), max_seq_len: 32_768 });
  });

  it('reads v0.3 (vocabulary 32768, no window, theta 1e6) as mistral_7b_v03', () => {
    const json = { ...MISTRAL_7B_V01_CONFIG_JSON, vocab_size: 32768, sliding_window: null, rope_theta: 1000000.0 };

    expect(mistralHuggingFaceInterop.fromConfigJson(json, '/m/config.json')).toEqual(mistral_7b_v03());
  });

  it('refuses tied embeddings', () => {
    const error = caught(() => mistralHuggingFaceInterop.fromConfigJson({ ...MISTRAL_7B_V01_CONFIG_JSON, tie_word_embeddings: true }, '/m/config.json'));

    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toBe('/m/config.json sets `tie_word_embeddings`, but mistral models have an output projection of their own.');
  });

  it('writes the window as sliding_window and reads it back', () => {
    const json = mistralHuggingFaceInterop.toConfigJson(mistral_7b());

    expect(json).toMatchObject({ model_type: 'mistral', sliding_window: 4096, head_dim: 128, bos_token_id: 1, eos_token_id: 2 });
    expect(mistralHuggingFaceInterop.fromConfigJson(json, '/x')).toEqual(mistral_7b());
    expect(mistralHuggingFaceInterop.toConfigJson(mistral_7b_v03())).toMatchObject({ sliding_window: null, rope_theta: 1_000_000 });
  });
});

describe('mistralMetaInterop', () => {
  it('reads the reference params.json of v0.1 as mistral_7b and of v0.3 as mistral_7b_v03', () => {
    expect(mistralMetaInterop.fromParamsJson(MISTRAL_7B_V01_PARAMS, '/m/params.json', 32_000)).toEqual(mistral_7b());
    expect(mistralMetaInterop.fromParamsJson(MISTRAL_7B_V03_PARAMS, '/m/params.json', 32_768)).toEqual(mistral_7b_v03());
  });

  it('keeps a head width other than dim / n_heads', () => {
    expect(mistralMetaInterop.fromParamsJson({ ...MISTRAL_7B_V01_PARAMS, head_dim: 64 }, '/m/params.json', undefined).head_dim).toBe(64);
  });
});

describe('mistralReferenceConverter', () => {
  it('permutes wk rows per key/value head from interleaved pairs to rotate-half order', () => {
    const config: MistralConfig = { ...mistral_7b(), model_dim: 8, num_attn_heads: 2, num_key_value_heads: 1, num_layers: 1, vocab_size: 10, ffn_inner_dim: 12 };
    const tensor: SourceTensor = { key: 'layers.0.attention.wk.weight', shape: [4, 8], data: Float32Array.from({ length: 32 }, (_, i) => i) };
    const [entry] = [...mistralReferenceConverter.convert(tensor, config, '/ckpt/consolidated.00.pth')] as StateEntry[];

    expect(entry?.name).toBe('decoder.layers.0.self_attn.k_proj.weight');
    // fs2 column c of [in, out] is HF row c; HF rows (0, 1, 2, 3) are Meta rows (0, 2, 1, 3).
    expect([0, 1, 2, 3].map((c) => entry?.data[c])).toEqual([0, 16, 8, 24]);
  });
});
