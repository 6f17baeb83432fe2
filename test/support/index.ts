export { makeTempDir } from './tmp.js';
export type { TempDir } from './tmp.js';
