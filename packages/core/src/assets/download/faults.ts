import type { AssetUri } from '../AssetUri.js';
import { redactText } from '../AssetUri.js';
import { AssetDownloadError } from './errors.js';

/** The error codes of a full disk and of a refused write, as Node reports them. */
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);
const PERMISSION_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

/** The `code` of a Node system error (`ENOSPC`, ...), if `error` is one. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether `error` is a full disk or a refused write: the partial file is deleted, not kept for a resume. */
export function isStorageFault(error: unknown): boolean {
  const code = errnoCode(error);
  return code !== undefined && (DISK_FULL_CODES.has(code) || PERMISSION_CODES.has(code));
}

/**
 * Turns an operating-system error met while writing `path` into an {@link AssetDownloadError}
 * that says what to do; an {@link AssetDownloadError} passes through unchanged.
 *
 * @param cacheVariable The environment variable that moves the cache (`FAIRSEQ2_CACHE_DIR`, `HF_HUB_CACHE`).
 */
export function toFileSystemError(
  uri: AssetUri,
  error: unknown,
  path: string,
  cacheVariable: string,
  action = 'writing',
): AssetDownloadError {
  if (error instanceof AssetDownloadError) {
    return error;
  }
  const code = errnoCode(error);
  if (code !== undefined && DISK_FULL_CODES.has(code)) {
    return new AssetDownloadError(
      uri,
      `The disk is full (${code}) while ${action} ${path}. Free some space, or set ${cacheVariable} to a folder on a larger disk.`,
      { code: 'disk_full', path, cause: error },
    );
  }
  if (code !== undefined && PERMISSION_CODES.has(code)) {
    return new AssetDownloadError(
      uri,
      `Permission denied (${code}) while ${action} ${path}. Make the folder writable, or set ${cacheVariable} to a writable folder.`,
      { code: 'permission_denied', path, cause: error },
    );
  }
  const detail = code ?? redactText(error instanceof Error ? error.message : String(error));
  return new AssetDownloadError(uri, `A system error occurred while ${action} ${path} (${detail}).`, {
    code: 'file_system',
    path,
    cause: error,
  });
}
