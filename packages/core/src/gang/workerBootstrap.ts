/**
 * The entry of every thread gang worker (internal): a {@link ThreadGangHost} starts this compiled
 * module (`dist/gang/workerBootstrap.js`) in each worker thread. It attaches the rank to the shared
 * memory, imports the user's worker module, runs its setup, then serves requests one at a time.
 *
 * It imports only the gang's own modules (no TF.js, no DI runtime), so that a worker starts fast; the
 * user's module imports whatever it needs, `@fs2/core` included.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InvalidOperationError } from '../errors/Fs2Error.js';
import {
  PROTOCOL_VERSION,
  serializeError,
  type HostToWorker,
  type RequestMessage,
  type WorkerBootData,
  type WorkerToHost,
} from './protocol.js';
import { computeLayout, isGangMemory } from './sharedMemory.js';
import { ThreadGang, type ThreadGangRuntime } from './ThreadGang.js';
import type { ThreadGangApi, ThreadGangWorkerContext } from './ThreadGangWorker.js';

const port = parentPort;
const boot = workerData as WorkerBootData | undefined;
if (port === null || boot?.protocol !== PROTOCOL_VERSION) {
  throw new InvalidOperationError(
    `This module is the entry of a thread gang worker (protocol ${PROTOCOL_VERSION}); only a ThreadGangHost of the same @fs2/core version can start it.`,
  );
}

function post(message: WorkerToHost): void {
  port!.postMessage(message);
}

const layout = computeLayout(boot.size, boot.chunkFloats, boot.subGangSlots);
const i32 = new Int32Array(boot.buffer);
if (!isGangMemory(i32) || boot.buffer.byteLength !== layout.totalBytes) {
  throw new InvalidOperationError('The shared memory of this thread gang worker was not made by its host.');
}
const runtime: ThreadGangRuntime = {
  i32,
  f32: new Float32Array(boot.buffer),
  u8: new Uint8Array(boot.buffer),
  layout,
  rootRank: boot.rank,
  collectiveTimeoutMs: boot.collectiveTimeoutMs,
  spinIterations: boot.spinIterations,
  report: (record) => post({ type: 'gangFailure', record }),
};
const rootRanks = Array.from({ length: boot.size }, (_, r) => r);
const gang = new ThreadGang(runtime, 0, layout.dataStart, rootRanks);

/** The names of the functions of `api`, own and inherited (a class instance's methods). */
function handlerNames(api: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = api; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name !== 'constructor' && typeof (api as Record<string, unknown>)[name] === 'function') {
        names.add(name);
      }
    }
  }
  return [...names].sort();
}

async function start(): Promise<ThreadGangApi | undefined> {
  try {
    const module = (await import(boot!.entry)) as { default?: unknown };
    const setup = module.default;
    if (typeof setup !== 'function') {
      throw new TypeError(
        `The thread gang worker module \`${boot!.entry}\` must export a setup function as its default export, but its default export is ${typeof setup === 'undefined' ? 'missing' : `of type ${typeof setup}`}.`,
      );
    }
    const context: ThreadGangWorkerContext = { gang, rank: boot!.rank, size: boot!.size, initData: boot!.initData };
    const api = (await (setup as (context: ThreadGangWorkerContext) => unknown)(context)) as unknown;
    if (typeof api !== 'object' || api === null) {
      throw new TypeError(
        `The setup function of the thread gang worker module \`${boot!.entry}\` must return an object of request handlers, but returned ${api === null ? 'null' : typeof api}.`,
      );
    }
    post({ type: 'ready', methods: handlerNames(api) });
    return api as ThreadGangApi;
  } catch (error) {
    post({ type: 'startFailed', error: serializeError(error) });
    return undefined;
  }
}

async function serve(api: ThreadGangApi, request: RequestMessage): Promise<void> {
  let value: unknown;
  try {
    const handler = api[request.method] as ((payload: unknown) => unknown) | undefined;
    if (handler === undefined) {
      throw new TypeError(`The thread gang worker has no \`${request.method}\` handler.`);
    }
    value = await handler.call(api, request.payload);
  } catch (error) {
    post({ type: 'error', id: request.id, error: serializeError(error) });
    return;
  }
  try {
    post({ type: 'reply', id: request.id, value });
  } catch (error) {
    // The reply cannot be cloned (a function, a class instance with private state, ...).
    post({ type: 'error', id: request.id, error: serializeError(error) });
  }
}

const api = await start();
// One request at a time, in the order the host sent them: every rank then meets its peers in the
// same collectives. After a failed start, the worker idles until the host terminates it.
let queue = Promise.resolve();
port.on('message', (message: HostToWorker) => {
  if (api !== undefined) {
    queue = queue.then(() => serve(api, message));
  }
});
