import { describe, expect, it } from '@jest/globals';

import { NotSupportedError, resolveTransformerDecoderConfig, type SourceTensor } from '@fs2/core';

import { caught } from '../../../test/support/assets.js';
import { qwen25_7b, qwen3_0_6b } from './archs.js';
import type { QwenConfig } from './config.js';
import { qwenDecoderConfig } from './factory.js';
import { qwenHuggingFaceConverter, qwenHuggingFaceInterop } from './interop.js';

const PATH = '/ckpt/model.safetensors';

/** transformers' config.json of Qwen/Qwen3-0.6B, as published. */
const QWEN3_0_6B_CONFIG_JSON = {
  architectures: ['Qwen3ForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  head_dim: 128,
  hidden_act: 'silu',
  hidden_size: 1024,
  initializer_range: 0.02,
  intermediate_size: 3072,
  max_position_embeddings: 40960,
  max_window_layers: 28,
  model_type: 'qwen3',
  num_attention_heads: 16,
  num_hidden_layers: 28,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-6,
  rope_scaling: null,
  rope_theta: 1000000,
  sliding_window: null,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

/** transformers' config.json of Qwen/Qwen2.5-7B-Instruct, as published (no attention_bias key: Qwen 2 always has q/k/v biases). */
const QWEN25_7B_INSTRUCT_CONFIG_JSON = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  hidden_act: 'silu',
  hidden_size: 3584,
  initializer_range: 0.02,
  intermediate_size: 18944,
  max_position_embeddings: 32768,
  max_window_layers: 28,
  model_type: 'qwen2',
  num_attention_heads: 28,
  num_hidden_layers: 28,
  num_key_value_heads: 4,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 131072,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 152064,
};

const decoder = (config: QwenConfig) => resolveTransformerDecoderConfig(qwenDecoderConfig(config));

describe('qwenHuggingFaceInterop', () => {
  it('reads Qwen3-0.6B config.json as the qwen3_0.6b architecture (q/k norms, head_dim 128, tied)', () => {
    expect(qwenHuggingFaceInterop.fromConfigJson(QWEN3_0_6B_CONFIG_JSON, '/m/config.json')).toEqual(qwen3_0_6b());
  });

  it('reads Qwen2.5-7B-Instruct config.json as the qwen25_7b architecture (q/k/v biases)', () => {
    expect(qwenHuggingFaceInterop.fromConfigJson(QWEN25_7B_INSTRUCT_CONFIG_JSON, '/m/config.json')).toEqual(qwen25_7b());
  });

  it('refuses sliding-window attention and rotary scaling, which the family does not implement', () => {
    const read = (json: Record<string, unknown>) => caught(() => qwenHuggingFaceInterop.fromConfigJson(json, '/m/config.json')).message;

    expect(read({ ...QWEN25_7B_INSTRUCT_CONFIG_JSON, use_sliding_window: true })).toBe(
      '/m/config.json sets `use_sliding_window`, but the qwen model family implements only full attention.',
    );
    expect(read({ ...QWEN25_7B_INSTRUCT_CONFIG_JSON, rope_scaling: { type: 'linear', factor: 4 } })).toBe(
      '`rope_scaling` in /m/config.json is of type `linear`, but the qwen model family implements no rotary scaling.',
    );
  });

  it('writes Qwen 3 configs as qwen3 and Qwen 2.5 configs as qwen2, and reads them back', () => {
    const qwen3 = qwenHuggingFaceInterop.toConfigJson(qwen3_0_6b());
    const qwen2 = qwenHuggingFaceInterop.toConfigJson(qwen25_7b());

    expect(qwen3).toMatchObject({ architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', head_dim: 128, attention_bias: false, tie_word_embeddings: true });
    expect(qwen2).toMatchObject({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', head_dim: 128, tie_word_embeddings: false, bos_token_id: 151643 });
    expect(qwen2).not.toHaveProperty('attention_bias');
    expect(decoder(qwenHuggingFaceInterop.fromConfigJson(qwen3, '/x'))).toEqual(decoder(qwen3_0_6b()));
    expect(decoder(qwenHuggingFaceInterop.fromConfigJson(qwen2, '/x'))).toEqual(decoder(qwen25_7b()));
  });

  it('refuses to write a config that is neither Qwen 2 nor Qwen 3', () => {
    const error = caught(() => qwenHuggingFaceInterop.toConfigJson({ ...qwen25_7b(), qkv_proj_bias: false }));

    expect(error).toBeInstanceOf(NotSupportedError);
    expect(error.message).toBe(
      'A qwen config without q/k/v biases and without q/k norms has no Hugging Face equivalent: Qwen 2 has the biases, Qwen 3 the norms.',
    );
  });
});

describe('qwenHuggingFaceConverter', () => {
  const tiny: QwenConfig = { ...qwen25_7b(), model_dim: 8, num_layers: 1, num_attn_heads: 2, num_key_value_heads: 1, vocab_size: 10, ffn_inner_dim: 12, tied_embeddings: true };
  const tensor = (key: string, shape: number[]): SourceTensor => ({ key, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });

  it('maps the q/k/v biases and q/k norms, and drops a tied lm_head', () => {
    const names = [
      tensor('model.layers.0.self_attn.k_proj.bias', [4]),
      tensor('lm_head.weight', [10, 8]),
    ].flatMap((t) => [...qwenHuggingFaceConverter.convert(t, tiny, PATH)].map((e) => e.name));
    expect(names).toEqual(['decoder.layers.0.self_attn.k_proj.bias']);

    const qwen3 = { ...tiny, qkv_proj_bias: false, q_norm: true, k_norm: true, head_dim: 6 };
    expect([...qwenHuggingFaceConverter.convert(tensor('model.layers.0.self_attn.q_norm.weight', [6]), qwen3, PATH)].map((e) => e.name)).toEqual([
      'decoder.layers.0.self_attn.q_norm.weight',
    ]);
  });

  it('refuses a bias of the wrong shape and an unknown key', () => {
    expect(caught(() => [...qwenHuggingFaceConverter.convert(tensor('model.layers.0.self_attn.q_proj.bias', [4]), tiny, PATH)]).message).toBe(
      'model.layers.0.self_attn.q_proj.bias has a shape of [4] in /ckpt/model.safetensors, but a shape of [8] is expected.',
    );
    expect(caught(() => [...qwenHuggingFaceConverter.convert(tensor('visual.blocks.0.attn.qkv.weight', [4]), tiny, PATH)]).message).toBe(
      'visual.blocks.0.attn.qkv.weight in /ckpt/model.safetensors does not match any entry of the qwen Hugging Face key map.',
    );
  });
});
