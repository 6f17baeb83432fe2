import { InvalidArgumentError } from '../../errors/Fs2Error.js';
import type { AssetUri } from '../AssetUri.js';
import type { AssetDownloadManager, AssetDownloadOptions } from './AssetDownloadManager.js';
import { formatChecksum, parseChecksum, sha256File } from './checksum.js';
import { StandardDownloadFileSystem, type DownloadFileSystem } from './DownloadFileSystem.js';
import { AssetDownloadError } from './errors.js';
import { errnoCode } from './faults.js';

/** Options of {@link LocalAssetDownloadManager}. */
export interface LocalAssetDownloadManagerOptions {
  /** Default: {@link StandardDownloadFileSystem}. */
  readonly fileSystem?: DownloadFileSystem;
}

/**
 * `file:` URIs (and the paths a card gives, which become `file:` URIs): returns the path itself,
 * without a copy, as fairseq2's `LocalAssetDownloadManager` does. A missing path is an error that
 * names it; a checksum, when given, is verified on the file.
 */
export class LocalAssetDownloadManager implements AssetDownloadManager {
  readonly supportedSchemes: ReadonlySet<string> = new Set(['file']);
  private readonly fs: DownloadFileSystem;

  constructor(options: LocalAssetDownloadManagerOptions = {}) {
    this.fs = options.fileSystem ?? new StandardDownloadFileSystem();
  }

  downloadModel(uri: AssetUri, options: AssetDownloadOptions = {}): Promise<string> {
    return this.resolve(uri, options);
  }

  downloadTokenizer(uri: AssetUri, options: AssetDownloadOptions = {}): Promise<string> {
    return this.resolve(uri, options);
  }

  downloadDataset(uri: AssetUri, options: AssetDownloadOptions = {}): Promise<string> {
    return this.resolve(uri, options);
  }

  private async resolve(uri: AssetUri, options: AssetDownloadOptions): Promise<string> {
    const checksum = options.checksum === undefined ? undefined : parseChecksum(options.checksum);
    const path = uri.toPath();
    let stat;
    try {
      stat = await this.fs.maybeStat(path);
    } catch (error) {
      throw new AssetDownloadError(uri, `A system error occurred while reading ${path} (${errnoCode(error) ?? String(error)}).`, {
        code: errnoCode(error) === 'EACCES' ? 'permission_denied' : 'file_system',
        path,
        cause: error,
      });
    }
    if (stat === undefined) {
      throw new AssetDownloadError(uri, `${path} is not found.`, { code: 'not_found', path });
    }
    if (checksum !== undefined) {
      if (!stat.isFile) {
        throw new InvalidArgumentError('checksum', `A checksum verifies one file, but ${path} is a folder.`);
      }
      const actual = await sha256File(this.fs, path);
      if (actual !== checksum.hex) {
        throw new AssetDownloadError(
          uri,
          `The file ${path} has the checksum sha256:${actual}, but ${formatChecksum(checksum)} is expected.`,
          { code: 'checksum_mismatch', path, expected: formatChecksum(checksum), actual: `sha256:${actual}` },
        );
      }
    }
    return path;
  }
}
