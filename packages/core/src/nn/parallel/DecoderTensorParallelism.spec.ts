import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import { InvalidArgumentError } from '../../errors/Fs2Error.js';
import { FakeGang } from '../../gang/FakeGang.js';
import { useDevice } from '../devices/DeviceRegistry.js';
import type { Device } from '../devices/Device.js';
import { randomState } from '../randomState.js';
import type { TransformerDecoderConfig } from '../TransformerDecoderConfig.js';
import { TransformerDecoderModel } from '../TransformerDecoderModel.js';
import { ColumnShardedLinear } from './ColumnShardedLinear.js';
import { DecoderTensorParallelism, type DecoderTensorParallelLayout } from './DecoderTensorParallelism.js';
import { TensorParallelSplitError } from './errors.js';
import { shardState } from './ParameterSharding.js';
import { RowShardedLinear } from './RowShardedLinear.js';
import { ShardedEmbedding } from './ShardedEmbedding.js';
import { VocabShardedEmbedding } from './VocabShardedEmbedding.js';

// The shapes of a decoder split over a tensor-parallel gang, and its forward pass on one rank with a
// simulated gang (FakeGang: an all-reduce doubles, an all-gather repeats, so the values are not the
// model's; the numbers are checked against real ranks in the families' tensorParallel.int.spec.ts).

const CONFIG: TransformerDecoderConfig = {
  vocabSize: 12,
  modelDim: 8,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 4,
  ffnInnerDim: 6,
  qkvBias: true,
  qkNorm: true,
  maxSeqLen: 32,
};

const LAYOUTS: readonly DecoderTensorParallelLayout[] = [
  { embedding: 'vocab', finalProjection: 'vocab' },
  { embedding: 'model_dim', finalProjection: 'vocab' },
  { embedding: 'replicated', finalProjection: 'replicated' },
];

function sharded(config: TransformerDecoderConfig, layout: DecoderTensorParallelLayout, rank: number, size: number, device?: Device): TransformerDecoderModel {
  const tensorParallel = new DecoderTensorParallelism(new FakeGang({ rank, size }), layout);
  return new TransformerDecoderModel(config, { tensorParallel, ...(device === undefined ? {} : { device }) });
}

