import { Type, type Static } from '@sinclair/typebox';

import { registerModelFamily } from '../../packages/core/src/composition/models.js';
import type { ModelFactoryContext } from '../../packages/core/src/models/ModelFamily.js';
import { TransformerDecoderModel } from '../../packages/core/src/nn/TransformerDecoderModel.js';
import type { DependencyContainer } from '../../packages/core/src/runtime/DependencyContainer.js';

/** The name of {@link registerTestDecoderFamily}'s family. */
export const TEST_DECODER_FAMILY = 'test_decoder';

/**
 * A minimal model family whose factory builds `TransformerDecoderModel`s, with fairseq2-style
 * snake_case config fields: what the recipe tests train, evaluate and generate with, independent
 * of the llama/qwen/mistral packages.
 */
export const TestDecoderConfigSchema = Type.Object(
  {
    vocab_size: Type.Integer({ minimum: 1 }),
    model_dim: Type.Integer({ minimum: 1 }),
    num_layers: Type.Integer({ minimum: 1 }),
    num_attn_heads: Type.Integer({ minimum: 1 }),
    num_key_value_heads: Type.Integer({ minimum: 1 }),
    ffn_inner_dim: Type.Integer({ minimum: 1 }),
    max_seq_len: Type.Integer({ minimum: 1 }),
    tied_embeddings: Type.Boolean(),
  },
  { $id: 'test.TestDecoderConfig' },
);
export type TestDecoderConfig = Static<typeof TestDecoderConfigSchema>;

/** `decoder_tiny`: a byte-level vocabulary with 3 special tokens, 2 layers of width 32 (about 30k parameters). */
export function testDecoderTiny(): TestDecoderConfig {
  return {
    vocab_size: 259,
    model_dim: 32,
    num_layers: 2,
    num_attn_heads: 4,
    num_key_value_heads: 2,
    ffn_inner_dim: 64,
    max_seq_len: 64,
    tied_embeddings: false,
  };
}

function createTestDecoder(config: TestDecoderConfig, context: ModelFactoryContext): TransformerDecoderModel {
  return new TransformerDecoderModel(
    {
      vocabSize: config.vocab_size,
      modelDim: config.model_dim,
      numLayers: config.num_layers,
      numHeads: config.num_attn_heads,
      numKvHeads: config.num_key_value_heads,
      ffnInnerDim: config.ffn_inner_dim,
      maxSeqLen: config.max_seq_len,
      tiedEmbeddings: config.tied_embeddings,
    },
    context.device === undefined ? {} : { device: context.device },
  );
}

/** Registers the `test_decoder` family (archs: `decoder_tiny`). */
export function registerTestDecoderFamily(container: DependencyContainer): void {
  registerModelFamily(container, TEST_DECODER_FAMILY, {
    configSchema: TestDecoderConfigSchema,
    defaultConfig: testDecoderTiny,
    archs: { decoder_tiny: testDecoderTiny },
    factory: createTestDecoder,
    converters: [],
  });
}
