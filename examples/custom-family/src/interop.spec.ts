import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import { CheckpointError, UnmappedKeyError, type StateEntry } from '@fs2/core';

import { GPT2_TINY_CHECKPOINT, caught } from '../../../test/support/index.js';
import { gpt2Archs, type Gpt2ArchName } from './archs.js';
import { GPT2_HF_EXPORT_KEY_MAP, GPT2_HF_KEY_MAP, gpt2HuggingFaceConverter, gpt2HuggingFaceInterop } from './interop.js';
import { Gpt2Model } from './model.js';

/** `openai-community/gpt2`'s `config.json`, as published on the Hugging Face Hub. */
const OPENAI_GPT2_CONFIG = {
  activation_function: 'gelu_new',
  architectures: ['GPT2LMHeadModel'],
  attn_pdrop: 0.1,
  bos_token_id: 50256,
  embd_pdrop: 0.1,
  eos_token_id: 50256,
  initializer_range: 0.02,
  layer_norm_epsilon: 1e-5,
  model_type: 'gpt2',
  n_ctx: 1024,
  n_embd: 768,
  n_head: 12,
  n_layer: 12,
  n_positions: 1024,
  resid_pdrop: 0.1,
  summary_activation: null,
  summary_first_dropout: 0.1,
  summary_proj_to_labels: true,
  summary_type: 'cls_index',
  summary_use_proj: true,
  task_specific_params: { 'text-generation': { do_sample: true, max_length: 50 } },
  vocab_size: 50257,
};

const PATH = '/models/gpt2/model.safetensors';
const CONFIG_PATH = '/models/gpt2/config.json';

function convert(key: string, shape: readonly number[] = [2]): StateEntry[] {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => i + 0.5);
  return [...gpt2HuggingFaceConverter.convert({ key, shape, data }, gpt2Archs.gpt2_tiny(), PATH)];
}

describe('GPT2_HF_KEY_MAP', () => {
  it.each([
    ['transformer.wte.weight', 'decoder_frontend.embed.weight'],
    ['transformer.wpe.weight', 'decoder_frontend.pos_encoder.weight'],
    ['transformer.h.0.ln_1.weight', 'decoder.layers.0.self_attn_layer_norm.weight'],
    ['transformer.h.0.ln_1.bias', 'decoder.layers.0.self_attn_layer_norm.bias'],
    ['transformer.h.3.attn.c_attn.weight', 'decoder.layers.3.self_attn.qkv_proj.weight'],
    ['transformer.h.3.attn.c_attn.bias', 'decoder.layers.3.self_attn.qkv_proj.bias'],
    ['transformer.h.11.attn.c_proj.weight', 'decoder.layers.11.self_attn.output_proj.weight'],
    ['transformer.h.11.ln_2.bias', 'decoder.layers.11.ffn_layer_norm.bias'],
    ['transformer.h.47.mlp.c_fc.weight', 'decoder.layers.47.ffn.inner_proj.weight'],
    ['transformer.h.47.mlp.c_proj.bias', 'decoder.layers.47.ffn.output_proj.bias'],
    ['transformer.ln_f.weight', 'decoder.layer_norm.weight'],
  ])('maps %s to %s, and back for export', (hf, fs2) => {
    expect(GPT2_HF_KEY_MAP.convert(hf, PATH)).toBe(fs2);
    expect(GPT2_HF_EXPORT_KEY_MAP.convert(fs2, PATH)).toBe(hf);
  });

  it('maps every parameter of a model to a distinct HF name and back (both directions are total)', () => {
    const names = [...new Gpt2Model(gpt2Archs.gpt2_small()).parameterShapes().keys()];
    const exported = names.map((name) => GPT2_HF_EXPORT_KEY_MAP.convert(name, 'state'));

    expect(new Set(exported).size).toBe(names.length);
    expect(exported.map((key) => GPT2_HF_KEY_MAP.convert(key, PATH))).toEqual(names);
  });
});

