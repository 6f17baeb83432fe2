import { stat } from 'node:fs/promises';

import { OperationalError } from '../errors/Fs2Error.js';
import type { AssetMetadataProvider } from './AssetMetadata.js';
import type { AssetMetadataSource } from './AssetMetadataSource.js';
import { AssetSourceNotFoundError } from './errors.js';
import { isNotFound, loadAssetCardFiles } from './loadAssetCardFiles.js';

/** Options of {@link FileAssetMetadataSource}. */
export interface FileAssetMetadataSourceOptions {
  /** The source name. Default: `path:<path>`. */
  readonly source?: string;
  /** A missing path yields no cards instead of {@link AssetSourceNotFoundError}. Default: `false`. */
  readonly notExistOk?: boolean;
}

/**
 * The cards in one YAML file or under one folder (recursively), fairseq2's
 * `FileAssetMetadataSource`. `registerFileAssets` registers one; the built-in cards and package
 * cards are read the same way under another source name.
 */
export class FileAssetMetadataSource implements AssetMetadataSource {
  /** The source name. */
  readonly source: string;

  constructor(
    /** An absolute path. */
    readonly path: string,
    private readonly options: FileAssetMetadataSourceOptions = {},
  ) {
    this.source = options.source ?? `path:${path}`;
  }

  async load(): Promise<readonly AssetMetadataProvider[]> {
    try {
      await stat(this.path);
    } catch (error) {
      if (!isNotFound(error)) {
        throw new OperationalError(`${this.path} cannot be read.`, { cause: error });
      }
      if (this.options.notExistOk === true) {
        return [];
      }
      throw new AssetSourceNotFoundError(this.source, `${this.path} does not exist.`, { cause: error });
    }
    return [await loadAssetCardFiles(this.path, this.source)];
  }
}
