import { describe, expect, it } from '@jest/globals';

import {
  CheckpointError,
  TensorShapeError,
  UnmappedKeyError,
  resolveTransformerDecoderConfig,
  type SourceTensor,
  type StateEntry,
} from '@fs2/core';

import { caught } from '../../../test/support/assets.js';
import { llama2_7b, llama3_1_8b, llama3_2_1b, llamaDefaultConfig } from './archs.js';
import type { LlamaConfig } from './config.js';
import { llamaDecoderConfig } from './factory.js';
import {
  LLAMA_HF_EXPORT_KEY_MAP,
  llamaHuggingFaceConverter,
  llamaHuggingFaceInterop,
  llamaMetaConverter,
  llamaMetaInterop,
  metaLlamaFfnDim,
} from './interop.js';

const PATH = '/ckpt/model.safetensors';

/** A tiny llama: 2 query heads and 1 kv head of width 4, model dim 8. */
function tinyConfig(overrides: Partial<LlamaConfig> = {}): LlamaConfig {
  return {
    ...llamaDefaultConfig(),
    model_dim: 8,
    num_layers: 1,
    num_attn_heads: 2,
    num_key_value_heads: 1,
    vocab_size: 10,
    ffn_inner_dim: 12,
    ffn_inner_dim_scale: 1,
    ffn_inner_dim_multiple_of: 1,
    ...overrides,
  };
}

/** A tensor whose element i is i (so a permutation or transposition shows). */
function counting(key: string, shape: readonly number[]): SourceTensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return { key, shape, data: Float32Array.from({ length: size }, (_, i) => i) };
}

function convertAll(converter: typeof llamaHuggingFaceConverter, tensor: SourceTensor, config: LlamaConfig): StateEntry[] {
  return [...converter.convert(tensor, config, PATH)];
}

/** Row `r` of a `[rows, cols]` PyTorch weight, as converted to fs2's `[cols, rows]`: column `r`. */
function column(entry: StateEntry, c: number): number[] {
  const [rows, cols] = entry.shape as [number, number];
  return Array.from({ length: rows }, (_, r) => entry.data[r * cols + c] as number);
}

