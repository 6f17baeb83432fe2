import { describe, expect, it } from '@jest/globals';

import { AssetUri } from '../assets/AssetUri.js';
import { AssetDownloadManager, type AssetDownloadOptions } from '../assets/download/AssetDownloadManager.js';
import { DelegatingAssetDownloadManager } from '../assets/download/DelegatingAssetDownloadManager.js';
import { AssetDownloadSchemeConflictError } from '../assets/download/errors.js';
import { ProgressReporter } from '../assets/download/ProgressReporter.js';
import { createFairseq2 } from '../runtime/init.js';
import { registerAssetDownloadManager } from './downloads.js';

class S3DownloadManager implements AssetDownloadManager {
  readonly supportedSchemes = new Set(['s3']);
  downloadModel(uri: AssetUri, options?: AssetDownloadOptions): Promise<string> {
    return Promise.resolve(`/mnt/s3/${uri.rest}${options?.force === true ? ' (forced)' : ''}`);
  }
  downloadTokenizer(uri: AssetUri): Promise<string> {
    return this.downloadModel(uri);
  }
  downloadDataset(uri: AssetUri): Promise<string> {
    return this.downloadModel(uri);
  }
}

class RogueHttpManager extends S3DownloadManager {
  override readonly supportedSchemes = new Set(['https']);
}

describe('registerAssetDownloads', () => {
  const env = { HOME: '/home/test' };

  it('registers a delegating manager over file, hg, http and https', async () => {
    const resolver = await createFairseq2({ extensions: false, env });
    const manager = resolver.resolve(AssetDownloadManager);

    expect(manager).toBeInstanceOf(DelegatingAssetDownloadManager);
    expect([...manager.supportedSchemes]).toEqual(['file', 'hg', 'http', 'https']);
    expect(resolver.resolve(AssetDownloadManager)).toBe(manager);
  });

  it('lets an extension add a scheme with registerAssetDownloadManager', async () => {
    const resolver = await createFairseq2({
      extensions: false,
      env,
      extras: (container) => registerAssetDownloadManager(container, () => new S3DownloadManager()),
    });
    const manager = resolver.resolve(AssetDownloadManager);

    expect([...manager.supportedSchemes]).toEqual(['file', 'hg', 'http', 'https', 's3']);
    await expect(manager.downloadModel(AssetUri.parse('s3://bucket/llama'), { force: true })).resolves.toBe(
      '/mnt/s3/bucket/llama (forced)',
    );
  });

  it('rejects a second manager for a scheme, naming both', async () => {
    const resolver = await createFairseq2({
      extensions: false,
      env,
      extras: (container) => registerAssetDownloadManager(container, new RogueHttpManager()),
    });

    expect(() => resolver.resolve(AssetDownloadManager)).toThrow(AssetDownloadSchemeConflictError);
    expect(() => resolver.resolve(AssetDownloadManager)).toThrow(
      'The `https` scheme is handled by both StandardAssetDownloadManager and RogueHttpManager; each scheme must have exactly one download manager.',
    );
  });

  it('turns progress off with noProgress, FAIRSEQ2_NO_PROGRESS or a non-zero RANK', async () => {
    const on = await createFairseq2({ extensions: false, env });
    const off = await createFairseq2({ extensions: false, env, noProgress: true });
    const offByEnv = await createFairseq2({ extensions: false, env: { ...env, FAIRSEQ2_NO_PROGRESS: '' } });
    const rank1 = await createFairseq2({ extensions: false, env: { ...env, RANK: '1' } });
    const rank0 = await createFairseq2({ extensions: false, env: { ...env, RANK: '0' } });

    expect(on.resolve(ProgressReporter).enabled).toBe(true);
    expect(off.resolve(ProgressReporter).enabled).toBe(false);
    expect(offByEnv.resolve(ProgressReporter).enabled).toBe(false);
    expect(rank1.resolve(ProgressReporter).enabled).toBe(false);
    expect(rank0.resolve(ProgressReporter).enabled).toBe(true);
  });
});
