/**
 * @fs2/mistral: the Mistral 7B model family (v0.1 with sliding-window attention, v0.3) for fs2.
 *
 * Installed next to `@fs2/core`, it registers itself through extension discovery; call
 * {@link registerMistralFamily} yourself when you build a container without discovery.
 *
 * @module
 */
export { MISTRAL_FAMILY, MistralConfigSchema } from './config.js';
export type { MistralConfig } from './config.js';
export { MISTRAL_ARCHS, mistralDefaultConfig, mistral_7b, mistral_7b_v03 } from './archs.js';
export { createMistralModel, mistralDecoderConfig } from './factory.js';
export {
  MISTRAL_HF_EXPORT_KEY_MAP,
  MISTRAL_HF_KEY_MAP,
  MISTRAL_REFERENCE_KEY_MAP,
  mistralHuggingFaceConverter,
  mistralHuggingFaceInterop,
  mistralMetaInterop,
  mistralReferenceConverter,
} from './interop.js';
export { getMistralModelHub, getMistralTokenizerHub } from './hub.js';
export { MistralTokenizerConfigSchema, loadMistralTokenizer, mistralTokenizerDefaultConfig } from './tokenizer.js';
export type { MistralTokenizerConfig } from './tokenizer.js';
export { registerMistralFamily } from './register.js';
export { default as setupMistralExtension } from './extension.js';