describe('llamaHuggingFaceConverter', () => {
  it('recognises HF checkpoints by their embedding key', () => {
    expect(llamaHuggingFaceConverter.matches(new Set(['model.embed_tokens.weight', 'lm_head.weight']))).toBe(true);
    expect(llamaHuggingFaceConverter.matches(new Set(['tok_embeddings.weight']))).toBe(false);
  });

  it('renames and transposes a linear weight from [out, in] to [in, out], rows kept in rotate-half order', () => {
    const [entry] = convertAll(llamaHuggingFaceConverter, counting('model.layers.0.self_attn.q_proj.weight', [8, 8]), tinyConfig());

    expect(entry?.name).toBe('decoder.layers.0.self_attn.q_proj.weight');
    expect(entry?.shape).toEqual([8, 8]);
    // HF row r (elements 8r .. 8r + 7) is fs2 column r.
    expect(column(entry as StateEntry, 3)).toEqual([24, 25, 26, 27, 28, 29, 30, 31]);
  });

  it('keeps the embedding [vocab, dim] as is and maps up/down/gate and the norms', () => {
    const config = tinyConfig();
    const embed = convertAll(llamaHuggingFaceConverter, counting('model.embed_tokens.weight', [10, 8]), config)[0] as StateEntry;
    expect(embed.name).toBe('decoder_frontend.embed.weight');
    expect(Array.from(embed.data.subarray(0, 3))).toEqual([0, 1, 2]);
    const names = [
      'model.layers.0.mlp.up_proj.weight',
      'model.layers.0.mlp.down_proj.weight',
      'model.layers.0.mlp.gate_proj.weight',
      'model.layers.0.input_layernorm.weight',
      'model.layers.0.post_attention_layernorm.weight',
      'model.norm.weight',
    ].map((key) => {
      const shape = key.includes('norm') ? [8] : key.includes('down') ? [8, 12] : [12, 8];
      return convertAll(llamaHuggingFaceConverter, counting(key, shape), config)[0]?.name;
    });
    expect(names).toEqual([
      'decoder.layers.0.ffn.inner_proj.weight',
      'decoder.layers.0.ffn.output_proj.weight',
      'decoder.layers.0.ffn.gate_proj.weight',
      'decoder.layers.0.self_attn_layer_norm.weight',
      'decoder.layers.0.ffn_layer_norm.weight',
      'decoder.layer_norm.weight',
    ]);
  });

  it('converts lm_head into final_proj when untied, and drops it when tied', () => {
    const untied = convertAll(llamaHuggingFaceConverter, counting('lm_head.weight', [10, 8]), tinyConfig());
    expect(untied.map((e) => [e.name, e.shape])).toEqual([['final_proj.weight', [8, 10]]]);

    expect(convertAll(llamaHuggingFaceConverter, counting('lm_head.weight', [10, 8]), tinyConfig({ tied_embeddings: true }))).toEqual([]);
  });

  it('drops the rotary buffers old transformers versions saved, without reading them', () => {
    expect(llamaHuggingFaceConverter.isIgnored?.('model.layers.0.self_attn.rotary_emb.inv_freq')).toBe(true);
    expect(llamaHuggingFaceConverter.isIgnored?.('model.layers.0.self_attn.q_proj.weight')).toBe(false);
    expect(llamaMetaConverter.isIgnored?.('rope.freqs')).toBe(true);
    expect(convertAll(llamaHuggingFaceConverter, counting('model.layers.0.self_attn.rotary_emb.inv_freq', [2]), tinyConfig())).toEqual([]);
  });

  it('refuses a key of no known parameter, naming the key, the file and the key map', () => {
    const error = caught(() => convertAll(llamaHuggingFaceConverter, counting('model.layers.0.mlp.fc1.weight', [12, 8]), tinyConfig()));

    expect(error).toBeInstanceOf(UnmappedKeyError);
    expect(error.message).toBe(
      'model.layers.0.mlp.fc1.weight in /ckpt/model.safetensors does not match any entry of the llama Hugging Face key map.',
    );
    expect(error).toMatchObject({ path: PATH, tensor: 'model.layers.0.mlp.fc1.weight' });
  });

  it('refuses a parameter the configuration does not have (a bias)', () => {
    const error = caught(() => convertAll(llamaHuggingFaceConverter, counting('model.layers.0.self_attn.q_proj.bias', [8]), tinyConfig()));

    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toBe(
      "model.layers.0.self_attn.q_proj.bias in /ckpt/model.safetensors is the llama parameter decoder.layers.0.self_attn.q_proj.bias, which the model's configuration does not have.",
    );
  });

  it('refuses a tensor of the wrong shape, naming it with both shapes in the checkpoint layout', () => {
    const error = caught(() => convertAll(llamaHuggingFaceConverter, counting('model.layers.0.self_attn.k_proj.weight', [8, 8]), tinyConfig()));

    expect(error).toBeInstanceOf(TensorShapeError);
    expect(error.message).toBe(
      'model.layers.0.self_attn.k_proj.weight has a shape of [8, 8] in /ckpt/model.safetensors, but a shape of [4, 8] is expected.',
    );
    expect(error).toMatchObject({ expected: [4, 8], actual: [8, 8] });
  });
});

