export { makeTempDir } from './tmp.js';
export type { TempDir } from './tmp.js';
export { FIXTURES_DIR, FIXTURE_TOKENS, fixturePath, readExpectedLogits } from './fixtures.js';
export type { ExpectedLogits, FixtureName } from './fixtures.js';
export { caught, caughtAsync, yamlProvider, yamlStore } from './assets.js';
export { defaultEtag, gitBlobId, sha256Hex, startTestHttpServer } from './http-server.js';
export type { HubRepoFile, HubRepoSpec, RecordedRequest, RouteHandler, ServedFile, TestHttpServer } from './http-server.js';
export { buildTar, buildTarGz, buildZip } from './archives.js';
export type { ArchiveEntry } from './archives.js';
export { bundleForNode, spawnNode, waitUntil } from './node-child.js';
export type { NodeChild } from './node-child.js';
export { PickleBuilder } from './pickle.js';
export { buildTorchCheckpoint, buildTorchStateDict } from './torch.js';
export { writeMetaShards } from './metaShards.js';
export type { TorchCheckpointSpec, TorchStorageSpec, TorchTensorSpec } from './torch.js';
export { MemoryCheckpointReader } from './memoryCheckpoint.js';
export {
  LOGITS_TOLERANCE,
  argmaxRows,
  createFamilyTestWorld,
  expectFixtureModel,
  incrementalLogits,
  liveTensors,
  maxAbsDiff,
  promptLogits,
} from './decoder-fixtures.js';
export type { FamilyTestWorld } from './decoder-fixtures.js';
export { decoderParameterCount } from './parameterCount.js';
export type { DecoderShape } from './parameterCount.js';
export { GPT2_CARDS_FILE, GPT2_EXAMPLE_DIR, GPT2_TINY_CHECKPOINT, readCheckpointTensors } from './gpt2.js';
export type { HostTensorData } from './gpt2.js';
export { isolatedEnv } from './env.js';
export { copyRealTokenizer, realTokenizerDir } from './tokenizers.js';
export type { RealTokenizerName } from './tokenizers.js';
export { BYTE_TOKENIZER_SPECIALS, SIMPLE_CHAT_TEMPLATE, byteTokenizer } from './datasets.js';
export { TEST_DECODER_FAMILY, TestDecoderConfigSchema, registerTestDecoderFamily, testDecoderTiny } from './decoderFamily.js';
export type { TestDecoderConfig } from './decoderFamily.js';
export { FailingWrites, SlowWrites, simulatedErrno } from './faultyFileSystems.js';
