import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import {
  FakeGang,
  NotSupportedError,
  ThreadGangHost,
  TensorParallelSplitError,
  createFakeGangs,
  createParallelGangs,
  shardStateEntry,
  useDevice,
  type StateEntry,
  type TensorParallelModel,
  type TransformerDecoderModel,
} from '@fs2/core';

import {
  createFamilyTestWorld,
  expectFixtureModel,
  fixturePath,
  makeTempDir,
  readExpectedLogits,
  writeMetaShards,
  type FamilyTestWorld,
  type TempDir,
} from '../../../test/support/index.js';
import { expectNoWorkers, expectTensorParallelFixture } from '../../../test/support/tensorParallel.js';
import type { LlamaConfig } from './config.js';
import { createLlamaModel } from './factory.js';
import { getLlamaModelHub } from './hub.js';
import { registerLlamaFamily } from './register.js';

// The llama family split over tensor-parallel ranks: each rank a worker thread (running the compiled
// dist/: `npm run build` first) that builds its own fs2, loads only its slices of the checkpoint, and
// meets the others in collectives. Its logits must equal the whole model's, on every checkpoint
// layout: Hugging Face safetensors (the embedding split along the model dim, LLaMA 2 style, or along
// the vocabulary, LLaMA 3 style; f32, and bf16 in two files), a Meta checkpoint of one file and one
// saved by two ranks.

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
];

function cards(meta2: string): string {
  return [
    'name: fixture_llama3',
    'model_family: llama',
    `checkpoint: ${fixturePath('llama3')}`,
    ...LLAMA3_FIXTURE_CONFIG,
    '  ffn_inner_dim: 160',
    '  ffn_inner_dim_scale: 1.0',
    '  ffn_inner_dim_multiple_of: 1',
    '---',
    'name: fixture_llama3_vocab_sharded',
    'base: fixture_llama3',
    'model_config: {shard_embed_dim: false}',
    '---',
    'name: fixture_llama3_bf16_sharded',
    'base: fixture_llama3_vocab_sharded',
    `checkpoint: ${fixturePath('llama3_bf16_sharded')}`,
    '---',
    'name: fixture_llama3_meta',
    'base: fixture_llama3_meta2',
    `checkpoint: ${fixturePath('llama3_meta')}`,
    '---',
    'name: fixture_llama3_meta2',
    'model_family: llama',
    `checkpoint: ${meta2}`,
    ...LLAMA3_FIXTURE_CONFIG,
    // params.json's multiple_of 32 and ffn_dim_multiplier 0.9, in fairseq2's terms: 4 * 64 -> 160.
    '  ffn_inner_dim: 256',
    '  ffn_inner_dim_multiplier: 0.9',
    '  ffn_inner_dim_multiple_of: 32',
    '  shard_embed_dim: false',
    '',
  ].join('\n');
}