describe('llamaMetaConverter', () => {
  it('recognises Meta checkpoints by their embedding key', () => {
    expect(llamaMetaConverter.matches(new Set(['tok_embeddings.weight', 'output.weight']))).toBe(true);
    expect(llamaMetaConverter.matches(new Set(['model.embed_tokens.weight']))).toBe(false);
  });

  it('permutes wq rows per query head from interleaved pairs to rotate-half order', () => {
    // Head width 4: Meta rows (0, 1) and (2, 3) are the rotary pairs; rotate-half pairs rows (0, 2) and (1, 3).
    const [entry] = [...llamaMetaConverter.convert(counting('layers.0.attention.wq.weight', [8, 8]), tinyConfig(), PATH)];
    const firstElementOfEachRow = Array.from({ length: 8 }, (_, c) => column(entry as StateEntry, c)[0]);

    expect(entry?.name).toBe('decoder.layers.0.self_attn.q_proj.weight');
    // fs2 row c * 2 + j of a head comes from Meta row 2j + c: head 0 = Meta rows 0, 2, 1, 3; head 1 = 4, 6, 5, 7.
    expect(firstElementOfEachRow).toEqual([0, 16, 8, 24, 32, 48, 40, 56]);
  });

  it('permutes wk rows per key/value head, and leaves wv alone', () => {
    const config = tinyConfig();
    const k = [...llamaMetaConverter.convert(counting('layers.0.attention.wk.weight', [4, 8]), config, PATH)][0] as StateEntry;
    const v = [...llamaMetaConverter.convert(counting('layers.0.attention.wv.weight', [4, 8]), config, PATH)][0] as StateEntry;

    expect(Array.from({ length: 4 }, (_, c) => column(k, c)[0])).toEqual([0, 16, 8, 24]);
    expect(Array.from({ length: 4 }, (_, c) => column(v, c)[0])).toEqual([0, 8, 16, 24]);
  });

  it("drops rope.freqs and, with tied embeddings, output.weight; refuses Meta keys it does not know", () => {
    expect([...llamaMetaConverter.convert(counting('rope.freqs', [2]), tinyConfig(), PATH)]).toEqual([]);
    expect([...llamaMetaConverter.convert(counting('output.weight', [10, 8]), tinyConfig({ tied_embeddings: true }), PATH)]).toEqual([]);
    expect(caught(() => [...llamaMetaConverter.convert(counting('layers.0.attention.wqkv.weight', [16, 8]), tinyConfig(), PATH)]).message).toBe(
      'layers.0.attention.wqkv.weight in /ckpt/model.safetensors does not match any entry of the llama Meta reference key map.',
    );
  });
});

/** transformers' config.json of meta-llama/Llama-3.2-1B, as published. */
const LLAMA_3_2_1B_CONFIG_JSON = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 128000,
  eos_token_id: 128001,
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  use_cache: true,
  vocab_size: 128256,
};

/** transformers' config.json of meta-llama/Llama-2-7b-hf as first published: no rope_theta, no head_dim. */
const LLAMA_2_7B_CONFIG_JSON = {
  architectures: ['LlamaForCausalLM'],
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 4096,
  initializer_range: 0.02,
  intermediate_size: 11008,
  max_position_embeddings: 4096,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 32,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  tie_word_embeddings: false,
  torch_dtype: 'float16',
  use_cache: true,
  vocab_size: 32000,
};

