/**
 * `@fs2-examples/custom-family`: a model family written outside fs2's core, the reference for
 * authors of third-party families. GPT-2 (Radford et al. 2019) on TF.js, laid out as every family
 * is: `config.ts` (schema), `archs.ts` (presets), `model.ts` and `factory.ts`, `interop.ts`
 * (Hugging Face checkpoints and `config.json`), `hub.ts` (the typed hub), `register.ts` and
 * `extension.ts` (what `initFairseq2()` runs), and `cards/`.
 *
 * @module
 */
export { GPT2_FAMILY, Gpt2ConfigError, Gpt2ConfigSchema, checkGpt2Config } from './config.js';
export type { Gpt2Config } from './config.js';
export { gpt2Archs } from './archs.js';
export type { Gpt2ArchName } from './archs.js';
export { Gpt2Model, estimateGpt2Memory, gpt2Gelu } from './model.js';
export type { Gpt2ModelOptions, Gpt2TokenInput } from './model.js';
export { createGpt2Model } from './factory.js';
export { GPT2_HF_EXPORT_KEY_MAP, GPT2_HF_KEY_MAP, gpt2HuggingFaceConverter, gpt2HuggingFaceInterop } from './interop.js';
export { getGpt2ModelHub } from './hub.js';
export { GPT2_PACKAGE, registerGpt2Family } from './register.js';
export { default as setupGpt2Extension } from './extension.js';
