/**
 * @fs2/llama: the LLaMA model family (LLaMA 2, Llama 3, 3.1, 3.2, 3.3) for fs2.
 *
 * Installed next to `@fs2/core`, it registers itself through extension discovery; call
 * {@link registerLlamaFamily} yourself when you build a container without discovery.
 *
 * @module
 */
export { LLAMA_FAMILY, LlamaConfigSchema, LlamaRopeScaleConfigSchema, llamaFfnInnerDim } from './config.js';
export type { LlamaConfig, LlamaRopeScaleConfig } from './config.js';
export {
  LLAMA_ARCHS,
  llama2_13b,
  llama2_70b,
  llama2_7b,
  llama3_1_405b,
  llama3_1_70b,
  llama3_1_8b,
  llama3_2_1b,
  llama3_2_3b,
  llama3_70b,
  llama3_8b,
  llamaDefaultConfig,
} from './archs.js';
export { createLlamaModel, llamaDecoderConfig } from './factory.js';
export {
  LLAMA_HF_EXPORT_KEY_MAP,
  LLAMA_HF_KEY_MAP,
  LLAMA_META_KEY_MAP,
  META_LLAMA3_ROPE_SCALE,
  llamaHeadDim,
  llamaHuggingFaceConverter,
  llamaHuggingFaceInterop,
  llamaMetaConverter,
  llamaMetaInterop,
  metaLlamaFfnDim,
} from './interop.js';
export { getLlamaModelHub, getLlamaTokenizerHub } from './hub.js';
export { LlamaTokenizerConfigSchema, llamaTokenizerDefaultConfig, llamaTokenizerOptions, loadLlamaTokenizer } from './tokenizer.js';
export type { LlamaTokenizerConfig } from './tokenizer.js';
export { registerLlamaFamily } from './register.js';
export { default as setupLlamaExtension } from './extension.js';
