export { AssetDownloadManager, AssetDownloadManagers } from './AssetDownloadManager.js';
export type { AssetDownloadOptions, AssetKind } from './AssetDownloadManager.js';
export {
  AssetDownloadError,
  AssetDownloadSchemeConflictError,
  AssetDownloadSchemeNotSupportedError,
} from './errors.js';
export type { AssetDownloadErrorCode, AssetDownloadErrorDetails } from './errors.js';
export { DelegatingAssetDownloadManager } from './DelegatingAssetDownloadManager.js';
export { LocalAssetDownloadManager } from './LocalAssetDownloadManager.js';
export type { LocalAssetDownloadManagerOptions } from './LocalAssetDownloadManager.js';
export { StandardAssetDownloadManager, assetCacheKey } from './StandardAssetDownloadManager.js';
export type { CacheVerification, StandardAssetDownloadManagerOptions } from './StandardAssetDownloadManager.js';
export {
  HUGGING_FACE_MODEL_FILES,
  HUGGING_FACE_TOKENIZER_FILES,
  HuggingFaceHubDownloadManager,
  parseHuggingFaceUri,
} from './HuggingFaceHubDownloadManager.js';
export type { HuggingFaceHubDownloadManagerOptions, HuggingFaceRepoRef } from './HuggingFaceHubDownloadManager.js';
export { NoopProgressReporter, ProgressReporter } from './ProgressReporter.js';
export type { ProgressTask, ProgressTaskOptions, ProgressUnit } from './ProgressReporter.js';
export { StandardProgressReporter, formatAmount } from './StandardProgressReporter.js';
export type { ProgressStream, StandardProgressReporterOptions } from './StandardProgressReporter.js';
export { StandardDownloadFileSystem } from './DownloadFileSystem.js';
export type { DownloadFileHandle, DownloadFileStat, DownloadFileSystem } from './DownloadFileSystem.js';
export { formatChecksum, parseChecksum } from './checksum.js';
export type { Checksum } from './checksum.js';
export { detectArchiveFormat, extractArchive, MIN_EXTRACTED_BYTES_LIMIT } from './extractArchive.js';
export type { ArchiveFormat, ArchiveLimits, ExtractArchiveParams, ExtractedFile } from './extractArchive.js';
export {
  DEFAULT_HUGGING_FACE_ENDPOINT,
  getAssetCacheDir,
  getHuggingFaceEndpoint,
  getHuggingFaceHome,
  getHuggingFaceHubCacheDir,
  isEnvironmentFlagOn,
  readHuggingFaceToken,
} from './environment.js';
export { DEFAULT_MAX_REDIRECTS, DEFAULT_STALL_TIMEOUT_MS, defaultUserAgent } from './httpDownload.js';
export type { HttpClientOptions } from './httpDownload.js';
export type { DownloadLockOptions } from './downloadLock.js';
