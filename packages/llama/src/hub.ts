import { createModelHubAccessor, createTokenizerHubAccessor, type HuggingFaceTokenizer, type TransformerDecoderModel } from '@fs2/core';

import { LLAMA_FAMILY, LlamaConfigSchema, type LlamaConfig } from './config.js';
import { LlamaTokenizerConfigSchema, type LlamaTokenizerConfig } from './tokenizer.js';

/**
 * The llama model hub (fairseq2's `get_llama_model_hub`), from the process-global resolver
 * (after `initFairseq2()`) or the one given:
 *
 * ```ts
 * const hub = getLlamaModelHub();
 * const model = await hub.loadModel('llama3_2_1b_instruct');
 * const config = hub.getArchConfig('llama3_1_8b'); // a fresh LlamaConfig
 * ```
 *
 * @throws ModelFamilyNotKnownError when the llama family is not registered.
 */
export const getLlamaModelHub = createModelHubAccessor<TransformerDecoderModel, LlamaConfig>(LLAMA_FAMILY, {
  configSchema: LlamaConfigSchema,
});

/**
 * The llama tokenizer hub (fairseq2's `get_llama_tokenizer_hub`):
 *
 * ```ts
 * const tokenizer = await getLlamaTokenizerHub().loadTokenizer('llama3_2_1b_instruct');
 * ```
 */
export const getLlamaTokenizerHub = createTokenizerHubAccessor<HuggingFaceTokenizer, LlamaTokenizerConfig>(LLAMA_FAMILY, {
  configSchema: LlamaTokenizerConfigSchema,
});
