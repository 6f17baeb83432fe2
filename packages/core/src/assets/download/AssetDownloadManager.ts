import { createServiceIdentifier, type ServiceIdentifier } from '../../runtime/ServiceIdentifier.js';
import type { AssetUri } from '../AssetUri.js';

/** Options of every `download*` call of an {@link AssetDownloadManager}. */
export interface AssetDownloadOptions {
  /**
   * Use only what is already on disk: a missing asset is an error that lists the paths looked
   * at. Default: `false`, unless offline mode is on (`FAIRSEQ2_OFFLINE`, or `HF_HUB_OFFLINE` for
   * `hg:` URIs).
   */
  readonly localOnly?: boolean;
  /** Delete what is cached for the URI and download it again. Default: `false`. */
  readonly force?: boolean;
  /** Report progress through the `ProgressReporter` service. Default: `true`. */
  readonly progress?: boolean;
  /**
   * The expected digest of the downloaded file, `sha256:<64 hex digits>` (a card's optional
   * `checksum` field). A download that does not match is deleted; a cached file that no longer
   * matches is an error that says how to clear it. Only for URIs that name one file (`http(s):`,
   * `file:`); an `hg:` repository is verified file by file against the Hub's own digests.
   * Default: none.
   */
  readonly checksum?: string;
  /** The name shown in progress lines (the card name). Default: the URI, without credentials. */
  readonly displayName?: string;
}

/**
 * Turns an asset URI into a local path, downloading it first when needed: fairseq2's
 * `AssetDownloadManager`. The one registered under this identifier dispatches by scheme to the
 * members of the `AssetDownloadManager` collection (see `DelegatingAssetDownloadManager`).
 *
 * Each method returns a file or a folder: an `hg:` snapshot folder, an extracted archive, or
 * the single file a download produced.
 */
export interface AssetDownloadManager {
  /** The URI schemes handled, lower case, without the colon (`https`, `hg`, ...). */
  readonly supportedSchemes: ReadonlySet<string>;
  /** Downloads a model checkpoint; for `hg:`, only weights, configs and tokenizer files. */
  downloadModel(uri: AssetUri, options?: AssetDownloadOptions): Promise<string>;
  /** Downloads a tokenizer; for `hg:`, only tokenizer files. */
  downloadTokenizer(uri: AssetUri, options?: AssetDownloadOptions): Promise<string>;
  /** Downloads a dataset; for `hg:`, every file of the dataset repository. */
  downloadDataset(uri: AssetUri, options?: AssetDownloadOptions): Promise<string>;
}

export const AssetDownloadManager: ServiceIdentifier<AssetDownloadManager> =
  createServiceIdentifier('AssetDownloadManager');

/**
 * The collection of per-scheme managers that the `AssetDownloadManager` service delegates to
 * (fairseq2 keeps them in the `AssetDownloadManager` collection itself). Add one with
 * `registerAssetDownloadManager`; read them with `resolver.resolveAll(AssetDownloadManagers)`.
 *
 * A separate identifier keeps the members apart from the delegating manager in listings and lets
 * an extension replace nothing by accident: members are added, the delegating service is the
 * library's own.
 */
export const AssetDownloadManagers: ServiceIdentifier<AssetDownloadManager> =
  createServiceIdentifier('AssetDownloadManager.members');

/** What is being downloaded: it selects the files of an `hg:` repository and its repository type. */
export type AssetKind = 'model' | 'tokenizer' | 'dataset';
