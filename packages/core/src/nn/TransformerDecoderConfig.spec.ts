import { describe, expect, it } from '@jest/globals';

import { DecoderConfigError } from './errors.js';
import { resolveTransformerDecoderConfig, type TransformerDecoderConfig } from './TransformerDecoderConfig.js';

const minimal: TransformerDecoderConfig = { vocabSize: 100, modelDim: 64, numLayers: 2, numHeads: 4, ffnInnerDim: 128 };

describe(resolveTransformerDecoderConfig, () => {
  it('fills in every default', () => {
    expect(resolveTransformerDecoderConfig(minimal)).toEqual({
      vocabSize: 100,
      modelDim: 64,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 4,
      headDim: 16,
      ffnInnerDim: 128,
      normEps: 1e-5,
      ropeTheta: 10_000,
      ropeScaling: undefined,
      tiedEmbeddings: false,
      qkvBias: false,
      qkNorm: false,
      slidingWindow: undefined,
      maxSeqLen: 2048,
    });
  });

  it('keeps an explicit head dimension that differs from modelDim / numHeads (Qwen 3)', () => {
    expect(resolveTransformerDecoderConfig({ ...minimal, headDim: 32, numKvHeads: 2 })).toMatchObject({ headDim: 32, numKvHeads: 2 });
  });

  it.each<[Partial<TransformerDecoderConfig>, string, string]>([
    [{ modelDim: 0 }, 'modelDim', '`modelDim` of the transformer decoder config is expected to be a positive integer, but is 0 (number) instead.'],
    [{ numLayers: 1.5 }, 'numLayers', '`numLayers` of the transformer decoder config is expected to be a positive integer, but is 1.5 (number) instead.'],
    [{ numKvHeads: 3 }, 'numKvHeads', '`numKvHeads` (3) of the transformer decoder config must divide `numHeads` (4).'],
    [{ modelDim: 66 }, 'headDim', '`headDim` of the transformer decoder config is not set and `modelDim` (66) is not a multiple of `numHeads` (4).'],
    [{ headDim: 15 }, 'headDim', '`headDim` (15) of the transformer decoder config must be even: rotary encodings rotate pairs of dimensions.'],
    [{ normEps: -1 }, 'normEps', '`normEps` of the transformer decoder config is expected to be a positive number, but is -1 (number) instead.'],
    [{ tiedEmbeddings: 'yes' as unknown as boolean }, 'tiedEmbeddings', '`tiedEmbeddings` of the transformer decoder config is expected to be a boolean, but is "yes" (string) instead.'],
    [{ slidingWindow: 0 }, 'slidingWindow', '`slidingWindow` of the transformer decoder config is expected to be a positive integer, but is 0 (number) instead.'],
    [
      { ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 4, highFreqFactor: 1, originalMaxPositionEmbeddings: 8192 } },
      'ropeScaling.highFreqFactor',
      '`ropeScaling.highFreqFactor` (1) of the transformer decoder config must be greater than `ropeScaling.lowFreqFactor` (4).',
    ],
    [
      { ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4 } as never },
      'ropeScaling.originalMaxPositionEmbeddings',
      '`ropeScaling.originalMaxPositionEmbeddings` of the transformer decoder config is expected to be a positive number, but is missing instead.',
    ],
    [
      { ropeScaling: { type: 'yarn', factor: 4 } as never },
      'ropeScaling.type',
      "`ropeScaling.type` of the transformer decoder config is expected to be 'llama3' or 'linear', but is \"yarn\" (string) instead.",
    ],
  ])('rejects %j naming the field', (change, field, message) => {
    let error: unknown;
    try {
      resolveTransformerDecoderConfig({ ...minimal, ...change });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DecoderConfigError);
    expect(error).toMatchObject({ field, message, category: 'user' });
  });

  it('reports a missing required field', () => {
    expect(() => resolveTransformerDecoderConfig({ ...minimal, vocabSize: undefined } as never)).toThrow(
      '`vocabSize` of the transformer decoder config is expected to be a positive integer, but is missing instead.',
    );
  });
});
