import type { AssetUri } from '../AssetUri.js';
import type { AssetDownloadManager, AssetDownloadOptions } from './AssetDownloadManager.js';
import { AssetDownloadSchemeConflictError, AssetDownloadSchemeNotSupportedError } from './errors.js';

/** The name of a manager in messages: its class name. */
function managerName(manager: AssetDownloadManager): string {
  const name = (manager as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'an anonymous download manager';
}

/**
 * Dispatches each download to the manager of the URI's scheme: fairseq2's
 * `DelegatingAssetDownloadManager`, the one registered as `AssetDownloadManager`. Its managers
 * are the members of the `AssetDownloadManager` collection (`file`, `hg`, `http(s)` and any an
 * extension registers with `registerAssetDownloadManager`).
 */
export class DelegatingAssetDownloadManager implements AssetDownloadManager {
  readonly supportedSchemes: ReadonlySet<string>;
  private readonly byScheme = new Map<string, AssetDownloadManager>();

  /** @throws AssetDownloadSchemeConflictError when two managers claim the same scheme. */
  constructor(managers: Iterable<AssetDownloadManager>) {
    for (const manager of managers) {
      for (const raw of manager.supportedSchemes) {
        const scheme = raw.toLowerCase();
        const existing = this.byScheme.get(scheme);
        if (existing !== undefined) {
          throw new AssetDownloadSchemeConflictError(scheme, managerName(existing), managerName(manager));
        }
        this.byScheme.set(scheme, manager);
      }
    }
    this.supportedSchemes = new Set([...this.byScheme.keys()].sort());
  }

  /** The manager of `uri`'s scheme. @throws AssetDownloadSchemeNotSupportedError when there is none. */
  managerFor(uri: AssetUri): AssetDownloadManager {
    const manager = this.byScheme.get(uri.scheme);
    if (manager === undefined) {
      throw new AssetDownloadSchemeNotSupportedError(uri, [...this.supportedSchemes]);
    }
    return manager;
  }

  async downloadModel(uri: AssetUri, options?: AssetDownloadOptions): Promise<string> {
    return this.managerFor(uri).downloadModel(uri, options);
  }

  async downloadTokenizer(uri: AssetUri, options?: AssetDownloadOptions): Promise<string> {
    return this.managerFor(uri).downloadTokenizer(uri, options);
  }

  async downloadDataset(uri: AssetUri, options?: AssetDownloadOptions): Promise<string> {
    return this.managerFor(uri).downloadDataset(uri, options);
  }
}
