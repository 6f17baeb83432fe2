export { causalAttention, embeddingLookup, linear, sequenceNll } from './trainingOps.js';
export type { CausalAttentionOptions } from './trainingOps.js';
export { TrainableDecoder } from './TrainableDecoder.js';
export type { TrainableDecoderOptions } from './TrainableDecoder.js';
export { ADAMW_STATE_SUFFIXES, AdamW } from './AdamW.js';
export type { AdamWOptions } from './AdamW.js';
export { clipGradientNorm } from './clipGradientNorm.js';
