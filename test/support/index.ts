export { makeTempDir } from './tmp.js';
export type { TempDir } from './tmp.js';
export { FIXTURES_DIR, FIXTURE_TOKENS, fixturePath, readExpectedLogits } from './fixtures.js';
export type { ExpectedLogits, FixtureName } from './fixtures.js';
export { defaultEtag, gitBlobId, sha256Hex, startTestHttpServer } from './http-server.js';
export type { HubRepoFile, HubRepoSpec, RecordedRequest, RouteHandler, ServedFile, TestHttpServer } from './http-server.js';
export { buildTar, buildTarGz, buildZip } from './archives.js';
export type { ArchiveEntry } from './archives.js';
