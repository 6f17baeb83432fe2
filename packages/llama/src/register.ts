import { registerModelFamily, registerTokenizerFamily, type DependencyContainer } from '@fs2/core';

import { LLAMA_ARCHS, llamaDefaultConfig } from './archs.js';
import { LLAMA_FAMILY, LlamaConfigSchema } from './config.js';
import { createLlamaModel } from './factory.js';
import { llamaHuggingFaceConverter, llamaHuggingFaceInterop, llamaMetaConverter, llamaMetaInterop } from './interop.js';
import { LlamaTokenizerConfigSchema, loadLlamaTokenizer, llamaTokenizerDefaultConfig } from './tokenizer.js';

/**
 * Registers the llama model family (fairseq2's `register_model_family(container, "llama", ...)`
 * with `register_llama_configs`): its config schema, architecture presets, factory, Hugging Face
 * and Meta checkpoint converters, and `config.json` / `params.json` interop; then the llama tokenizer
 * family (Llama 2 and 3 `tokenizer.json` files, `use_eot`).
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
  registerTokenizerFamily(container, LLAMA_FAMILY, {
    configSchema: LlamaTokenizerConfigSchema,
    defaultConfig: llamaTokenizerDefaultConfig,
    loader: loadLlamaTokenizer,
  });
}
