export { appCards, completeAppPrompts, createAppFairseq2 } from './appCards.js';
export type { Completion } from './appCards.js';
