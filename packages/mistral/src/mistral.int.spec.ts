import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import {
  GlobalModelLoader,
  SafetensorsReader,
  rotateHalfToInterleaved,
  useDevice,
  type TransformerDecoderModel,
} from '@fs2/core';

import {
  buildTorchStateDict,
  createFamilyTestWorld,
  expectFixtureModel,
  fixturePath,
  liveTensors,
  promptLogits,
  readExpectedLogits,
  type FamilyTestWorld,
} from '../../../test/support/index.js';
import { getMistralModelHub } from './hub.js';
import { MISTRAL_HF_KEY_MAP, MISTRAL_REFERENCE_KEY_MAP } from './interop.js';
import { registerMistralFamily } from './register.js';

const FIXTURE_CONFIG = [
  'model_config:',
  '  model_dim: 96',
  '  num_layers: 2',
  '  num_attn_heads: 6',
  '  num_key_value_heads: 2',
  '  vocab_size: 448',
  '  ffn_inner_dim: 192',
  '  max_seq_len: 256',
  '  attn_window_len: 64',
].join('\n');

const CARDS = [
  'name: fixture_mistral',
  'model_family: mistral',
  'model_arch: mistral_7b',
  `checkpoint: ${fixturePath('mistral')}`,
  FIXTURE_CONFIG,
  '---',
  // A window shorter than the prompt: position i sees keys i - 3 .. i.
  'name: fixture_mistral_window4',
  'base: fixture_mistral',
  'model_config:',
  '  attn_window_len: 4',
  '',
].join('\n');

/** The fixture's HF weights rewritten as a Mistral reference checkpoint (interleaved q/k rows). */
async function writeReferenceCheckpoint(dir: string): Promise<void> {
  const reader = await SafetensorsReader.open(fixturePath('mistral', 'model.safetensors'));
  const reverse = MISTRAL_REFERENCE_KEY_MAP.reverse();
  const tensors = [];
  try {
    for (const key of reader.keys()) {
      const name = MISTRAL_HF_KEY_MAP.convert(key, 'fixture');
      const shape = reader.info(key).shape;
      let data = await reader.readFloat32(key);
      if (name.includes('.q_proj.')) {
        data = rotateHalfToInterleaved(data, 6, 16);
      } else if (name.includes('.k_proj.')) {
        data = rotateHalfToInterleaved(data, 2, 16);
      }
      tensors.push({ key: reverse.convert(name, 'fixture'), shape, dtype: 'F32' as const, data });
    }
  } finally {
    await reader.close();
  }
  writeFileSync(join(dir, 'consolidated.00.pth'), buildTorchStateDict(tensors, 'consolidated.00'));
  writeFileSync(
    join(dir, 'params.json'),
    JSON.stringify({ dim: 96, n_layers: 2, head_dim: 16, hidden_dim: 192, n_heads: 6, n_kv_heads: 2, norm_eps: 1e-5, sliding_window: 64, vocab_size: 448 }),
  );
}

describe.each(['cpu', 'wasm'])('the mistral family on the %s device', (device) => {
  let world: FamilyTestWorld;
  beforeAll(async () => {
    world = await createFamilyTestWorld(registerMistralFamily, { 'fixtures.yaml': CARDS });
    await useDevice(device);
  });
  afterAll(() => world.cleanup());

  const expected = readExpectedLogits('mistral');

  it('loads by card through the hub and reproduces the reference logits, greedy tokens and cached decoding', async () => {
    const before = liveTensors();
    const model = await getMistralModelHub(world.resolver).loadModel('fixture_mistral', { device, progress: false });
    try {
      await expectFixtureModel(model, expected);
    } finally {
      model.dispose();
    }
    expect(liveTensors()).toBe(before);
  });

  it('attends over a sliding window shorter than the prompt, with and without the KV cache', async () => {
    const before = liveTensors();
    const model = await getMistralModelHub(world.resolver).loadModel('fixture_mistral_window4', { device, progress: false });
    try {
      await expectFixtureModel(model, readExpectedLogits('mistral', 'expected_logits_window4.json'));
    } finally {
      model.dispose();
    }
    expect(liveTensors()).toBe(before);
  });

  it('loads the Hugging Face folder without a card (which fairseq2 cannot)', async () => {
    const before = liveTensors();
    const model = (await world.resolver.resolve(GlobalModelLoader).loadFromPath(fixturePath('mistral'), { device, progress: false })) as TransformerDecoderModel;
    try {
      await expectFixtureModel(model, expected);
    } finally {
      model.dispose();
    }
    expect(liveTensors()).toBe(before);
  });

  it('loads a reference checkpoint (consolidated.00.pth + params.json), permuting q/k rows', async () => {
    const folder = world.dir.mkdir(`reference_${device}`);
    await writeReferenceCheckpoint(folder);
    const before = liveTensors();
    const model = (await world.resolver.resolve(GlobalModelLoader).loadFromPath(folder, { device, progress: false, family: 'mistral' })) as TransformerDecoderModel;
    try {
      await expectFixtureModel(model, expected);
    } finally {
      model.dispose();
    }
    expect(liveTensors()).toBe(before);
  });

  it('exports a Hugging Face folder that loads back with identical logits', async () => {
    const hub = getMistralModelHub(world.resolver);
    const source = await hub.loadModel('fixture_mistral', { device, progress: false });
    const out = join(world.dir.path, `exported_${device}`);
    let reloaded: TransformerDecoderModel | undefined;
    try {
      await hub.saveModel(source, hub.getModelConfig('fixture_mistral'), out, { format: 'hf' });
      const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
      expect(config).toMatchObject({ model_type: 'mistral', sliding_window: 64, head_dim: 16 });

      reloaded = (await world.resolver.resolve(GlobalModelLoader).loadFromPath(out, { device, progress: false })) as TransformerDecoderModel;
      expect(promptLogits(reloaded)).toEqual(promptLogits(source));
    } finally {
      source.dispose();
      reloaded?.dispose();
    }
  });
});
