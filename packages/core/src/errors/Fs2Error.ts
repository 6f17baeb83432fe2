const FS2_ERROR_BRAND: unique symbol = Symbol.for('@fs2/core/Fs2Error');

/**
 * How a caller (the CLI, a recipe) should treat an error:
 * - `not_found`: the user named something that does not exist (CLI exit code 2);
 * - `user`: bad input from the user (a malformed card, a wrong option; exit code 1);
 * - `operational`: the environment failed (I/O, network, a worker died; exit code 1);
 * - `internal`: a bug in fs2 or in an extension (exit code 1, stack shown).
 */
export type ErrorCategory = 'not_found' | 'user' | 'operational' | 'internal';

/** Options every fs2 error accepts: the ES2022 `cause`. */
export interface Fs2ErrorOptions {
  readonly cause?: unknown;
}

/**
 * The base of every error fs2 throws on purpose. Errors are data: each subclass carries the
 * structured fields its message was built from (card name, field, file, line, tensor key, ...),
 * so a program can react without parsing text.
 *
 * The class is branded with `Symbol.for('@fs2/core/Fs2Error')`, so {@link Fs2Error.is} recognises
 * errors thrown by a second copy of `@fs2/core` in the same process (an extension that bundles its
 * own copy), where `instanceof` would not.
 */
export abstract class Fs2Error extends Error {
  readonly [FS2_ERROR_BRAND] = true as const;

  /** How a caller should treat this error; see {@link ErrorCategory}. */
  abstract readonly category: ErrorCategory;

  constructor(message: string, options?: Fs2ErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }

  /** Whether `value` is an fs2 error, from this or any other copy of `@fs2/core`. */
  static is(value: unknown): value is Fs2Error {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as { [FS2_ERROR_BRAND]?: unknown })[FS2_ERROR_BRAND] === true
    );
  }
}

/** An operation was used in a state that does not allow it (registering after the first resolve, ...). */
export class InvalidOperationError extends Fs2Error {
  override readonly category = 'user' as const;
}

/** An option or argument is not valid. `argument` names it. */
export class InvalidArgumentError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly argument: string,
    message: string,
    options?: Fs2ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A feature is not supported by the component asked for it (a family without TP, a device, ...). */
export class NotSupportedError extends Fs2Error {
  override readonly category = 'user' as const;
}

/** The operating system, the network or a peer failed; the cause holds the original error. */
export class OperationalError extends Fs2Error {
  override readonly category = 'operational' as const;
}

/** Something that cannot happen did: a bug in fs2 or an extension. */
export class InternalError extends Fs2Error {
  override readonly category = 'internal' as const;
}