describe('the llama family over tensor-parallel ranks', () => {
  let world: FamilyTestWorld;
  let temp: TempDir;
  let meta2: string;
  beforeAll(async () => {
    temp = makeTempDir('fs2-tp-');
    // A Meta checkpoint as Meta's code saves a model trained on 2 ranks: consolidated.00.pth and .01.pth.
    meta2 = await writeMetaShards(fixturePath('llama3_meta'), join(temp.path, 'meta2'), 2);
    world = await createFamilyTestWorld(registerLlamaFamily, { 'fixtures.yaml': cards(meta2) });
  }, 30_000);
  afterAll(() => {
    world.cleanup();
    temp.cleanup();
  });
  const hub = () => getLlamaModelHub(world.resolver);

  describe('without workers', () => {
    it.each(['fixture_llama3', 'fixture_llama3_vocab_sharded', 'fixture_llama3_meta2'])(
      "iterCheckpoint with gangs yields each rank's part of every tensor: %s",
      async (name) => {
        const config = hub().getModelConfig(name) as LlamaConfig;
        const path = name === 'fixture_llama3_meta2' ? meta2 : fixturePath('llama3');
        const whole: StateEntry[] = [];
        for await (const entry of hub().iterCheckpoint(path, config)) {
          whole.push({ ...entry, data: entry.data.slice() });
        }
        expect(hub().family.capabilities.tensorParallel).toBe(true);
        for (const rank of [0, 1]) {
          const gangs = createParallelGangs(new FakeGang({ rank, size: 2 }), { tpSize: 2 });
          const parts: StateEntry[] = [];
          for await (const entry of hub().iterCheckpoint(path, config, { gangs })) {
            parts.push({ ...entry, data: entry.data.slice() });
          }
          const sharding = createLlamaModel(config, { device: undefined, gangs, meta: true }).tensorParallel;
          expect(sharding?.rank).toBe(rank);
          expect(parts).toEqual(whole.map((entry) => shardStateEntry(entry, sharding!)));
          // Half of every split tensor, the whole of the others.
          expect(parts.map((p) => p.data.length).reduce((a, b) => a + b)).toBeLessThan(whole.map((e) => e.data.length).reduce((a, b) => a + b));
        }
      },
      30_000,
    );

    it('loads a Meta checkpoint of 2 consolidated.NN.pth files into one thread, with the reference logits', async () => {
      await useDevice('cpu');
      const model = await hub().loadModel('fixture_llama3_meta2', { device: 'cpu', progress: false });
      try {
        await expectFixtureModel(model, readExpectedLogits('llama3_meta'));
      } finally {
        model.dispose();
      }
    }, 30_000);

    it("creates one rank's part of a random model over gangs, and refuses to save it", async () => {
      await useDevice('cpu');
      const config = hub().getModelConfig('fixture_llama3');
      const gangs = createParallelGangs(new FakeGang({ rank: 1, size: 2 }), { tpSize: 2 });
      const part = await hub().createNewModel(config, { gangs, seed: 3 });
      const whole = await hub().createNewModel(config, { device: 'cpu', seed: 3 });
      try {
        expect(part.device?.name).toBe('cpu');
        // The rank's part of the whole model's random weights, for a seed.
        const parts = [...part.stateEntries()];
        expect(parts).toEqual([...whole.stateEntries()].map((entry) => shardStateEntry(entry, part.tensorParallel!)));
        const error = await hub()
          .saveModel(part, config, join(temp.path, 'saved'), { format: 'fs2' })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(NotSupportedError);
        expect((error as Error).message).toBe(
          'The llama model is split over 2 tensor-parallel ranks, and each holds only its part of the weights: load it whole (without `gangs`) to save it.',
        );
      } finally {
        part.dispose();
        whole.dispose();
      }
    }, 30_000);

    it('refuses an impossible split before starting any worker', async () => {
      const error = await hub()
        .loadModel('fixture_llama3', { tp: 3, progress: false })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TensorParallelSplitError);
      expect((error as Error).message).toBe(
        'The llama model cannot be split over 3 tensor-parallel ranks: `num_attn_heads` (4) is not a multiple of 3; `num_key_value_heads` (2) is not a multiple of 3; the feed-forward width (160) is not a multiple of 3; `model_dim` (64) is not a multiple of 3; `vocab_size` (512) is not a multiple of 3.',
      );
      expect(ThreadGangHost.liveWorkersInProcess).toBe(0);
      // The same check guards gangs given directly.
      const gangs = createParallelGangs(new FakeGang({ rank: 0, size: 4 }), { tpSize: 4 });
      await expect(hub().createNewModel(hub().getModelConfig('fixture_llama3'), { gangs, meta: true })).rejects.toThrow(
        'The llama model cannot be split over 4 tensor-parallel ranks: `num_key_value_heads` (2) is not a multiple of 4.',
      );
      expect(createFakeGangs().tp.size).toBe(1);
    });
  });

  describe.each([
    ['fixture_llama3', 'llama3'],
    ['fixture_llama3_vocab_sharded', 'llama3'],
    ['fixture_llama3_bf16_sharded', 'llama3_bf16_sharded'],
    // One consolidated.00.pth split over 2 ranks, and 2 files over 2 ranks (each rank reads its own).
    ['fixture_llama3_meta', 'llama3_meta'],
    ['fixture_llama3_meta2', 'llama3_meta'],
  ] as const)('%s over 2 ranks', (name, fixture) => {
    let split: TensorParallelModel;
    let whole: TransformerDecoderModel;
    beforeAll(async () => {
      await useDevice('wasm');
      whole = await hub().loadModel(name, { device: 'wasm', progress: false });
      split = await hub().loadModel(name, { tp: 2, progress: false });
    }, 60_000);
    afterAll(async () => {
      whole.dispose();
      await split.dispose();
      expectNoWorkers();
    });

    it('computes the logits and the tokens of the whole model, each rank holding half of it', async () => {
      expect(split.tensorParallelSize).toBe(2);
      // Each rank holds half of everything but the norms (2 per layer and a final one, of 64), which both hold.
      const norms = (2 * 3 + 1) * 64;
      expect(split.rankParameters).toEqual([(whole.numParameters() + norms) / 2, (whole.numParameters() + norms) / 2]);
      await expectTensorParallelFixture(split, whole, readExpectedLogits(fixture));
    }, 60_000);
  });
});
