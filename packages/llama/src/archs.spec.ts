import { describe, expect, it } from '@jest/globals';

import { createFakeGangs } from '@fs2/core';

import { decoderParameterCount, type DecoderShape } from '../../../test/support/parameterCount.js';
import { LLAMA_ARCHS } from './archs.js';
import { llamaFfnInnerDim, type LlamaConfig } from './config.js';
import { createLlamaModel } from './factory.js';

function shapeOnlyCount(config: LlamaConfig): number {
  return createLlamaModel(config, { device: undefined, gangs: createFakeGangs(), meta: true }).numParameters();
}

/**
 * Every preset: its shape (from the papers and the released configs) and its parameter count as
 * published (Hugging Face's safetensors metadata and model cards, tied weights counted once).
 */
const ARCHS: Record<string, { shape: DecoderShape; published: number }> = {
  llama2_7b: { shape: { vocab: 32_000, dim: 4096, layers: 32, heads: 32, kvHeads: 32, headDim: 128, ffn: 11_008, tied: false }, published: 6_738_415_616 },
  llama2_13b: { shape: { vocab: 32_000, dim: 5120, layers: 40, heads: 40, kvHeads: 40, headDim: 128, ffn: 13_824, tied: false }, published: 13_015_864_320 },
  llama2_70b: { shape: { vocab: 32_000, dim: 8192, layers: 80, heads: 64, kvHeads: 8, headDim: 128, ffn: 28_672, tied: false }, published: 68_976_648_192 },
  llama3_8b: { shape: { vocab: 128_256, dim: 4096, layers: 32, heads: 32, kvHeads: 8, headDim: 128, ffn: 14_336, tied: false }, published: 8_030_261_248 },
  llama3_70b: { shape: { vocab: 128_256, dim: 8192, layers: 80, heads: 64, kvHeads: 8, headDim: 128, ffn: 28_672, tied: false }, published: 70_553_706_496 },
  llama3_1_8b: { shape: { vocab: 128_256, dim: 4096, layers: 32, heads: 32, kvHeads: 8, headDim: 128, ffn: 14_336, tied: false }, published: 8_030_261_248 },
  llama3_1_70b: { shape: { vocab: 128_256, dim: 8192, layers: 80, heads: 64, kvHeads: 8, headDim: 128, ffn: 28_672, tied: false }, published: 70_553_706_496 },
  llama3_1_405b: { shape: { vocab: 128_256, dim: 16_384, layers: 126, heads: 128, kvHeads: 8, headDim: 128, ffn: 53_248, tied: false }, published: 405_853_388_800 },
  llama3_2_1b: { shape: { vocab: 128_256, dim: 2048, layers: 16, heads: 32, kvHeads: 8, headDim: 64, ffn: 8192, tied: true }, published: 1_235_814_400 },
  llama3_2_3b: { shape: { vocab: 128_256, dim: 3072, layers: 28, heads: 24, kvHeads: 8, headDim: 128, ffn: 8192, tied: true }, published: 3_212_749_824 },
};

describe('llama architecture presets', () => {
  it('are exactly the architectures the built-in cards name', () => {
    expect(Object.keys(LLAMA_ARCHS).sort()).toEqual(Object.keys(ARCHS).sort());
  });

  describe.each(Object.entries(ARCHS))('%s', (arch, { shape, published }) => {
    const config = (LLAMA_ARCHS[arch] as () => LlamaConfig)();

    it('has the published effective feed-forward width', () => {
      expect(llamaFfnInnerDim(config)).toBe(shape.ffn);
    });

    it('builds shape-only with the published parameter count', () => {
      expect(decoderParameterCount(shape)).toBe(published);
      expect(shapeOnlyCount(config)).toBe(published);
    });
  });

  it('return a fresh config on each call', () => {
    const a = LLAMA_ARCHS['llama3_2_1b']?.() as LlamaConfig;
    a.rope_scale.frequency_factors[0] = 99;
    a.model_dim = 1;
    expect(LLAMA_ARCHS['llama3_2_1b']?.()).toMatchObject({ model_dim: 2048, rope_scale: { factor: 32, frequency_factors: [1, 4] } });
    expect(LLAMA_ARCHS['llama3_2_3b']?.().rope_scale.frequency_factors).toEqual([1, 4]);
  });

  it('scale rotary frequencies from Llama 3.1 on, with factor 32 for Llama 3.2', () => {
    expect(Object.entries(LLAMA_ARCHS).filter(([, preset]) => preset().use_scaled_rope).map(([name]) => name)).toEqual([
      'llama3_1_8b',
      'llama3_1_70b',
      'llama3_1_405b',
      'llama3_2_1b',
      'llama3_2_3b',
    ]);
    expect(LLAMA_ARCHS['llama3_1_8b']?.().rope_scale).toEqual({ factor: 8, frequency_factors: [1, 4], original_context_length: 8192 });
  });
});
