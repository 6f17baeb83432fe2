import { Fs2Error, type Fs2ErrorOptions } from '../errors/Fs2Error.js';

/**
 * Why a gang failed:
 * - `threw`: a rank's code threw (its request handler, or its setup while starting);
 * - `crashed`: a rank's worker thread died of an uncaught error (including running out of memory);
 * - `exited`: a rank's worker thread exited (`process.exit()` inside it, `worker.terminate()` from
 *   outside);
 * - `timeout`: a collective, a request or the start did not complete in time;
 * - `mismatch`: the ranks of a gang called different collectives at the same step (a bug in the
 *   caller: every rank must call the same collectives, with the same sizes, in the same order);
 * - `closed`: the gang was closed by its owner.
 */
export type GangFailureKind = 'threw' | 'crashed' | 'exited' | 'timeout' | 'mismatch' | 'closed';

/**
 * A gang failed: a rank threw or died, a collective timed out, or the gang was closed. Every
 * collective that was waiting, and every later one, on every rank, throws a `GangError`, and so does
 * every pending and later request of the host; a failed gang cannot be used again.
 *
 * `ranks` are the root ranks at fault (the rank that threw or died, the ranks that did not arrive in
 * time; empty for `closed`), `operation` the request (`forward`, `start`) or collective
 * (`allReduce`, ...) during which it happened, when known.
 */
export class GangError extends Fs2Error {
  override readonly category = 'operational' as const;

  constructor(
    readonly kind: GangFailureKind,
    readonly ranks: readonly number[],
    readonly operation: string | undefined,
    message: string,
    options?: Fs2ErrorOptions,
  ) {
    super(message, options);
  }
}
