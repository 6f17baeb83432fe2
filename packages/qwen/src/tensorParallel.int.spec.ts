import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { GlobalModelLoader, TransformerDecoderModel, useDevice, type TensorParallelModel } from '@fs2/core';

import { FIXTURE_TOKENS, LOGITS_TOLERANCE, createFamilyTestWorld, fixturePath, maxAbsDiff, promptLogits, readExpectedLogits, type FamilyTestWorld } from '../../../test/support/index.js';
import { expectNoWorkers, expectTensorParallelFixture, logitRows } from '../../../test/support/tensorParallel.js';
import type { QwenConfig } from './config.js';
import { getQwenModelHub } from './hub.js';
import { registerQwenFamily } from './register.js';

// The qwen family split over 2 tensor-parallel ranks (worker threads running the compiled dist/:
// `npm run build` first): q/k/v biases and tied embeddings (Qwen 2: the vocabulary-sharded embedding
// is the head, the logits all-gathered; fairseq2 refuses this), q/k norms (Qwen 3).

describe('the qwen family over tensor-parallel ranks', () => {
  let world: FamilyTestWorld;
  beforeAll(async () => {
    world = await createFamilyTestWorld(registerQwenFamily);
    await useDevice('wasm');
   }, 30_000);
  afterAll(() => world.cleanup());

  describe.each(['qwen2', 'qwen3'] as const)('the %s fixture over 2 ranks', (name) => {
    let split: TensorParallelModel;
    let whole: TransformerDecoderModel;
    beforeAll(async () => {
      const loader = world.resolver.resolve(GlobalModelLoader);
      const local = await loader.loadFromPath(fixturePath(name), { device: 'wasm', progress: false });
      whole = local as TransformerDecoderModel;
      split = await loader.loadFromPath(fixturePath(name), { tp: 2, progress: false });
    }, 60_000);
    afterAll(async () => {
      whole.dispose();
      await split.dispose();
      expectNoWorkers();
    });

    it('computes the logits and the tokens of the whole model', async () => {
      expect(whole).toBeInstanceOf(TransformerDecoderModel);
      await expectTensorParallelFixture(split, whole, readExpectedLogits(name));
    }, 60_000);
  });

  it('creates the same random model over 2 ranks as in one thread, for a seed', async () => {
    const hub = getQwenModelHub(world.resolver);
    const config: QwenConfig = { ...hub.getArchConfig('qwen25_0.5b'), model_dim: 64, num_layers: 2, num_attn_heads: 4, num_key_value_heads: 2, vocab_size: 576, ffn_inner_dim: 128 };
    expect(config.tied_embeddings).toBe(true);
    const whole = await hub.createNewModel(config, { device: 'wasm', seed: 5 });
    const split = await hub.createNewModel(config, { tp: 2, seed: 5 });
    try {
      const logits = logitRows(await split.logits(FIXTURE_TOKENS));
      expect(maxAbsDiff(logits, promptLogits(whole))).toBeLessThan(LOGITS_TOLERANCE);
      expect(await split.generateAll(FIXTURE_TOKENS, { maxNewTokens: 4 })).toEqual(await whole.generateAll(FIXTURE_TOKENS, { maxNewTokens: 4 }));
    } finally {
      whole.dispose();
      await split.dispose();
    }
    expectNoWorkers();
  }, 60_000);
});
