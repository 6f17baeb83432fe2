import { describe, expect, it } from '@jest/globals';

import { AssetUri } from '../AssetUri.js';
import type { AssetDownloadManager } from './AssetDownloadManager.js';
import { DelegatingAssetDownloadManager } from './DelegatingAssetDownloadManager.js';
import { AssetDownloadSchemeConflictError, AssetDownloadSchemeNotSupportedError } from './errors.js';

function manager(schemes: string[], tag: string): AssetDownloadManager {
  return {
    supportedSchemes: new Set(schemes),
    downloadModel: (uri) => Promise.resolve(`${tag}:model:${uri.toString()}`),
    downloadTokenizer: (uri) => Promise.resolve(`${tag}:tokenizer:${uri.toString()}`),
    downloadDataset: (uri) => Promise.resolve(`${tag}:dataset:${uri.toString()}`),
  };
}

class HubManager implements AssetDownloadManager {
  readonly supportedSchemes = new Set(['hg']);
  downloadModel(): Promise<string> {
    return Promise.resolve('');
  }
  downloadTokenizer(): Promise<string> {
    return Promise.resolve('');
  }
  downloadDataset(): Promise<string> {
    return Promise.resolve('');
  }
}
class OtherHubManager extends HubManager {}

describe(DelegatingAssetDownloadManager, () => {
  it('dispatches each kind by scheme', async () => {
    const delegating = new DelegatingAssetDownloadManager([manager(['file'], 'local'), manager(['http', 'HTTPS'], 'web')]);

    expect([...delegating.supportedSchemes]).toEqual(['file', 'http', 'https']);
    await expect(delegating.downloadModel(AssetUri.parse('https://u:pw@host/m.tar'))).resolves.toBe('web:model:https://u:***@host/m.tar');
    await expect(delegating.downloadTokenizer(AssetUri.fromPath('/t.json'))).resolves.toBe('local:tokenizer:file:///t.json');
    await expect(delegating.downloadDataset(AssetUri.parse('http://host/d.zip'))).resolves.toBe('web:dataset:http://host/d.zip');
  });

  it('names the scheme and the supported ones for an unknown scheme', async () => {
    const delegating = new DelegatingAssetDownloadManager([manager(['https'], 'web'), manager(['file'], 'local')]);
    const uri = AssetUri.parse('s3://user:secret@bucket/model');

    expect(() => delegating.managerFor(uri)).toThrow(AssetDownloadSchemeNotSupportedError);
    await expect(delegating.downloadModel(uri)).rejects.toThrow(
      's3://user:***@bucket/model cannot be downloaded: the `s3` scheme is not supported. Supported schemes: file, https.',
    );
  });

  it('rejects two managers for one scheme, naming both', () => {
    expect(() => new DelegatingAssetDownloadManager([new HubManager(), new OtherHubManager()])).toThrow(
      new AssetDownloadSchemeConflictError('hg', 'HubManager', 'OtherHubManager'),
    );
    expect(() => new DelegatingAssetDownloadManager([manager(['hg'], 'a'), new HubManager()])).toThrow(
      'The `hg` scheme is handled by both an anonymous download manager and HubManager; each scheme must have exactly one download manager.',
    );
  });
});
