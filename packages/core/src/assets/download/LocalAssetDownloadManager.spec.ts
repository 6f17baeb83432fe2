import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';

import { makeTempDir, sha256Hex, type TempDir } from '../../../../../test/support/index.js';
import { AssetUri } from '../AssetUri.js';
import { AssetDownloadError } from './errors.js';
import { LocalAssetDownloadManager } from './LocalAssetDownloadManager.js';

describe(LocalAssetDownloadManager, () => {
  let dir: TempDir;
  const manager = new LocalAssetDownloadManager();

  beforeEach(() => {
    dir = makeTempDir();
  });

  afterEach(() => {
    dir.cleanup();
  });

  it('returns the path itself, file or folder, without a copy', async () => {
    const file = dir.write('ckpt/model.safetensors', 'weights');

    await expect(manager.downloadModel(AssetUri.fromPath(file))).resolves.toBe(file);
    await expect(manager.downloadDataset(AssetUri.fromPath(join(dir.path, 'ckpt')))).resolves.toBe(join(dir.path, 'ckpt'));
  });

  it('names a missing path', async () => {
    const missing = join(dir.path, 'nope.safetensors');
    const uri = AssetUri.fromPath(missing);

    await expect(manager.downloadTokenizer(uri)).rejects.toThrow(
      new AssetDownloadError(uri, `${missing} is not found.`, { code: 'not_found' }),
    );
    await expect(manager.downloadTokenizer(uri)).rejects.toMatchObject({ code: 'not_found', category: 'not_found', path: missing });
  });

  it('verifies a checksum on a file', async () => {
    const file = dir.write('tokenizer.json', '{}');
    const uri = AssetUri.fromPath(file);
    const wrong = `sha256:${'0'.repeat(64)}`;

    await expect(manager.downloadTokenizer(uri, { checksum: `sha256:${sha256Hex('{}')}` })).resolves.toBe(file);
    await expect(manager.downloadTokenizer(uri, { checksum: wrong })).rejects.toThrow(
      `Download of ${uri.toString()} failed. The file ${file} has the checksum sha256:${sha256Hex('{}')}, but ${wrong} is expected.`,
    );
    await expect(manager.downloadTokenizer(AssetUri.fromPath(dir.path), { checksum: wrong })).rejects.toThrow(
      `A checksum verifies one file, but ${dir.path} is a folder.`,
    );
  });
});
