import type { DependencyResolver } from '../runtime/DependencyContainer.js';
import { createServiceIdentifier, type ServiceIdentifier } from '../runtime/ServiceIdentifier.js';

/**
 * Receives the asset subsystem's warnings: a folder named by `FAIRSEQ2_ASSET_DIR` that does not
 * exist, config override spellings mixed along a base chain. A collection; when it is empty,
 * warnings go to `process.stderr` as `fs2: warning: <message>`. The CLI registers one that writes
 * to its own error stream.
 */
export type AssetWarningListener = (message: string) => void;

export const AssetWarningListener: ServiceIdentifier<AssetWarningListener> =
  createServiceIdentifier('AssetWarningListener');

/** A function that sends a warning to every registered listener, or to stderr when there is none. */
export function assetWarner(resolver: DependencyResolver): AssetWarningListener {
  const listeners = resolver.resolveAll(AssetWarningListener);
  return (message) => {
    if (listeners.length === 0) {
      process.stderr.write(`fs2: warning: ${message}\n`);
      return;
    }
    for (const listener of listeners) {
      listener(message);
    }
  };
}
