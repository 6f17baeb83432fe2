import { Fs2Error, type Fs2ErrorOptions } from '../errors/Fs2Error.js';

/**
 * A checkpoint file is malformed, truncated, or does not fit the model. `path` names the file and
 * `tensor`, when known, the tensor at fault.
 */
export class CheckpointError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly path: string,
    message: string,
    readonly tensor?: string,
    options?: Fs2ErrorOptions,
  ) {
    super(message, options);
  }
}
