export { registerLibrary } from './lib.js';
export type { LibraryOptions } from './lib.js';
export { registerCheckpointLoaders } from './checkpoint.js';
