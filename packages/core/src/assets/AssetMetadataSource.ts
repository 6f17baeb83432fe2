import { createServiceIdentifier, type ServiceIdentifier } from '../runtime/ServiceIdentifier.js';
import type { AssetMetadataProvider } from './AssetMetadata.js';

/**
 * A place cards come from: the built-in cards, the system and user folders, a package's `cards/`
 * folder, a path, an in-memory list. Registered as a collection; the {@link AssetStore} calls
 * {@link load} on each member once, when `initFairseq2()` builds it, in registration order.
 */
export interface AssetMetadataSource {
  /**
   * Reads the cards. Problems with single documents (malformed YAML, bad names) are returned in
   * the providers; a source that cannot be read at all throws (a missing path throws
   * `AssetSourceNotFoundError`). A source with nothing to offer returns no provider.
   */
  load(): Promise<readonly AssetMetadataProvider[]>;
}

export const AssetMetadataSource: ServiceIdentifier<AssetMetadataSource> = createServiceIdentifier('AssetMetadataSource');
