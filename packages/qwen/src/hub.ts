import { createModelHubAccessor, createTokenizerHubAccessor, type HuggingFaceTokenizer, type TransformerDecoderModel } from '@fs2/core';

import { QWEN_FAMILY, QwenConfigSchema, type QwenConfig } from './config.js';
import { QwenTokenizerConfigSchema, type QwenTokenizerConfig } from './tokenizer.js';

/**
 * The qwen model hub (fairseq2's `get_qwen_model_hub`), from the process-global resolver (after
 * `initFairseq2()`) or the one given:
 *
 * ```ts
 * const hub = getQwenModelHub();
 * const model = await hub.loadModel('qwen3_0.6b');
 * ```
 *
 * @throws ModelFamilyNotKnownError when the qwen family is not registered.
 */
export const getQwenModelHub = createModelHubAccessor<TransformerDecoderModel, QwenConfig>(QWEN_FAMILY, {
  configSchema: QwenConfigSchema,
});

/**
 * The qwen tokenizer hub (fairseq2's `get_qwen_tokenizer_hub`):
 *
 * ```ts
 * const tokenizer = await getQwenTokenizerHub().loadTokenizer('qwen3_0.6b');
 * ```
 */
export const getQwenTokenizerHub = createTokenizerHubAccessor<HuggingFaceTokenizer, QwenTokenizerConfig>(QWEN_FAMILY, {
  configSchema: QwenTokenizerConfigSchema,
});
