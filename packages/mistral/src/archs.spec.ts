import { describe, expect, it } from '@jest/globals';

import { createFakeGangs } from '@fs2/core';

import { decoderParameterCount } from '../../../test/support/parameterCount.js';
import { MISTRAL_ARCHS } from './archs.js';
import type { MistralConfig } from './config.js';
import { createMistralModel, mistralDecoderConfig } from './factory.js';

function shapeOnlyCount(config: MistralConfig): number {
  return createMistralModel(config, { device: undefined, gangs: createFakeGangs(), meta: true }).numParameters();
}

describe('mistral architecture presets', () => {
  it('are exactly the architectures the built-in cards name', () => {
    expect(Object.keys(MISTRAL_ARCHS).sort()).toEqual(['mistral_7b', 'mistral_7b_v03']);
  });

  it('mistral_7b is Mistral-7B-v0.1: 7,241,732,096 parameters, a 4096-position sliding window', () => {
    const config = (MISTRAL_ARCHS['mistral_7b'] as () => MistralConfig)();
    const shape = { vocab: 32_000, dim: 4096, layers: 32, heads: 32, kvHeads: 8, headDim: 128, ffn: 14_336, tied: false };

    expect(decoderParameterCount(shape)).toBe(7_241_732_096);
    expect(shapeOnlyCount(config)).toBe(7_241_732_096);
    expect(mistralDecoderConfig(config)).toMatchObject({ slidingWindow: 4096, ropeTheta: 10_000, maxSeqLen: 8192 });
  });

  it('mistral_7b_v03 is Mistral-7B-v0.3: 7,248,023,552 parameters, full attention, theta 1e6', () => {
    const config = (MISTRAL_ARCHS['mistral_7b_v03'] as () => MistralConfig)();
    const shape = { vocab: 32_768, dim: 4096, layers: 32, heads: 32, kvHeads: 8, headDim: 128, ffn: 14_336, tied: false };

    expect(decoderParameterCount(shape)).toBe(7_248_023_552);
    expect(shapeOnlyCount(config)).toBe(7_248_023_552);
    const decoder = mistralDecoderConfig(config);
    expect(decoder).toMatchObject({ ropeTheta: 1_000_000, maxSeqLen: 32_768, vocabSize: 32_768 });
    expect(decoder.slidingWindow).toBeUndefined();
  });
});