describe('gpt2HuggingFaceConverter', () => {
  describe('.matches', () => {
    it('recognises GPT2LMHeadModel keys and the unprefixed keys of OpenAI upload, nothing else', () => {
      expect(gpt2HuggingFaceConverter.matches(new Set(['transformer.wte.weight', 'transformer.h.0.ln_1.weight']))).toBe(true);
      expect(gpt2HuggingFaceConverter.matches(new Set(['wte.weight', 'h.0.attn.bias']))).toBe(true);
      expect(gpt2HuggingFaceConverter.matches(new Set(['decoder_frontend.embed.weight']))).toBe(false);
      expect(gpt2HuggingFaceConverter.matches(new Set(['model.embed_tokens.weight']))).toBe(false);
    });
  });

  describe('.convert', () => {
    it('renames a tensor and keeps its data and [in, out] shape as they are (Conv1D: no transpose)', () => {
      const [entry, ...rest] = convert('transformer.h.1.attn.c_attn.weight', [32, 96]);

      expect(rest).toEqual([]);
      expect(entry?.name).toBe('decoder.layers.1.self_attn.qkv_proj.weight');
      expect(entry?.shape).toEqual([32, 96]);
      expect(entry?.data[0]).toBe(0.5);
      expect(entry?.data[96]).toBe(96.5);
    });

    it('reads the keys of OpenAI upload, which lack the `transformer.` prefix', () => {
      expect(convert('h.0.mlp.c_fc.bias').map((e) => e.name)).toEqual(['decoder.layers.0.ffn.inner_proj.bias']);
      expect(convert('wte.weight').map((e) => e.name)).toEqual(['decoder_frontend.embed.weight']);
    });

    it.each(['lm_head.weight', 'transformer.h.0.attn.bias', 'transformer.h.7.attn.masked_bias', 'h.2.attn.bias'])(
      'drops %s (tied head, causal-mask buffers), without reading it',
      (key) => {
        expect(gpt2HuggingFaceConverter.isIgnored?.(key)).toBe(true);
        expect(convert(key)).toEqual([]);
      },
    );

    it('reads c_attn.bias (the layer, not the mask buffer)', () => {
      expect(gpt2HuggingFaceConverter.isIgnored?.('transformer.h.0.attn.c_attn.bias')).toBe(false);
    });

    it.each(['transformer.h.0.attn.c_attn.scale', 'transformer.h.0.ln_3.weight', 'score.weight', 'h.0.mlp.act.weight'])(
      'refuses the unknown key %s, naming it',
      (key) => {
        const error = caught(() => convert(key));

        expect(error).toBeInstanceOf(UnmappedKeyError);
        expect((error as UnmappedKeyError).tensor).toBe(key);
        expect((error as UnmappedKeyError).path).toBe(PATH);
        expect(error.message).toBe(`${key} in ${PATH} does not match any entry of the gpt2 HF key map.`);
      },
    );
  });
});

