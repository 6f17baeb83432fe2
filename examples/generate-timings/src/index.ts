export { DEFAULT_MODEL_CARD, formatTimings, generateWithTimings } from './timings.js';
export type { GenerationTimings, TimingOptions } from './timings.js';
