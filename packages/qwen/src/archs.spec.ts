import { describe, expect, it } from '@jest/globals';

import { createFakeGangs } from '@fs2/core';

import { decoderParameterCount, type DecoderShape } from '../../../test/support/parameterCount.js';
import { QWEN_ARCHS } from './archs.js';
import type { QwenConfig } from './config.js';
import { createQwenModel } from './factory.js';

function shapeOnlyCount(config: QwenConfig): number {
  return createQwenModel(config, { device: undefined, gangs: createFakeGangs(), meta: true }).numParameters();
}

const q25 = (vocab: number, dim: number, layers: number, heads: number, kvHeads: number, ffn: number, tied: boolean): DecoderShape => ({
  vocab,
  dim,
  layers,
  heads,
  kvHeads,
  headDim: dim / heads,
  ffn,
  tied,
  qkvBias: true,
});
const q3 = (dim: number, layers: number, heads: number, ffn: number, tied: boolean): DecoderShape => ({
  vocab: 151_936,
  dim,
  layers,
  heads,
  kvHeads: 8,
  headDim: 128,
  ffn,
  tied,
  qkNorm: true,
});

/**
 * Every preset's shape (Qwen 2.5 / Qwen 3 technical reports, Table 1, and the released
 * `config.json`s) and its parameter count: as published on the Hugging Face model pages where
 * given exactly (`published`), else the closed-form count of the shape.
 */
const ARCHS: Record<string, { shape: DecoderShape; published?: number; billions: number }> = {
  'qwen25_0.5b': { shape: q25(151_936, 896, 24, 14, 2, 4864, true), published: 494_032_768, billions: 0.49 },
  'qwen25_1.5b': { shape: q25(151_936, 1536, 28, 12, 2, 8960, true), billions: 1.54 },
  qwen25_3b: { shape: q25(151_936, 2048, 36, 16, 2, 11_008, true), billions: 3.09 },
  qwen25_7b: { shape: q25(152_064, 3584, 28, 28, 4, 18_944, false), published: 7_615_616_512, billions: 7.62 },
  qwen25_14b: { shape: q25(152_064, 5120, 48, 40, 8, 13_824, false), billions: 14.77 },
  qwen25_32b: { shape: q25(152_064, 5120, 64, 40, 8, 27_648, false), billions: 32.76 },
  qwen25_72b: { shape: q25(152_064, 8192, 80, 64, 8, 29_568, false), billions: 72.71 },
  'qwen3_0.6b': { shape: q3(1024, 28, 16, 3072, true), published: 596_049_920, billions: 0.6 },
  'qwen3_1.7b': { shape: q3(2048, 28, 16, 6144, true), billions: 1.72 },
  qwen3_4b: { shape: q3(2560, 36, 32, 9728, true), billions: 4.02 },
  qwen3_8b: { shape: q3(4096, 36, 32, 12_288, false), published: 8_190_735_360, billions: 8.19 },
  qwen3_14b: { shape: q3(5120, 40, 40, 17_408, false), billions: 14.77 },
  qwen3_32b: { shape: q3(5120, 64, 64, 25_600, false), billions: 32.76 },
};

describe('qwen architecture presets', () => {
  it('are exactly the architectures the built-in cards name', () => {
    expect(Object.keys(QWEN_ARCHS).sort()).toEqual(Object.keys(ARCHS).sort());
  });

  describe.each(Object.entries(ARCHS))('%s', (arch, { shape, published, billions }) => {
    const config = (QWEN_ARCHS[arch] as () => QwenConfig)();

    it('builds shape-only with the parameter count of its shape', () => {
      const count = shapeOnlyCount(config);
      expect(count).toBe(decoderParameterCount(shape));
      expect(Math.round(count / 1e7) / 100).toBe(billions);
      if (published !== undefined) {
        expect(count).toBe(published);
      }
    });

    it('is Qwen 2.5 (q/k/v biases) or Qwen 3 (q/k norms, explicit head width)', () => {
      const qwen3 = arch.startsWith('qwen3_');
      expect(config).toMatchObject({ qkv_proj_bias: !qwen3, q_norm: qwen3, k_norm: qwen3, head_dim: qwen3 ? 128 : null });
      expect(config.max_seq_len).toBe(qwen3 ? 40_960 : 32_768);
    });
  });
});
