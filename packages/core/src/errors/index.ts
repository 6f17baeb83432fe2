export {
  Fs2Error,
  InvalidOperationError,
  InvalidArgumentError,
  NotSupportedError,
  OperationalError,
  InternalError,
} from './Fs2Error.js';
export type { ErrorCategory, Fs2ErrorOptions } from './Fs2Error.js';
