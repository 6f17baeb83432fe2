import { describe, expect, it } from '@jest/globals';

import { countParameters } from './countParameters.js';
import { decoderParameters } from './estimateDecoderMemory.js';
import { resolveTransformerDecoderConfig, type TransformerDecoderConfig } from './TransformerDecoderConfig.js';
import { TransformerDecoderModel } from './TransformerDecoderModel.js';

// From the public HF config.json files (and fairseq2-reference.md §3 archs llama3_2_1b, qwen3_0.6b, mistral 7b).
const LLAMA_3_2_1B: TransformerDecoderConfig = {
  vocabSize: 128_256,
  modelDim: 2048,
  numLayers: 16,
  numHeads: 32,
  numKvHeads: 8,
  headDim: 64,
  ffnInnerDim: 8192,
  normEps: 1e-5,
  ropeTheta: 500_000,
  ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
  tiedEmbeddings: true,
  maxSeqLen: 131_072,
};

const QWEN3_0_6B: TransformerDecoderConfig = {
  vocabSize: 151_936,
  modelDim: 1024,
  numLayers: 28,
  numHeads: 16,
  numKvHeads: 8,
  headDim: 128,
  ffnInnerDim: 3072,
  normEps: 1e-6,
  ropeTheta: 1_000_000,
  tiedEmbeddings: true,
  qkNorm: true,
  maxSeqLen: 40_960,
};

const MISTRAL_7B_V0_1: TransformerDecoderConfig = {
  vocabSize: 32_000,
  modelDim: 4096,
  numLayers: 32,
  numHeads: 32,
  numKvHeads: 8,
  ffnInnerDim: 14_336,
  normEps: 1e-5,
  ropeTheta: 10_000,
  slidingWindow: 4096,
  maxSeqLen: 32_768,
};

describe(countParameters, () => {
  it.each([
    ['Llama-3.2-1B (tied)', LLAMA_3_2_1B, 1_235_814_400],
    ['Qwen3-0.6B (tied, q/k norm, head_dim 128)', QWEN3_0_6B, 596_049_920],
    ['Mistral-7B-v0.1', MISTRAL_7B_V0_1, 7_241_732_096],
  ])('gives the published count of %s', (_name, config, expected) => {
    expect(countParameters(config)).toBe(expected);
    // The memory estimate's closed form agrees with the module tree.
    expect(decoderParameters(resolveTransformerDecoderConfig(config))).toBe(expected);
  });

  it('counts q/k/v biases (Qwen2.5-0.5B: 494,032,768)', () => {
    const qwen25: TransformerDecoderConfig = {
      vocabSize: 151_936,
      modelDim: 896,
      numLayers: 24,
      numHeads: 14,
      numKvHeads: 2,
      ffnInnerDim: 4864,
      tiedEmbeddings: true,
      qkvBias: true,
    };
    expect(countParameters(qwen25)).toBe(494_032_768);
    expect(decoderParameters(resolveTransformerDecoderConfig(qwen25))).toBe(494_032_768);
  });
});

describe('TransformerDecoderModel.parameterShapes', () => {
  it('lists fairseq2 names with linear weights laid out [in, out], without allocating anything', () => {
    const model = new TransformerDecoderModel({
      vocabSize: 10,
      modelDim: 8,
      numLayers: 1,
      numHeads: 4,
      numKvHeads: 2,
      headDim: 4,
      ffnInnerDim: 12,
      qkvBias: true,
      qkNorm: true,
    });
    expect(Object.fromEntries(model.parameterShapes())).toEqual({
      'decoder_frontend.embed.weight': [10, 8],
      'decoder.layers.0.self_attn_layer_norm.weight': [8],
      'decoder.layers.0.self_attn.q_proj.weight': [8, 16],
      'decoder.layers.0.self_attn.k_proj.weight': [8, 8],
      'decoder.layers.0.self_attn.v_proj.weight': [8, 8],
      'decoder.layers.0.self_attn.q_proj.bias': [16],
      'decoder.layers.0.self_attn.k_proj.bias': [8],
      'decoder.layers.0.self_attn.v_proj.bias': [8],
      'decoder.layers.0.self_attn.q_norm.weight': [4],
      'decoder.layers.0.self_attn.k_norm.weight': [4],
      'decoder.layers.0.self_attn.output_proj.weight': [16, 8],
      'decoder.layers.0.ffn_layer_norm.weight': [8],
      'decoder.layers.0.ffn.gate_proj.weight': [8, 12],
      'decoder.layers.0.ffn.inner_proj.weight': [8, 12],
      'decoder.layers.0.ffn.output_proj.weight': [12, 8],
      'decoder.layer_norm.weight': [8],
      'final_proj.weight': [8, 10],
    });
    expect(model.isLoaded).toBe(false);
  });

  it('has no final_proj with tied embeddings', () => {
    const model = new TransformerDecoderModel({ vocabSize: 10, modelDim: 8, numLayers: 1, numHeads: 2, ffnInnerDim: 12, tiedEmbeddings: true });
    expect([...model.parameterShapes().keys()]).not.toContain('final_proj.weight');
  });
});
