import { createModelHubAccessor, createTokenizerHubAccessor, type HuggingFaceTokenizer, type TransformerDecoderModel } from '@fs2/core';

import { MISTRAL_FAMILY, MistralConfigSchema, type MistralConfig } from './config.js';
import { MistralTokenizerConfigSchema, type MistralTokenizerConfig } from './tokenizer.js';

/**
 * The mistral model hub (fairseq2's `get_mistral_model_hub`), from the process-global resolver
 * (after `initFairseq2()`) or the one given:
 *
 * ```ts
 * const hub = getMistralModelHub();
 * const model = await hub.loadModel('mistral_7b_instruct_v03');
 * ```
 *
 * @throws ModelFamilyNotKnownError when the mistral family is not registered.
 */
export const getMistralModelHub = createModelHubAccessor<TransformerDecoderModel, MistralConfig>(MISTRAL_FAMILY, {
  configSchema: MistralConfigSchema,
});

/**
 * The mistral tokenizer hub (fairseq2's `get_mistral_tokenizer_hub`):
 *
 * ```ts
 * const tokenizer = await getMistralTokenizerHub().loadTokenizer('mistral_7b_instruct_v03');
 * ```
 */
export const getMistralTokenizerHub = createTokenizerHubAccessor<HuggingFaceTokenizer, MistralTokenizerConfig>(MISTRAL_FAMILY, {
  configSchema: MistralTokenizerConfigSchema,
});
