import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { GlobalModelLoader, TransformerDecoderModel, useDevice, type TensorParallelModel } from '@fs2/core';

import { createFamilyTestWorld, fixturePath, readExpectedLogits, type FamilyTestWorld } from '../../../test/support/index.js';
import { expectNoWorkers, expectTensorParallelFixture } from '../../../test/support/tensorParallel.js';
import { registerMistralFamily } from './register.js';

// The mistral family split over 2 tensor-parallel ranks (worker threads running the compiled dist/:
// `npm run build` first), in fairseq2's Mistral layout: the attention (6 query heads, 2 key/value
// heads: 3 and 1 per rank) and feed-forward network split, the embedding and the head whole on both
// ranks, the sliding window unchanged.

describe('the mistral family over tensor-parallel ranks', () => {
  let world: FamilyTestWorld;
  let split: TensorParallelModel;
  let whole: TransformerDecoderModel;
  beforeAll(async () => {
    world = await createFamilyTestWorld(registerMistralFamily);
    await useDevice('wasm');
    const loader = world.resolver.resolve(GlobalModelLoader);
    whole = (await loader.loadFromPath(fixturePath('mistral'), { device: 'wasm', progress: false })) as TransformerDecoderModel;
    split = await loader.loadFromPath(fixturePath('mistral'), { tp: 2, progress: false });
  }, 60_000);
  afterAll(async () => {
    whole.dispose();
    await split.dispose();
    world.cleanup();
    expectNoWorkers();
  });

  it('computes the logits and the tokens of the whole model', async () => {
    expect(whole).toBeInstanceOf(TransformerDecoderModel);
    // The embedding (448 x 96) and the head (96 x 448) are on both ranks.
    const replicated = 2 * 448 * 96 + (2 * 2 + 1) * 96;
    expect(split.rankParameters).toEqual([(whole.numParameters() + replicated) / 2, (whole.numParameters() + replicated) / 2]);
    await expectTensorParallelFixture(split, whole, readExpectedLogits('mistral'));
  }, 60_000);
});
