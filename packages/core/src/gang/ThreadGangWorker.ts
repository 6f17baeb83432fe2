import type { ThreadGang } from './ThreadGang.js';

/** What a thread gang worker's setup function receives. */
export interface ThreadGangWorkerContext<TInit = unknown> {
  /** This worker's root gang: every rank of the host. */
  readonly gang: ThreadGang;
  /** This worker's rank in the root gang (its index among the host's workers). */
  readonly rank: number;
  /** The number of ranks. */
  readonly size: number;
  /** The host's `initData`, structured-cloned (a `SharedArrayBuffer` in it is shared, not copied). */
  readonly initData: TInit;
}

/**
 * A request handler of a worker. It receives the request's payload (structured-cloned) and returns the
 * reply (or a promise of it), which is structured-cloned back to the host. It may call the gang's
 * collectives; every rank receives every request, in the same order, so collectives line up.
 */
export type ThreadGangRequestHandler = (payload: never) => unknown;

/** The request handlers of a worker, by method name: the untyped default, whose payloads and replies are `unknown`. */
export type ThreadGangApi = Readonly<Record<string, (payload: unknown) => unknown>>;

/** Constrains an API type (an interface or an object type) to request handlers. */
export type ThreadGangApiShape<T> = { readonly [K in keyof T]: ThreadGangRequestHandler };

/**
 * The default export of a thread gang worker module: it runs once per rank, in the worker thread,
 * before any request (load the model shard here), and returns the rank's request handlers. It may call
 * collectives (all ranks run it at the same time). A throw fails the host's start.
 */
export type ThreadGangWorkerSetup<TApi extends ThreadGangApiShape<TApi> = ThreadGangApi, TInit = unknown> = (
  context: ThreadGangWorkerContext<TInit>,
) => TApi | Promise<TApi>;

/** The API type that a worker setup function returns: `ThreadGangHost.start<ThreadGangApiOf<typeof setup>>()`. */
export type ThreadGangApiOf<TSetup extends (context: never) => unknown> = Awaited<ReturnType<TSetup>>;

/** The payload type of a request handler. */
export type ThreadGangPayload<THandler> = THandler extends (payload: infer P) => unknown ? P : never;

/** The reply type of a request handler. */
export type ThreadGangReply<THandler> = THandler extends (payload: never) => infer R ? Awaited<R> : never;

/**
 * Types a worker module's setup function; returns it unchanged:
 *
 * ```ts
 * // my-worker.ts, compiled to my-worker.js
 * import { defineThreadGangWorker } from '@fs2/core';
 * export default defineThreadGangWorker(async ({ gang, initData }) => ({
 *   sum(values: number[]) { const data = Float32Array.from(values); gang.allReduce(data, 'sum'); return [...data]; },
 * }));
 * ```
 */
export function defineThreadGangWorker<TApi extends ThreadGangApiShape<TApi>, TInit = unknown>(
  setup: ThreadGangWorkerSetup<TApi, TInit>,
): ThreadGangWorkerSetup<TApi, TInit> {
  return setup;
}