describe('llamaHuggingFaceInterop', () => {
  const decoder = (config: LlamaConfig) => resolveTransformerDecoderConfig(llamaDecoderConfig(config));

  it('reads Llama 3.2 1B config.json as the llama3_2_1b architecture (scaling factor 32 from rope_scaling)', () => {
    const config = llamaHuggingFaceInterop.fromConfigJson(LLAMA_3_2_1B_CONFIG_JSON, '/m/config.json');

    expect(decoder(config)).toEqual(decoder(llama3_2_1b()));
    expect(config.rope_scale).toEqual({ factor: 32, frequency_factors: [1, 4], original_context_length: 8192 });
  });

  it('reads a Llama 2 config.json without rope_theta and head_dim with their defaults', () => {
    expect(decoder(llamaHuggingFaceInterop.fromConfigJson(LLAMA_2_7B_CONFIG_JSON, '/m/config.json'))).toEqual(decoder(llama2_7b()));
  });

  it('takes the llama3 scaling factors from rope_scaling rather than hard-coding them', () => {
    const json = { ...LLAMA_3_2_1B_CONFIG_JSON, rope_scaling: { rope_type: 'llama3', factor: 16, low_freq_factor: 2, high_freq_factor: 8, original_max_position_embeddings: 4096 } };

    expect(llamaHuggingFaceInterop.fromConfigJson(json, '/m/config.json').rope_scale).toEqual({
      factor: 16,
      frequency_factors: [2, 8],
      original_context_length: 4096,
    });
  });

  it('defaults a missing num_key_value_heads to the query heads and tie_word_embeddings to false', () => {
    const { num_key_value_heads: _kv, tie_word_embeddings: _tie, ...json } = LLAMA_3_2_1B_CONFIG_JSON;
    const config = llamaHuggingFaceInterop.fromConfigJson(json, '/m/config.json');

    expect([config.num_key_value_heads, config.tied_embeddings]).toEqual([32, false]);
  });

  it('refuses scaling it does not implement, biases, and fields of the wrong type, naming the field and file', () => {
    const read = (json: Record<string, unknown>) => caught(() => llamaHuggingFaceInterop.fromConfigJson(json, '/m/config.json')).message;

    expect(read({ ...LLAMA_3_2_1B_CONFIG_JSON, rope_scaling: { rope_type: 'yarn', factor: 4 } })).toBe(
      '`rope_scaling` in /m/config.json is of type "yarn" (string), which fs2 does not implement (it implements `llama3` and `linear`).',
    );
    expect(read({ ...LLAMA_3_2_1B_CONFIG_JSON, rope_scaling: { type: 'linear', factor: 4 } })).toBe(
      '`rope_scaling` in /m/config.json is of type `linear`, but the llama model family implements only `llama3` scaling.',
    );
    expect(read({ ...LLAMA_3_2_1B_CONFIG_JSON, attention_bias: true })).toBe(
      '/m/config.json sets `attention_bias`, but llama models in the llama model family have no biases.',
    );
    expect(read({ ...LLAMA_3_2_1B_CONFIG_JSON, hidden_size: '2048' })).toBe(
      '`hidden_size` in /m/config.json is expected to be a positive integer, but is "2048" (string) instead.',
    );
    expect(read({ ...LLAMA_3_2_1B_CONFIG_JSON, rope_scaling: { rope_type: 'llama3', factor: 32 } })).toBe(
      '`rope_scaling` in /m/config.json has no `low_freq_factor`.',
    );
    const { vocab_size: _vocab, ...noVocab } = LLAMA_3_2_1B_CONFIG_JSON;
    expect(read(noVocab)).toBe('/m/config.json has no `vocab_size`.');
  });

  it('writes config.json as transformers writes Llama 3.2 1B, and reads its own output back', () => {
    const json = llamaHuggingFaceInterop.toConfigJson(llama3_2_1b());

    expect(json).toEqual({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: 2048,
      intermediate_size: 8192,
      num_hidden_layers: 16,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      head_dim: 64,
      max_position_embeddings: 131072,
      vocab_size: 128256,
      rms_norm_eps: 1e-5,
      rope_theta: 500000,
      rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
      tie_word_embeddings: true,
      attention_bias: false,
      mlp_bias: false,
      hidden_act: 'silu',
      bos_token_id: 128000,
      eos_token_id: 128001,
      pad_token_id: 128004,
      torch_dtype: 'float32',
    });
    expect(decoder(llamaHuggingFaceInterop.fromConfigJson(json, '/m/config.json'))).toEqual(decoder(llama3_2_1b()));
  });

  it('exports fs2 names and layout as HF names and layout', () => {
    const entry: StateEntry = { name: 'decoder.layers.3.self_attn.output_proj.weight', shape: [2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) };
    const [tensor] = [...llamaHuggingFaceInterop.exportTensor(entry, tinyConfig())];

    expect(tensor).toEqual({ key: 'model.layers.3.self_attn.o_proj.weight', shape: [3, 2], data: Float32Array.from([0, 3, 1, 4, 2, 5]) });
    expect(caught(() => LLAMA_HF_EXPORT_KEY_MAP.convert('decoder.layers.0.mystery.weight', 'the exported llama state')).message).toBe(
      'decoder.layers.0.mystery.weight in the exported llama state does not match any entry of the llama Hugging Face export key map.',
    );
  });
});

