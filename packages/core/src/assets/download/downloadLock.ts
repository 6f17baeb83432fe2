import type { AssetUri } from '../AssetUri.js';
import type { DownloadFileSystem } from './DownloadFileSystem.js';
import { AssetDownloadError } from './errors.js';
import { toFileSystemError } from './faults.js';
import { acquireFileLock, FileLockTimeoutError, type FileLock, type FileLockOptions, type FileLockOwner } from './FileLock.js';
import type { ProgressReporter } from './ProgressReporter.js';

/** The tunable part of {@link FileLockOptions}: how download managers wait for each other. */
export type DownloadLockOptions = Pick<FileLockOptions, 'timeoutMs' | 'staleMs' | 'pollMs'>;

function describeOwner(owner: FileLockOwner | undefined): string {
  return owner === undefined ? 'another process' : `process ${owner.pid} on ${owner.hostname}`;
}

/**
 * Takes the lock that keeps two processes from downloading the same asset at once, printing a
 * line through `progress` when it has to wait and when it takes over a stale lock.
 *
 * @throws AssetDownloadError `lock_timeout` when the holder keeps it too long, or a file-system code.
 */
export async function acquireDownloadLock(
  uri: AssetUri,
  path: string,
  fs: DownloadFileSystem,
  progress: ProgressReporter,
  cacheVariable: string,
  options: DownloadLockOptions = {},
): Promise<FileLock> {
  try {
    return await acquireFileLock(path, {
      ...options,
      fs,
      onWait: (owner) =>
        progress.message(`Waiting for ${describeOwner(owner)}, which is downloading ${uri.toString()} (lock file ${path}).`),
      onStale: (owner, reason) =>
        progress.message(
          `Taking over the download of ${uri.toString()} from ${describeOwner(owner)}: its lock ${path} is stale (${reason}).`,
        ),
    });
  } catch (error) {
    if (error instanceof FileLockTimeoutError) {
      const timeout = error.timeoutMs >= 60_000 ? `${Math.round(error.timeoutMs / 60_000)} min` : `${error.timeoutMs} ms`;
      throw new AssetDownloadError(
        uri,
        `${describeOwner(error.owner).replace(/^./, (c) => c.toUpperCase())} has held the download lock ${path} for longer than the lock timeout of ${timeout}. If no other process is downloading it, delete ${path}.`,
        { code: 'lock_timeout', path, cause: error },
      );
    }
    throw toFileSystemError(uri, error, path, cacheVariable);
  }
}
