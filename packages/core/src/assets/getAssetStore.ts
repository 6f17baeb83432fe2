import { getDependencyResolver } from '../runtime/global.js';
import { AssetStore } from './AssetStore.js';

/**
 * The process-global {@link AssetStore} (fairseq2's `get_asset_store()`).
 *
 * @throws InvalidOperationError when `await initFairseq2()` has not run.
 */
export function getAssetStore(): AssetStore {
  return getDependencyResolver().resolve(AssetStore);
}