describe('DecoderTensorParallelism', () => {
  describe.each(LAYOUTS)('with the embedding %o', (layout) => {
    it.each([false, true])('gives each rank an equal part of every sharded parameter (tied: %s)', (tiedEmbeddings) => {
      const config = { ...CONFIG, tiedEmbeddings };
      const whole = new TransformerDecoderModel(config).parameterShapes();
      for (const rank of [0, 1]) {
        const model = sharded(config, layout, rank, 2);
        const local = model.parameterShapes();
        expect([...local.keys()]).toEqual([...whole.keys()]);
        for (const [name, shape] of whole) {
          const dim = model.tensorParallel?.shardDim(name);
          const expected = [...shape];
          if (dim !== undefined) {
            expected[dim] = (expected[dim] as number) / 2;
          }
          expect([name, local.get(name)]).toEqual([name, expected]);
        }
      }
    });
  });

  it('splits heads, key/value heads, feed-forward columns, and the embedding and head by the layout', () => {
    const tp = new DecoderTensorParallelism(new FakeGang({ rank: 1, size: 2 }), { embedding: 'model_dim', finalProjection: 'vocab' });
    expect(
      Object.fromEntries(
        [
          'decoder_frontend.embed.weight',
          'decoder.layers.1.self_attn.q_proj.weight',
          'decoder.layers.1.self_attn.k_proj.bias',
          'decoder.layers.1.self_attn.q_norm.weight',
          'decoder.layers.1.self_attn.output_proj.weight',
          'decoder.layers.1.ffn.gate_proj.weight',
          'decoder.layers.1.ffn.inner_proj.weight',
          'decoder.layers.1.ffn.output_proj.weight',
          'decoder.layers.1.ffn_layer_norm.weight',
          'final_proj.weight',
        ].map((name) => [name, tp.shardDim(name)]),
      ),
    ).toEqual({
      'decoder_frontend.embed.weight': 1,
      'decoder.layers.1.self_attn.q_proj.weight': 1,
      'decoder.layers.1.self_attn.k_proj.bias': 0,
      'decoder.layers.1.self_attn.q_norm.weight': undefined,
      'decoder.layers.1.self_attn.output_proj.weight': 0,
      'decoder.layers.1.ffn.gate_proj.weight': 1,
      'decoder.layers.1.ffn.inner_proj.weight': 1,
      'decoder.layers.1.ffn.output_proj.weight': 0,
      'decoder.layers.1.ffn_layer_norm.weight': undefined,
      'final_proj.weight': 1,
    });
    const local = tp.localConfig(new TransformerDecoderModel(CONFIG).config);
    expect([local.numHeads, local.numKvHeads, local.ffnInnerDim, local.vocabSize, local.modelDim]).toEqual([2, 1, 3, 6, 8]);
  });

  it('builds a whole model over a gang of one rank', () => {
    const model = sharded(CONFIG, LAYOUTS[0] as DecoderTensorParallelLayout, 0, 1);
    expect(model.tensorParallel).toBeUndefined();
    expect(model.parameterShapes()).toEqual(new TransformerDecoderModel(CONFIG).parameterShapes());
  });

  it('refuses a split that does not divide, naming every dimension', () => {
    const call = () => sharded({ ...CONFIG, vocabSize: 10 }, { embedding: 'model_dim', finalProjection: 'vocab' }, 0, 3);
    expect(call).toThrow(TensorParallelSplitError);
    expect(call).toThrow(
      'The transformer decoder cannot be split over 3 tensor-parallel ranks: `numHeads` (4) is not a multiple of 3; `numKvHeads` (2) is not a multiple of 3; `vocabSize` (10) is not a multiple of 3; `modelDim` (8) is not a multiple of 3.',
    );
  });

  it('sizes the memory check and the KV cache by one rank', () => {
    const whole = new TransformerDecoderModel(CONFIG).memoryEstimate();
    const half = sharded(CONFIG, LAYOUTS[0] as DecoderTensorParallelLayout, 0, 2).memoryEstimate();
    expect(half.weights).toBeLessThan(whole.weights);
    expect(half.kvCache).toBe(whole.kvCache / 2);
  });

  describe('on one rank of a simulated gang', () => {
    let device: Device;
    beforeAll(async () => {
      device = await useDevice('cpu');
    });

    it.each(LAYOUTS)('runs a forward pass and a cached generation with the full vocabulary, leaking nothing (%o)', async (layout) => {
      for (const tiedEmbeddings of [false, true]) {
        const config = { ...CONFIG, tiedEmbeddings };
        const model = sharded(config, layout, 1, 2, device);
        const before = tf.memory().numTensors;
        const whole = new TransformerDecoderModel(config).parameterShapes();
        await model.loadState(shardState(randomState(whole, { seed: 1 }), model.tensorParallel as DecoderTensorParallelism));
        const loaded = tf.memory().numTensors;
        expect(loaded).toBeGreaterThan(before);

        const logits = model.forward([1, 11, 5]);
        expect(logits.shape).toEqual([1, 3, 12]);
        logits.dispose();
        const cache = model.createCache({ capacity: 8 });
        expect(cache.shape).toEqual({ numLayers: 2, numKvHeads: 1, headDim: 4 });
        cache.dispose();
        expect((await model.generateAll([3, 4], { maxNewTokens: 3 })).tokens).toHaveLength(3);
        expect(tf.memory().numTensors).toBe(loaded);
        model.dispose();
        expect(tf.memory().numTensors).toBe(before);
      }
    });
  });

  describe('sharded modules', () => {
    const gang = new FakeGang({ rank: 1, size: 2 });

    it('column-sharded: each rank holds its columns of every output block; a fused one cannot gather', () => {
      const fused = new ColumnShardedLinear('qkv', 8, 12, gang, {
        gatherOutput: false,
        bias: true,
        outputs: [
          { name: 'q', dim: 8 },
          { name: 'k', dim: 4 },
        ],
      });
      expect(Object.fromEntries(fused.parameterShapes())).toEqual({ 'q.weight': [8, 4], 'k.weight': [8, 2], 'q.bias': [4], 'k.bias': [2] });
      expect(Object.fromEntries(fused.shardDims())).toEqual({ 'q.weight': 1, 'k.weight': 1, 'q.bias': 0, 'k.bias': 0 });

      const call = () => new ColumnShardedLinear('qkv', 8, 12, gang, { outputs: [{ name: 'q', dim: 8 }, { name: 'k', dim: 4 }] });
      expect(call).toThrow(InvalidArgumentError);
      expect(call).toThrow('The column-sharded projection qkv fuses 2 outputs, so its output cannot be gathered: gather each output separately.');
      expect(() => new ColumnShardedLinear('final_proj', 8, 9, gang)).toThrow(
        'The projection `final_proj` cannot be split over 2 tensor-parallel ranks: its output width (9) is not a multiple of 2.',
      );
    });

    it('row-sharded: each rank holds its rows; the bias is whole and replicated', () => {
      const row = new RowShardedLinear('out', 8, 3, gang, { bias: true });
      expect(Object.fromEntries(row.parameterShapes())).toEqual({ 'out.bias': [3], 'out.weight': [4, 3] });
      expect(Object.fromEntries(row.shardDims())).toEqual({ 'out.weight': 0 });
      expect(() => new RowShardedLinear('out', 7, 3, gang)).toThrow(
        'The projection `out` cannot be split over 2 tensor-parallel ranks: its input width (7) is not a multiple of 2.',
      );
    });

    it('embeddings: along the vocabulary (rank 1 holds tokens 6 to 11) or along the model dim', () => {
      const vocab = new VocabShardedEmbedding('embed', 12, 8, gang);
      expect([vocab.vocabSize, vocab.fullVocabSize, vocab.vocabStart]).toEqual([6, 12, 6]);
      expect(Object.fromEntries(vocab.parameterShapes())).toEqual({ 'embed.weight': [6, 8] });
      const dim = new ShardedEmbedding('embed', 12, 8, gang);
      expect([dim.dim, dim.fullDim]).toEqual([4, 8]);
      expect(Object.fromEntries(dim.shardDims())).toEqual({ 'embed.weight': 1 });
      expect(() => new VocabShardedEmbedding('embed', 13, 8, gang)).toThrow(
        'The embedding `embed` cannot be split over 2 tensor-parallel ranks: its vocabulary (13) is not a multiple of 2.',
      );
    });
  });
});
