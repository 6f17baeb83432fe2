/**
 * @fs2/qwen: the Qwen model family (Qwen 2.5 and Qwen 3) for fs2.
 *
 * Installed next to `@fs2/core`, it registers itself through extension discovery; call
 * {@link registerQwenFamily} yourself when you build a container without discovery.
 *
 * @module
 */
export { QWEN_FAMILY, QwenConfigSchema } from './config.js';
export type { QwenConfig } from './config.js';
export {
  QWEN_ARCHS,
  qwen25_0_5b,
  qwen25_14b,
  qwen25_1_5b,
  qwen25_32b,
  qwen25_3b,
  qwen25_72b,
  qwen25_7b,
  qwen3_0_6b,
  qwen3_14b,
  qwen3_1_7b,
  qwen3_32b,
  qwen3_4b,
  qwen3_8b,
  qwenDefaultConfig,
} from './archs.js';
export { createQwenModel, qwenDecoderConfig } from './factory.js';
export { QWEN_HF_EXPORT_KEY_MAP, QWEN_HF_KEY_MAP, qwenHuggingFaceConverter, qwenHuggingFaceInterop } from './interop.js';
export { getQwenModelHub, getQwenTokenizerHub } from './hub.js';
export { QwenTokenizerConfigSchema, loadQwenTokenizer, qwenTokenizerDefaultConfig, qwenTokenizerOptions } from './tokenizer.js';
export type { QwenTokenizerConfig } from './tokenizer.js';
export { registerQwenFamily } from './register.js';
export { default as setupQwenExtension } from './extension.js';
