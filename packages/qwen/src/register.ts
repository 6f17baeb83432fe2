import { registerModelFamily, registerTokenizerFamily, type DependencyContainer } from '@fs2/core';

import { QWEN_ARCHS, qwenDefaultConfig } from './archs.js';
import { QWEN_FAMILY, QwenConfigSchema } from './config.js';
import { createQwenModel } from './factory.js';
import { qwenHuggingFaceConverter, qwenHuggingFaceInterop } from './interop.js';
import { QwenTokenizerConfigSchema, loadQwenTokenizer, qwenTokenizerDefaultConfig } from './tokenizer.js';

/**
 * Registers the qwen model family (Qwen 2.5 and Qwen 3; fairseq2's
 * `register_model_family(container, "qwen", ...)` with `register_qwen_configs`): its config
 * schema, architecture presets, factory, Hugging Face checkpoint converter and `config.json` interop;
 * then the qwen tokenizer family (`use_im_end`).
 */
export function registerQwenFamily(container: DependencyContainer): void {
  registerModelFamily(container, QWEN_FAMILY, {
    configSchema: QwenConfigSchema,
    defaultConfig: qwenDefaultConfig,
    archs: QWEN_ARCHS,
    factory: createQwenModel,
    converters: [qwenHuggingFaceConverter],
    huggingFace: qwenHuggingFaceInterop,
  });
  registerTokenizerFamily(container, QWEN_FAMILY, {
    configSchema: QwenTokenizerConfigSchema,
    defaultConfig: qwenTokenizerDefaultConfig,
    loader: loadQwenTokenizer,
  });
}
