import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { GlobalModelLoader, useDevice, type TransformerDecoderModel } from '@fs2/core';

import {
  createFamilyTestWorld,
  expectFixtureModel,
  fixturePath,
  liveTensors,
  promptLogits,
  readExpectedLogits,
  type FamilyTestWorld,
} from '../../../test/support/index.js';
import { getQwenModelHub } from './hub.js';
import { registerQwenFamily } from './register.js';

const CARDS = [
  // Qwen 2: q/k/v biases, tied embeddings.
  'name: fixture_qwen2',
  'model_family: qwen',
  'model_arch: qwen25_7b',
  `checkpoint: ${fixturePath('qwen2')}`,
  'model_config:',
  '  model_dim: 64',
  '  num_layers: 2',
  '  num_attn_heads: 4',
  '  num_key_value_heads: 2',
  '  vocab_size: 576',
  '  ffn_inner_dim: 128',
  '  tied_embeddings: true',
  '  max_seq_len: 1024',
  '---',
  // Qwen 3: q/k norms, a head width (32) other than model_dim / heads (16).
  'name: fixture_qwen3',
  'model_family: qwen',
  'model_arch: qwen3_8b',
  `checkpoint: ${fixturePath('qwen3')}`,
  'model_config:',
  '  model_dim: 64',
  '  num_layers: 2',
  '  num_attn_heads: 4',
  '  num_key_value_heads: 2',
  '  head_dim: 32',
  '  vocab_size: 512',
  '  ffn_inner_dim: 96',
  '  max_seq_len: 1024',
  '',
].join('\n');

const CASES = ['qwen2', 'qwen3'] as const;

describe.each(['cpu', 'wasm'])('the qwen family on the %s device', (device) => {
  let world: FamilyTestWorld;
  beforeAll(async () => {
    world = await createFamilyTestWorld(registerQwenFamily, { 'fixtures.yaml': CARDS });
    await useDevice(device);
  });
  afterAll(() => world.cleanup());

  describe.each(CASES)('with the %s fixture', (name) => {
    const expected = readExpectedLogits(name);

    it('loads by card through the hub and reproduces the reference logits, greedy tokens and cached decoding', async () => {
      const before = liveTensors();
      const model = await getQwenModelHub(world.resolver).loadModel(`fixture_${name}`, { device, progress: false });
      try {
        await expectFixtureModel(model, expected);
      } finally {
        model.dispose();
      }
      expect(liveTensors()).toBe(before);
    });

    it('loads the folder without a card (family and config from config.json)', async () => {
      const before = liveTensors();
      const model = (await world.resolver.resolve(GlobalModelLoader).loadFromPath(fixturePath(name), { device, progress: false })) as TransformerDecoderModel;
      try {
        await expectFixtureModel(model, expected);
      } finally {
        model.dispose();
      }
      expect(liveTensors()).toBe(before);
    });

    it('exports a Hugging Face folder that loads back with identical logits', async () => {
      const hub = getQwenModelHub(world.resolver);
      const source = await hub.loadModel(`fixture_${name}`, { device, progress: false });
      const out = join(world.dir.path, `exported_${name}_${device}`);
      let reloaded: TransformerDecoderModel | undefined;
      try {
        await hub.saveModel(source, hub.getModelConfig(`fixture_${name}`), out, { format: 'hf' });
        const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
        expect(config['model_type']).toBe(name);
        expect(config['tie_word_embeddings']).toBe(name === 'qwen2');

        reloaded = (await world.resolver.resolve(GlobalModelLoader).loadFromPath(out, { device, progress: false })) as TransformerDecoderModel;
        expect(promptLogits(reloaded)).toEqual(promptLogits(source));
      } finally {
        source.dispose();
        reloaded?.dispose();
      }
    });
  });
});
