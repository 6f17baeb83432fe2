export { makeTempDir } from './tmp.js';
export type { TempDir } from './tmp.js';
export { FIXTURES_DIR, FIXTURE_TOKENS, fixturePath, readExpectedLogits } from './fixtures.js';
export type { ExpectedLogits, FixtureName } from './fixtures.js';
export { caught, caughtAsync, yamlProvider, yamlStore } from './assets.js';
