import { AssetDownloadManager, AssetDownloadManagers } from '../assets/download/AssetDownloadManager.js';
import { DelegatingAssetDownloadManager } from '../assets/download/DelegatingAssetDownloadManager.js';
import {
  getAssetCacheDir,
  getHuggingFaceEndpoint,
  getHuggingFaceHubCacheDir,
  isEnvironmentFlagOn,
  readHuggingFaceToken,
} from '../assets/download/environment.js';
import { HuggingFaceHubDownloadManager } from '../assets/download/HuggingFaceHubDownloadManager.js';
import { LocalAssetDownloadManager } from '../assets/download/LocalAssetDownloadManager.js';
import { ProgressReporter } from '../assets/download/ProgressReporter.js';
import { StandardAssetDownloadManager } from '../assets/download/StandardAssetDownloadManager.js';
import { StandardProgressReporter } from '../assets/download/StandardProgressReporter.js';
import type { DependencyContainer, DependencyProvider } from '../runtime/DependencyContainer.js';
import { Environment } from '../runtime/Environment.js';

/** Options of {@link registerAssetDownloads}. */
export interface AssetDownloadsOptions {
  /** Turn progress tasks off (`FAIRSEQ2_NO_PROGRESS`, `initFairseq2({ noProgress })`). */
  readonly noProgress: boolean;
}

/**
 * Whether this process is a rank other than 0 of a distributed job (`RANK` set and not `0`):
 * fairseq2 shows progress on rank 0 only.
 */
function isNonZeroRank(env: Environment): boolean {
  const rank = env.get('RANK');
  return rank !== undefined && rank.trim() !== '' && rank.trim() !== '0';
}

/**
 * Registers the download services: the `ProgressReporter`, the `AssetDownloadManagers`
 * collection (`file:`, `hg:`, `http(s):`) and the `DelegatingAssetDownloadManager` registered as
 * `AssetDownloadManager`. Settings come from the `Environment` service:
 *
 * - `FAIRSEQ2_CACHE_DIR` / `XDG_CACHE_HOME`: the `http(s):` cache;
 * - `HF_HUB_CACHE` / `HF_HOME`, `HF_ENDPOINT`, `HF_TOKEN` (or the `huggingface-cli login` token
 *   file): the `hg:` downloads;
 * - `HF_HUB_OFFLINE` (`hg:`) and `FAIRSEQ2_OFFLINE` (every network scheme): offline mode;
 * - `FAIRSEQ2_NO_PROGRESS`, or a `RANK` other than 0: no progress tasks.
 */
export function registerAssetDownloads(container: DependencyContainer, options: AssetDownloadsOptions): void {
  container.register(
    ProgressReporter,
    (resolver) =>
      new StandardProgressReporter({ enabled: !options.noProgress && !isNonZeroRank(resolver.resolve(Environment)) }),
    { singleton: true },
  );
  container.collection.register(AssetDownloadManagers, () => new LocalAssetDownloadManager(), { singleton: true });
  container.collection.register(
    AssetDownloadManagers,
    (resolver) => {
      const env = resolver.resolve(Environment);
      return new HuggingFaceHubDownloadManager({
        cacheDir: getHuggingFaceHubCacheDir(env),
        endpoint: getHuggingFaceEndpoint(env),
        token: () => readHuggingFaceToken(env),
        offline: isEnvironmentFlagOn(env, 'HF_HUB_OFFLINE') || isEnvironmentFlagOn(env, 'FAIRSEQ2_OFFLINE'),
        progress: resolver.resolve(ProgressReporter),
      });
    },
    { singleton: true },
  );
  container.collection.register(
    AssetDownloadManagers,
    (resolver) => {
      const env = resolver.resolve(Environment);
      return new StandardAssetDownloadManager({
        cacheDir: getAssetCacheDir(env),
        offline: isEnvironmentFlagOn(env, 'FAIRSEQ2_OFFLINE'),
        progress: resolver.resolve(ProgressReporter),
      });
    },
    { singleton: true },
  );
  container.register(
    AssetDownloadManager,
    (resolver) => new DelegatingAssetDownloadManager(resolver.resolveAll(AssetDownloadManagers)),
    { singleton: true },
  );
}

/**
 * Adds a download manager for more URI schemes (`s3:`, `gs:`, an in-house store), from an
 * extension or `extras`. A scheme that another manager already handles is rejected when the
 * `AssetDownloadManager` service is first built, naming both managers.
 *
 * ```ts
 * export default (container: DependencyContainer) =>
 *   registerAssetDownloadManager(container, (resolver) => new S3DownloadManager(resolver.resolve(Environment)));
 * ```
 */
export function registerAssetDownloadManager(
  container: DependencyContainer,
  manager: AssetDownloadManager | DependencyProvider<AssetDownloadManager>,
): void {
  container.collection.register(AssetDownloadManagers, typeof manager === 'function' ? manager : () => manager, {
    singleton: true,
  });
}
