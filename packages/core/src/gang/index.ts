export type { Gang, ReduceOperation } from './Gang.js';
export { REDUCE_OPERATIONS } from './Gang.js';
export { GangError } from './GangError.js';
export type { GangFailureKind } from './GangError.js';
export { FakeGang } from './FakeGang.js';
export type { FakeGangOptions } from './FakeGang.js';
export { computeParallelMesh, createFakeGangs, createParallelGangs } from './Gangs.js';
export type { Gangs, ParallelGangsOptions, ParallelMesh } from './Gangs.js';
export { ThreadGang } from './ThreadGang.js';
export { ThreadGangHost } from './ThreadGangHost.js';
export { compiledModuleUrl } from './compiledModuleUrl.js';
export type { ThreadGangHostOptions, ThreadGangRequestOptions } from './ThreadGangHost.js';
export { defineThreadGangWorker } from './ThreadGangWorker.js';
export type {
  ThreadGangApi,
  ThreadGangApiOf,
  ThreadGangApiShape,
  ThreadGangPayload,
  ThreadGangReply,
  ThreadGangRequestHandler,
  ThreadGangWorkerContext,
  ThreadGangWorkerSetup,
} from './ThreadGangWorker.js';
export { allGatherTensor, allReduceTensor, broadcastTensor } from './tensorCollectives.js';