describe('gpt2HuggingFaceInterop', () => {
  describe('.fromConfigJson', () => {
    it('reads openai-community/gpt2 as the gpt2_small architecture', () => {
      expect(gpt2HuggingFaceInterop.fromConfigJson(OPENAI_GPT2_CONFIG, CONFIG_PATH)).toEqual(gpt2Archs.gpt2_small());
    });

    it('reads the committed tiny checkpoint as the gpt2_tiny architecture', () => {
      const json = JSON.parse(readFileSync(join(GPT2_TINY_CHECKPOINT, 'config.json'), 'utf8')) as Record<string, unknown>;

      expect(gpt2HuggingFaceInterop.fromConfigJson(json, CONFIG_PATH)).toEqual(gpt2Archs.gpt2_tiny());
    });

    it('reads an explicit n_inner, and the transformers defaults of absent optional fields', () => {
      const { n_embd, n_head, n_layer, n_positions, vocab_size } = OPENAI_GPT2_CONFIG;
      const config = gpt2HuggingFaceInterop.fromConfigJson({ n_embd, n_head, n_layer, n_positions, vocab_size, n_inner: 1000 }, CONFIG_PATH);

      expect(config).toEqual({ ...gpt2Archs.gpt2_small(), ffn_inner_dim: 1000 });
    });

    it.each<[Record<string, unknown>, string]>([
      [{ n_embd: undefined }, '`n_embd` in /models/gpt2/config.json is expected to be a positive integer, but is missing instead.'],
      [{ n_layer: '12' }, '`n_layer` in /models/gpt2/config.json is expected to be a positive integer, but is `"12"` instead.'],
      [{ n_head: 0 }, '`n_head` in /models/gpt2/config.json is expected to be a positive integer, but is `0` instead.'],
      [{ n_inner: 1.5 }, '`n_inner` in /models/gpt2/config.json is expected to be a positive integer, but is `1.5` instead.'],
      [{ layer_norm_epsilon: 'tiny' }, '`layer_norm_epsilon` in /models/gpt2/config.json is expected to be a number, but is `"tiny"` instead.'],
      [
        { activation_function: 'gelu' },
        '`activation_function` in /models/gpt2/config.json is expected to be one of `gelu_new`, `gelu_pytorch_tanh` (the GPT-2 family computes GELU\'s tanh approximation), but is `"gelu"` instead.',
      ],
      [
        { scale_attn_by_inverse_layer_idx: true },
        '`scale_attn_by_inverse_layer_idx` in /models/gpt2/config.json is expected to be `false` (the GPT-2 family computes nothing else), but is `true` instead.',
      ],
      [
        { tie_word_embeddings: false },
        '`tie_word_embeddings` in /models/gpt2/config.json is expected to be `true` (the GPT-2 family computes nothing else), but is `false` instead.',
      ],
    ])('refuses %j: %s', (change, message) => {
      const error = caught(() => gpt2HuggingFaceInterop.fromConfigJson({ ...OPENAI_GPT2_CONFIG, ...change }, CONFIG_PATH));

      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as CheckpointError).path).toBe(CONFIG_PATH);
      expect(error.message).toBe(message);
    });
  });

  describe('.toConfigJson', () => {
    it('writes the fields transformers reads, n_inner null when it is 4 * n_embd', () => {
      expect(gpt2HuggingFaceInterop.toConfigJson(gpt2Archs.gpt2_small())).toEqual({
        architectures: ['GPT2LMHeadModel'],
        model_type: 'gpt2',
        vocab_size: 50257,
        n_positions: 1024,
        n_embd: 768,
        n_layer: 12,
        n_head: 12,
        n_inner: null,
        activation_function: 'gelu_new',
        layer_norm_epsilon: 1e-5,
        resid_pdrop: 0.1,
        embd_pdrop: 0.1,
        attn_pdrop: 0.1,
        initializer_range: 0.02,
        scale_attn_weights: true,
        tie_word_embeddings: true,
        torch_dtype: 'float32',
      });
    });

    it.each([...Object.keys(gpt2Archs), 'custom'])('round-trips %s through fromConfigJson', (arch) => {
      const config = arch === 'custom' ? { ...gpt2Archs.gpt2_tiny(), ffn_inner_dim: 100, layer_norm_eps: 1e-6 } : gpt2Archs[arch as Gpt2ArchName]();
      const json = JSON.parse(JSON.stringify(gpt2HuggingFaceInterop.toConfigJson(config))) as Record<string, unknown>;

      expect(gpt2HuggingFaceInterop.fromConfigJson(json, CONFIG_PATH)).toEqual(config);
    });
  });

  describe('.exportTensor', () => {
    it('renames an fs2 tensor to its HF name, data and shape as they are', () => {
      const data = new Float32Array([1, 2, 3]);
      const tensors = [...gpt2HuggingFaceInterop.exportTensor({ name: 'decoder.layers.4.ffn.output_proj.bias', shape: [3], data }, gpt2Archs.gpt2_tiny())];

      expect(tensors).toEqual([{ key: 'transformer.h.4.mlp.c_proj.bias', shape: [3], data }]);
    });

    it('refuses a name that is not a GPT-2 parameter', () => {
      const error = caught(() => [
        ...gpt2HuggingFaceInterop.exportTensor({ name: 'final_proj.weight', shape: [1], data: new Float32Array(1) }, gpt2Archs.gpt2_tiny()),
      ]);

      expect(error.message).toBe('final_proj.weight in the GPT-2 model state does not match any entry of the gpt2 HF export key map.');
    });
  });
});
