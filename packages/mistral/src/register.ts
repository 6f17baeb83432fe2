import { registerModelFamily, registerTokenizerFamily, type DependencyContainer } from '@fs2/core';

import { MISTRAL_ARCHS, mistralDefaultConfig } from './archs.js';
import { MISTRAL_FAMILY, MistralConfigSchema } from './config.js';
import { createMistralModel } from './factory.js';
import { mistralHuggingFaceConverter, mistralHuggingFaceInterop, mistralMetaInterop, mistralReferenceConverter } from './interop.js';
import { MistralTokenizerConfigSchema, loadMistralTokenizer, mistralTokenizerDefaultConfig } from './tokenizer.js';

/**
 * Registers the mistral model family (fairseq2's `register_model_family(container, "mistral",
 * ...)` with `register_mistral_configs`): its config schema, architecture presets, factory,
 * Hugging Face and reference checkpoint converters, and `config.json` / `params.json` interop; then
 * the mistral tokenizer family.
 */
export function registerMistralFamily(container: DependencyContainer): void {
  registerModelFamily(container, MISTRAL_FAMILY, {
    configSchema: MistralConfigSchema,
    defaultConfig: mistralDefaultConfig,
    archs: MISTRAL_ARCHS,
    factory: createMistralModel,
    converters: [mistralHuggingFaceConverter, mistralReferenceConverter],
    huggingFace: mistralHuggingFaceInterop,
    meta: mistralMetaInterop,
  });
  registerTokenizerFamily(container, MISTRAL_FAMILY, {
    configSchema: MistralTokenizerConfigSchema,
    defaultConfig: mistralTokenizerDefaultConfig,
    loader: loadMistralTokenizer,
  });
}
