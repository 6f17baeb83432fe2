import {
  Fs2Error,
  InvalidOperationError,
  NotSupportedError,
  type ErrorCategory,
  type Fs2ErrorOptions,
} from '../../errors/Fs2Error.js';
import { redactError, type AssetUri } from '../AssetUri.js';

/**
 * What went wrong in a download, as data (the `code` of {@link AssetDownloadError}):
 * - `not_found`: a local file, a Hub repository, revision or file does not exist (HTTP 404);
 * - `not_cached`: `localOnly` or offline mode, and the asset is not in the cache;
 * - `unauthorized`: the server wants credentials (HTTP 401) or did not accept them;
 * - `invalid_token`: the access token holds a character that an HTTP header cannot carry (it is not sent);
 * - `gated`: a gated Hugging Face repository whose license the token's account has not accepted (HTTP 403);
 * - `http_status`: any other HTTP error status;
 * - `network`: the server is not reachable, or the connection broke mid-way;
 * - `timeout`: no byte arrived for longer than the stall timeout;
 * - `too_many_redirects`: more redirects than allowed;
 * - `size_mismatch`: more or fewer bytes than `Content-Length` (or the Hub's listing) announced;
 * - `checksum_mismatch`: the download's digest differs from the expected one (the file is deleted);
 * - `cache_corrupted`: a file already in the cache no longer matches its digest;
 * - `disk_full`: `ENOSPC` while writing;
 * - `permission_denied`: `EACCES`, `EPERM` or `EROFS` while writing;
 * - `file_system`: any other operating-system error;
 * - `lock_timeout`: another process held the download lock for longer than allowed;
 * - `unsafe_archive`: an archive entry leaves the extraction folder (zip slip) or is of a refused type;
 * - `archive_too_large`: an archive expands past the extraction limits (zip bomb);
 * - `archive_invalid`: an archive cannot be read;
 * - `empty`: the download produced nothing to return.
 */
export type AssetDownloadErrorCode =
  | 'not_found'
  | 'not_cached'
  | 'unauthorized'
  | 'invalid_token'
  | 'gated'
  | 'http_status'
  | 'network'
  | 'timeout'
  | 'too_many_redirects'
  | 'size_mismatch'
  | 'checksum_mismatch'
  | 'cache_corrupted'
  | 'disk_full'
  | 'permission_denied'
  | 'file_system'
  | 'lock_timeout'
  | 'unsafe_archive'
  | 'archive_too_large'
  | 'archive_invalid'
  | 'empty';

const CATEGORY_BY_CODE: Readonly<Record<AssetDownloadErrorCode, ErrorCategory>> = {
  not_found: 'not_found',
  not_cached: 'not_found',
  unauthorized: 'user',
  invalid_token: 'user',
  gated: 'user',
  http_status: 'operational',
  network: 'operational',
  timeout: 'operational',
  too_many_redirects: 'operational',
  size_mismatch: 'operational',
  checksum_mismatch: 'operational',
  cache_corrupted: 'operational',
  disk_full: 'operational',
  permission_denied: 'operational',
  file_system: 'operational',
  lock_timeout: 'operational',
  unsafe_archive: 'user',
  archive_too_large: 'user',
  archive_invalid: 'user',
  empty: 'operational',
};

/** The structured details of an {@link AssetDownloadError}, beyond its URI and reason. */
export interface AssetDownloadErrorDetails extends Fs2ErrorOptions {
  /** What went wrong; see {@link AssetDownloadErrorCode}. */
  readonly code: AssetDownloadErrorCode;
  /** The local file or folder concerned (a cache entry, a partial file, a lock file), when there is one. */
  readonly path?: string;
  /** The HTTP status the server answered, for `http_status`, `unauthorized`, `gated` and `not_found`. */
  readonly status?: number;
  /** The expected digest (`sha256:<hex>`) or size, for `checksum_mismatch`, `cache_corrupted` and `size_mismatch`. */
  readonly expected?: string;
  /** The digest or size found. */
  readonly actual?: string;
}

/**
 * A download failed: fairseq2's `AssetDownloadError(uri, reason)`, whose message is
 * "Download of {uri} failed. {reason}". The URI is printed through {@link AssetUri.toString}, so
 * credentials never appear; reasons never contain tokens either.
 */
export class AssetDownloadError extends Fs2Error {
  override readonly category: ErrorCategory;
  /** What went wrong, as data. */
  readonly code: AssetDownloadErrorCode;
  /** See {@link AssetDownloadErrorDetails.path}. */
  readonly path: string | undefined;
  /** See {@link AssetDownloadErrorDetails.status}. */
  readonly status: number | undefined;
  /** See {@link AssetDownloadErrorDetails.expected}. */
  readonly expected: string | undefined;
  /** See {@link AssetDownloadErrorDetails.actual}. */
  readonly actual: string | undefined;

  constructor(
    /** The URI whose download failed. */
    readonly uri: AssetUri,
    /** The sentence (or sentences) after "Download of {uri} failed.". */
    readonly reason: string,
    details: AssetDownloadErrorDetails,
  ) {
    // The cause is a library's error, which may quote a URL with its credentials.
    super(`Download of ${uri.toString()} failed. ${reason}`, { cause: redactError(details.cause) });
    this.code = details.code;
    this.category = CATEGORY_BY_CODE[details.code];
    this.path = details.path;
    this.status = details.status;
    this.expected = details.expected;
    this.actual = details.actual;
  }
}

/** No registered download manager handles the scheme of `uri` (fairseq2 raises `NotSupportedError`). */
export class AssetDownloadSchemeNotSupportedError extends NotSupportedError {
  /** The scheme of {@link uri}. */
  readonly scheme: string;

  constructor(
    readonly uri: AssetUri,
    /** The schemes that are supported, sorted. */
    readonly supportedSchemes: readonly string[],
  ) {
    super(
      `${uri.toString()} cannot be downloaded: the \`${uri.scheme}\` scheme is not supported. Supported schemes: ${supportedSchemes.join(', ')}.`,
    );
    this.scheme = uri.scheme;
  }
}

/** Two download managers claim the same scheme (fairseq2 raises `ValueError`). */
export class AssetDownloadSchemeConflictError extends InvalidOperationError {
  constructor(
    readonly scheme: string,
    /** The name of the manager registered first. */
    readonly firstManager: string,
    /** The name of the manager that claims `scheme` again. */
    readonly secondManager: string,
  ) {
    super(
      `The \`${scheme}\` scheme is handled by both ${firstManager} and ${secondManager}; each scheme must have exactly one download manager.`,
    );
  }
}
