import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { GlobalModelLoader, useDevice, type TransformerDecoderModel } from '@fs2/core';

import {
  FIXTURE_TOKENS,
  LOGITS_TOLERANCE,
  createFamilyTestWorld,
  expectFixtureModel,
  incrementalLogits,
  fixturePath,
  liveTensors,
  maxAbsDiff,
  promptLogits,
  readExpectedLogits,
  type FamilyTestWorld,
} from '../../../test/support/index.js';
import { getLlamaModelHub } from './hub.js';
import { registerLlamaFamily } from './register.js';

/** The llama3 fixture's shape as `model_config` overrides of the default (LLaMA 1 7B) config. */
const LLAMA3_FIXTURE_CONFIG = [
  'model_config:',
  '  model_dim: 64',
  '  num_layers: 3',
  '  num_attn_heads: 4',
  '  num_key_value_heads: 2',
  '  vocab_size: 512',
  '  max_seq_len: 512',
  '  rope_theta: 500000.0',
  '  use_scaled_rope: true',
  '  rope_scale: {factor: 8.0, frequency_factors: [1.0, 4.0], original_context_length: 64}',
  '  norm_eps: 1.0e-5',
].join('\n');

const CARDS = [
  'name: fixture_llama3',
  'model_family: llama',
  `checkpoint: ${fixturePath('llama3')}`,
  LLAMA3_FIXTURE_CONFIG,
  // The HF config's intermediate_size, used as is.
  '  ffn_inner_dim: 160',
  '  ffn_inner_dim_scale: 1.0',
  '  ffn_inner_dim_multiple_of: 1',
  '---',
  'name: fixture_llama3_bf16_sharded',
  'base: fixture_llama3',
  `checkpoint: ${fixturePath('llama3_bf16_sharded')}`,
  '---',
  'name: fixture_llama3_meta',
  'model_family: llama',
  `checkpoint: ${fixturePath('llama3_meta')}`,
  LLAMA3_FIXTURE_CONFIG,
  // params.json's multiple_of 32 and ffn_dim_multiplier 0.9, in fairseq2's terms: 4 * 64 -> 160.
  '  ffn_inner_dim: 256',
  '  ffn_inner_dim_multiplier: 0.9',
  '  ffn_inner_dim_multiple_of: 32',
  '',
].join('\n');

const CASES = ['llama3', 'llama3_bf16_sharded', 'llama3_meta'] as const;

describe.each(['cpu', 'wasm'])('the llama family on the %s device', (device) => {
  let world: FamilyTestWorld;
  beforeAll(async () => {
    world = await createFamilyTestWorld(registerLlamaFamily, { 'fixtures.yaml': CARDS });
    await useDevice(device);
  });
  afterAll(() => world.cleanup());

  describe.each(CASES)('with the %s fixture', (name) => {
    const expected = readExpectedLogits(name);

    it('loads by card through the hub and reproduces the reference logits, greedy tokens and cached decoding', async () => {
      const before = liveTensors();
      const model = await getLlamaModelHub(world.resolver).loadModel(`fixture_${name}`, { device, progress: false });
      try {
        await expectFixtureModel(model, expected);
      } finally {
        model.dispose();
      }
      expect(liveTensors()).toBe(before);
    });

    it('loads the folder without a card (family and config from its own files)', async () => {
      const before = liveTensors();
      const loader = world.resolver.resolve(GlobalModelLoader);
      const model = (await loader.loadFromPath(fixturePath(name), {
        device,
        progress: false,
        ...(name === 'llama3_meta' ? { family: 'llama' } : {}),
      })) as TransformerDecoderModel;
      try {
        await expectFixtureModel(model, expected);
      } finally {
        model.dispose();
      }
      expect(liveTensors()).toBe(before);
    });
  });

  it("applies Meta's hard-coded scaling constants when params.json has no rope_scaling", async () => {
    const folder = world.dir.mkdir(`meta_defaults_${device}`);
    cpSync(fixturePath('llama3_meta'), folder, { recursive: true });
    const params = JSON.parse(readFileSync(join(folder, 'params.json'), 'utf8')) as Record<string, unknown>;
    delete params['rope_scaling'];
    writeFileSync(join(folder, 'params.json'), JSON.stringify(params));
    const expected = readExpectedLogits('llama3_meta', 'expected_logits_meta_defaults.json');

    const before = liveTensors();
    const model = (await world.resolver.resolve(GlobalModelLoader).loadFromPath(folder, { device, progress: false, family: 'llama' })) as TransformerDecoderModel;
    try {
      // This file holds the logits only (no argmax, no greedy continuation).
      const full = promptLogits(model);
      expect(maxAbsDiff(full, expected.logits)).toBeLessThan(LOGITS_TOLERANCE);
      expect(maxAbsDiff(incrementalLogits(model, FIXTURE_TOKENS, 1), full)).toBeLessThan(LOGITS_TOLERANCE);
      expect(maxAbsDiff(full, readExpectedLogits('llama3_meta').logits)).toBeGreaterThan(0.5);
    } finally {
      model.dispose();
    }
    expect(liveTensors()).toBe(before);
  });

  it('exports a Meta checkpoint as a Hugging Face folder that loads back with identical logits', async () => {
    const hub = getLlamaModelHub(world.resolver);
    const source = await hub.loadModel('fixture_llama3_meta', { device, progress: false });
    const out = join(world.dir.path, `exported_${device}`);
    let reloaded: TransformerDecoderModel | undefined;
    try {
      await hub.saveModel(source, hub.getModelConfig('fixture_llama3_meta'), out, { format: 'hf' });
      const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
      expect(config).toMatchObject({ model_type: 'llama', intermediate_size: 160, head_dim: 16, num_key_value_heads: 2 });

      reloaded = (await world.resolver.resolve(GlobalModelLoader).loadFromPath(out, { device, progress: false })) as TransformerDecoderModel;
      expect(promptLogits(reloaded)).toEqual(promptLogits(source));
    } finally {
      source.dispose();
      reloaded?.dispose();
    }
  });
});
