import { symlinkSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { buildTarGz, caughtAsync, makeTempDir, startTestHttpServer, yamlStore, type TempDir, type TestHttpServer } from '../../../../test/support/index.js';
import { AssetUri } from './AssetUri.js';
import { assetCacheKey, StandardAssetDownloadManager } from './download/StandardAssetDownloadManager.js';
import { AssetCardError } from './errors.js';
import { retrieveCardAsset, type CardAssetFields } from './retrieveCardAsset.js';

const MODEL: CardAssetFields = { uriField: 'checkpoint', subPathField: 'checkpoint_path', kind: 'model' };
const TOKENIZER: CardAssetFields = { uriField: 'tokenizer', subPathField: 'tokenizer_path', kind: 'tokenizer' };

/**
 * A card's `checkpoint_path` / `tokenizer_path` cannot leave the folder its `checkpoint` /
 * `tokenizer` names, whether that folder is local or an archive fs2 downloaded and extracted.
 */
describe('retrieveCardAsset with a sub-path that leaves the asset folder', () => {
  let dir: TempDir;
  let server: TestHttpServer;
  let downloads: StandardAssetDownloadManager;
  let archiveUrl: string;

  beforeAll(async () => {
    dir = makeTempDir();
    dir.write('assets/model/llama/model.safetensors', 'weights');
    dir.write('assets/model/tokenizer.model', 'spm');
    dir.write('assets/secret/key', 'not for the card');
    symlinkSync(join(dir.path, 'assets', 'secret'), join(dir.path, 'assets', 'model', 'escape'));
    server = await startTestHttpServer();
    server.file('/model.tar.gz', {
      body: buildTarGz([
        { path: 'llama/model.safetensors', body: 'weights' },
        { path: 'tokenizer.model', body: 'spm' },
      ]),
    });
    archiveUrl = `${server.url}/model.tar.gz`;
    downloads = new StandardAssetDownloadManager({ cacheDir: join(dir.path, 'cache') });
  });

  afterAll(async () => {
    await server.close();
    dir.cleanup();
  });

  /** One card in its own file `cards/<name>.yaml`: the sub-path is on line 3. */
  function card(name: string, fields: CardAssetFields, location: string, subPath: string): { file: string; retrieve: () => Promise<string> } {
    const file = join(dir.path, 'cards', `${name}.yaml`);
    const text = `name: ${name}\n${fields.uriField}: ${location}\n${fields.subPathField}: ${subPath}\n`;
    const assetCard = yamlStore({ test: { [file]: text } }).retrieveCard(name);
    return { file, retrieve: () => retrieveCardAsset(assetCard, fields, downloads) };
  }

  it('joins a sub-path inside the folder, local or downloaded', async () => {
    const local = card('inside_local', MODEL, '../assets/model', 'llama/model.safetensors');
    const remote = card('inside_remote', TOKENIZER, archiveUrl, 'tokenizer.model');

    expect(await local.retrieve()).toBe(join(dir.path, 'assets/model/llama/model.safetensors'));
    expect(await remote.retrieve()).toBe(join(dir.path, 'cache', assetCacheKey(AssetUri.parse(archiveUrl)), 'tokenizer.model'));
  });

  it.each([
    ['local_dotdot', MODEL, '../assets/model', '../secret/key'],
    ['local_absolute', MODEL, '../assets/model', '/etc/passwd'],
    ['local_symlink', MODEL, '../assets/model', 'escape/key'],
    ['local_symlink_new', MODEL, '../assets/model', 'escape/not-yet-there'],
    ['local_tokenizer_dotdot', TOKENIZER, '../assets/model', '../secret/key'],
    ['local_tokenizer_symlink', TOKENIZER, '../assets/model', 'escape/key'],
    ['downloaded_dotdot', MODEL, '{archive}', '../../assets/secret/key'],
    ['downloaded_absolute', TOKENIZER, '{archive}', '/etc/passwd'],
    ['downloaded_inner_dotdot', MODEL, '{archive}', 'llama/../../x'],
  ])('%s: refused with AssetCardError, at the field', async (name, fields, location, subPath) => {
    const { file, retrieve } = card(name, fields, location.replace('{archive}', archiveUrl), subPath);

    const error = await caughtAsync(retrieve);

    expect(error).toBeInstanceOf(AssetCardError);
    const column = `${fields.subPathField}: `.length + 1;
    expect(error.message).toBe(
      `\`${fields.subPathField}\` field of the \`${name}\` asset card points to a path that is not relative to the download directory. (${file}:3:${column})`,
    );
    expect(error).toMatchObject({ cardName: name, field: fields.subPathField, file, line: 3, column, category: 'user' });
  });
});