/** params.json of Meta's Llama-2-7b release. */
const LLAMA_2_7B_PARAMS = { dim: 4096, multiple_of: 256, n_heads: 32, n_layers: 32, norm_eps: 1e-5, vocab_size: -1 };

/** params.json of Meta's Llama-3.1-8B release. */
const LLAMA_3_1_8B_PARAMS = {
  dim: 4096,
  n_layers: 32,
  n_heads: 32,
  n_kv_heads: 8,
  vocab_size: 128256,
  ffn_dim_multiplier: 1.3,
  multiple_of: 1024,
  norm_eps: 1e-5,
  rope_theta: 500000.0,
  use_scaled_rope: true,
};

describe('llamaMetaInterop', () => {
  it('reads Llama 2 params.json (no n_kv_heads, vocab_size -1: the embedding rows) as the llama2_7b architecture', () => {
    expect(llamaMetaInterop.fromParamsJson(LLAMA_2_7B_PARAMS, '/m/params.json', 32_000)).toEqual(llama2_7b());
  });

  it("reads Llama 3.1 params.json as llama3_1_8b, scaling with Meta's hard-coded constants", () => {
    const config = llamaMetaInterop.fromParamsJson(LLAMA_3_1_8B_PARAMS, '/m/params.json', 128_256);

    expect(config).toEqual({ ...llama3_1_8b(), pad_idx: null });
  });

  it('honours a rope_scaling dict in params.json (the test harness extension)', () => {
    const params = {
      ...LLAMA_3_1_8B_PARAMS,
      rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
    };

    expect(llamaMetaInterop.fromParamsJson(params, '/m/params.json', 128_256).rope_scale).toEqual({
      factor: 8,
      frequency_factors: [1, 4],
      original_context_length: 64,
    });
  });

  it("computes the feed-forward width Meta's way, in fairseq2's terms when they agree", () => {
    // The test fixture: 4 * 64 = 256, int(2 * 256 / 3) = 170, int(0.9 * 170) = 153, rounded up to 32: 160.
    expect(metaLlamaFfnDim(64, 0.9, 32)).toBe(160);
    expect(llamaMetaInterop.fromParamsJson({ dim: 64, n_layers: 1, n_heads: 4, vocab_size: 8, multiple_of: 32, ffn_dim_multiplier: 0.9 }, '/p', undefined)).toMatchObject({
      ffn_inner_dim: 256,
      ffn_inner_dim_multiplier: 0.9,
      ffn_inner_dim_multiple_of: 32,
    });
    // dim 4, multiplier 1.5, multiple 1: Meta int(1.5 * int(32 / 3)) = 15, fairseq2 int(int(16 * 1.5) * 2 / 3) = 16.
    const config = llamaMetaInterop.fromParamsJson({ dim: 4, n_layers: 1, n_heads: 1, vocab_size: 8, multiple_of: 1, ffn_dim_multiplier: 1.5 }, '/p', undefined);
    expect(config).toMatchObject({ ffn_inner_dim: 15, ffn_inner_dim_scale: 1, ffn_inner_dim_multiplier: 1, ffn_inner_dim_multiple_of: 1 });
  });

  it('refuses params.json without a vocabulary size when the checkpoint has no embedding to count', () => {
    const error = caught(() => llamaMetaInterop.fromParamsJson(LLAMA_2_7B_PARAMS, '/m/params.json', undefined));

    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toBe(
      '/m/params.json does not give `vocab_size` (-1), and the checkpoint beside it has no `tok_embeddings.weight` to take it from.',
    );
    expect(caught(() => llamaMetaInterop.fromParamsJson({ ...LLAMA_2_7B_PARAMS, n_heads: 0 }, '/m/params.json', 32_000)).message).toBe(
      '`n_heads` in /m/params.json is expected to be a positive integer, but is 0 (number) instead.',
    );
  });
});
