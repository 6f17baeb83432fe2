import { registerModelFamily, type DependencyContainer } from '@fs2/core';

import { LLAMA_ARCHS, llamaDefaultConfig } from './archs.js';
import { LLAMA_FAMILY, LlamaConfigSchema } from './config.js';
import { createLlamaModel } from './factory.js';
import { llamaHuggingFaceConverter, llamaHuggingFaceInterop, llamaMetaConverter, llamaMetaInterop } from './interop.js';

/**
 * Registers the llama model family (fairseq2's `register_model_family(container, "llama", ...)`
 * with `register_llama_configs`): its config schema, architecture presets, factory, Hugging Face
 * and Meta checkpoint converters, and `config.json` / `params.json` interop.
 */
export function registerLlamaFamily(container: DependencyContainer): void {
  registerModelFamily(container, LLAMA_FAMILY, {
    configSchema: LlamaConfigSchema,
    defaultConfig: llamaDefaultConfig,
    archs: LLAMA_ARCHS,
    factory: createLlamaModel,
    converters: [llamaHuggingFaceConverter, llamaMetaConverter],
    huggingFace: llamaHuggingFaceInterop,
    meta: llamaMetaInterop,
  });
}
