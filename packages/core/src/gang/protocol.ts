/**
 * The messages between a {@link ThreadGangHost} and its workers (internal). Control goes through
 * `postMessage`; collectives never do (they use the shared memory).
 */
import type { FailureRecord } from './sharedMemory.js';

/** Bumped whenever the messages or the shared layout change: a host and a bootstrap must agree. */
export const PROTOCOL_VERSION = 1;

/** The `workerData` of a gang worker. */
export interface WorkerBootData {
  readonly protocol: number;
  /** The URL of the user's worker module. */
  readonly entry: string;
  readonly rank: number;
  readonly size: number;
  readonly buffer: SharedArrayBuffer;
  readonly chunkFloats: number;
  readonly subGangSlots: number;
  readonly collectiveTimeoutMs: number;
  readonly spinIterations: number;
  readonly initData: unknown;
}

export interface RequestMessage {
  readonly type: 'request';
  readonly id: number;
  readonly method: string;
  readonly payload: unknown;
}

export type HostToWorker = RequestMessage;

export type WorkerToHost =
  | { readonly type: 'ready'; readonly methods: readonly string[] }
  | { readonly type: 'startFailed'; readonly error: SerializedError }
  | { readonly type: 'reply'; readonly id: number; readonly value: unknown }
  | { readonly type: 'error'; readonly id: number; readonly error: SerializedError }
  | { readonly type: 'gangFailure'; readonly record: FailureRecord };

/** An error sent across threads (custom error classes do not survive structured cloning). */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
  /** Set when what was thrown was not an `Error`. */
  readonly nonError?: true;
}

/**
 * Whether `value` looks like an error. Not `instanceof Error`: an error may come from another realm
 * (a `DOMException` from Node's structured clone seen from a vm context, as under jest).
 */
export function isErrorLike(value: unknown): value is Error {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { name?: unknown }).name === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

export function serializeError(error: unknown): SerializedError {
  if (isErrorLike(error)) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...(typeof code === 'string' ? { code } : {}),
    };
  }
  let text: string;
  try {
    text = typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
  } catch {
    text = String(error);
  }
  return { name: 'Error', message: text, nonError: true };
}

/** `TypeError: boom`, `Error [ERR_X]: boom`, or `the non-error value "boom"`. */
export function describeError(error: SerializedError): string {
  if (error.nonError === true) {
    return `the non-error value ${error.message}`;
  }
  return `${error.name}${error.code === undefined ? '' : ` [${error.code}]`}: ${error.message}`;
}

/** A local `Error` that stands for a serialized one (the `cause` of the host's `GangError`). */
export function deserializeError(error: SerializedError): Error {
  const result = new Error(error.message);
  result.name = error.name;
  if (error.stack !== undefined) {
    result.stack = error.stack;
  }
  if (error.code !== undefined) {
    (result as Error & { code?: string }).code = error.code;
  }
  return result;
}
