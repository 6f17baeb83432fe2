export {
  ChatTemplateError,
  ChatTemplateNotFoundError,
  TokenizerFamilyNotKnownError,
  TokenizerGatedError,
  TokenizerModelError,
  TokenizerNotKnownError,
} from './errors.js';
export type {
  ChatMessage,
  ChatTemplateOptions,
  DecodeOptions,
  EncodeOptions,
  IncrementalDecoderOptions,
  Tokenizer,
  VocabInfo,
} from './Tokenizer.js';
export { IncrementalDecoder } from './IncrementalDecoder.js';
export { ChatTemplates } from './ChatTemplates.js';
export type { ChatTemplateTokens } from './ChatTemplates.js';
export type { TokenDecoder } from './IncrementalDecoder.js';
export { HuggingFaceTokenizer } from './HuggingFaceTokenizer.js';
export type {
  HuggingFaceTokenizerFiles,
  HuggingFaceTokenizerOptions,
  HuggingFaceTokenizerOptionsFactory,
  TokenizerVocabulary,
} from './HuggingFaceTokenizer.js';
export { TOKENIZER_JSON, loadHuggingFaceTokenizer } from './loadHuggingFaceTokenizer.js';
export { buildByteLevelTokenizerJson, writeByteLevelTokenizer } from './buildByteLevelTokenizerJson.js';
export type { ByteLevelTokenizerOptions, WriteByteLevelTokenizerOptions } from './buildByteLevelTokenizerJson.js';
export { TokenizerFamily } from './TokenizerFamily.js';
export type { LoadTokenizerOptions, TokenizerConfigOf, TokenizerLoader } from './TokenizerFamily.js';
export { StandardTokenizerFamily } from './StandardTokenizerFamily.js';
export type { TokenizerFamilyServices, TokenizerFamilySpec } from './StandardTokenizerFamily.js';
export { TokenizerHub, createTokenizerHubAccessor, retrieveTokenizerCard } from './TokenizerHub.js';
export type { TokenizerHubAccessor, TokenizerHubAccessorOptions } from './TokenizerHub.js';
export { GlobalTokenizerLoader, StandardGlobalTokenizerLoader, loadTokenizer, loadTokenizerFromPath } from './GlobalTokenizerLoader.js';
export type {
  GlobalLoadTokenizerFromPathOptions,
  GlobalLoadTokenizerOptions,
  LoadTokenizerFromPathOptions,
} from './GlobalTokenizerLoader.js';
export { HF_TOKENIZER_FAMILY, tokenizerFamilyName } from './tokenizerFamilyName.js';
export type { CardTokenizerFamily } from './tokenizerFamilyName.js';
export {
  HuggingFaceTokenizerConfigSchema,
  getHuggingFaceTokenizerHub,
  huggingFaceTokenizerFamilySpec,
  huggingFaceTokenizerOptions,
} from './huggingFaceTokenizerFamily.js';
export type { HuggingFaceTokenizerConfig } from './huggingFaceTokenizerFamily.js';
