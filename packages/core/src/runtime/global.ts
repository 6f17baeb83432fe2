import { InvalidOperationError } from '../errors/Fs2Error.js';
import type { DependencyResolver } from './DependencyContainer.js';

let globalResolver: DependencyResolver | undefined;

/**
 * The process-global resolver that `initFairseq2()` set up. Hub accessors such as
 * `getLlamaModelHub()` and the global `loadModel()` use it.
 *
 * @throws InvalidOperationError when `initFairseq2()` has not been awaited yet.
 */
export function getDependencyResolver(): DependencyResolver {
  if (globalResolver === undefined) {
    throw new InvalidOperationError('fs2 is not initialized: call `await initFairseq2()` first.');
  }
  return globalResolver;
}

/** The process-global resolver, or `undefined` before `initFairseq2()`. */
export function maybeGetDependencyResolver(): DependencyResolver | undefined {
  return globalResolver;
}

/** @internal Used by `initFairseq2()` and `shutdownFairseq2()`. */
export function setGlobalResolver(resolver: DependencyResolver | undefined): void {
  globalResolver = resolver;
}
