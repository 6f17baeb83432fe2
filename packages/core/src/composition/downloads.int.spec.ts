import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { makeTempDir, startTestHttpServer, type TempDir, type TestHttpServer } from '../../../../test/support/index.js';
import { AssetUri } from '../assets/AssetUri.js';
import { AssetDownloadManager } from '../assets/download/AssetDownloadManager.js';
import { assetCacheKey } from '../assets/download/StandardAssetDownloadManager.js';
import { createFairseq2 } from '../runtime/init.js';

const TOKEN = 'hf_EnvTokenNeverPrinted42';
const PASSWORD = 'pw-never-printed-7';
const COMMIT = 'abc123'.padEnd(40, '0');

describe('downloads through initFairseq2', () => {
  let server: TestHttpServer;
  let dir: TempDir;
  let stderr: string[];

  beforeAll(async () => {
    server = await startTestHttpServer();
    server.hubRepo({ id: 'acme/private', commit: COMMIT, token: TOKEN, files: { 'config.json': '{}', 'model.safetensors': 'w' } });
    server.hubRepo({ id: 'acme/gated', commit: COMMIT, token: TOKEN, gated: true, files: { 'model.safetensors': 'w' } });
    server.file('/weights.bin', { body: 'weights' });
    server.file('/missing.bin', { body: '', status: 404 });
  });

  afterAll(async () => {
    await server.close();
  });

  beforeEach(() => {
    dir = makeTempDir();
    stderr = [];
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
  });

  afterEach(() => {
    jest.restoreAllMocks();
    dir.cleanup();
  });

  function env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      HOME: dir.path,
      HF_ENDPOINT: server.url,
      HF_HUB_CACHE: join(dir.path, 'hub'),
      FAIRSEQ2_CACHE_DIR: join(dir.path, 'fs2'),
      HF_TOKEN: TOKEN,
      ...extra,
    };
  }

  it('reads the caches, the endpoint and the token from the environment, and never prints secrets', async () => {
    const resolver = await createFairseq2({ extensions: false, env: env() });
    const downloads = resolver.resolve(AssetDownloadManager);
    const withPassword = (path: string): AssetUri => AssetUri.parse(`${server.url.replace('://', `://me:${PASSWORD}@`)}${path}`);

    const snapshot = await downloads.downloadModel(AssetUri.parse('hg://acme/private'));
    const file = await downloads.downloadModel(withPassword('/weights.bin'));
    const failure = (promise: Promise<string>): Promise<Error> =>
      promise.then(
        () => new Error('It did not fail.'),
        (e: unknown) => e as Error,
      );
    const errors = await Promise.all([
      failure(downloads.downloadModel(AssetUri.parse('hg://acme/gated'))),
      failure(downloads.downloadModel(withPassword('/missing.bin'))),
      failure(downloads.downloadModel(AssetUri.parse('ftp://me:secret@host/x'))),
    ]);

    expect(snapshot).toBe(join(dir.path, 'hub', 'models--acme--private', 'snapshots', COMMIT));
    expect(readFileSync(join(snapshot, 'model.safetensors'), 'utf8')).toBe('w');
    expect(file).toBe(join(dir.path, 'fs2', assetCacheKey(withPassword('/weights.bin')), 'weights.bin'));
    expect(errors.map((e) => e.message)).toEqual([
      `Download of hg://acme/gated failed. acme/gated is a gated repository, and the account of HF_TOKEN has not been granted access (HTTP 403). Accept its license at ${server.url}/acme/gated and try again. To use local files instead, add a \`@user\` card with a local \`checkpoint\` (in ~/.config/fairseq2/assets).`,
      `Download of ${server.url.replace('://', '://me:***@')}/missing.bin failed. Server returned HTTP error code 404 for ${server.url.replace('://', '://me:***@')}/missing.bin.`,
      'ftp://me:***@host/x cannot be downloaded: the `ftp` scheme is not supported. Supported schemes: file, hg, http, https.',
    ]);
    const printed = stderr.join('');
    expect(printed).toContain('Downloading hg://acme/private');
    expect(printed).toContain(`Downloading ${server.url.replace('://', '://me:***@')}/weights.bin`);
    for (const text of [printed, ...errors.map((e) => `${e.message} ${String((e as { cause?: unknown }).cause ?? '')}`)]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(PASSWORD);
    }
  });

  it('honours HF_HUB_OFFLINE and FAIRSEQ2_NO_PROGRESS', async () => {
    const online = await createFairseq2({ extensions: false, env: env({ FAIRSEQ2_NO_PROGRESS: '1' }) });
    const snapshot = await online.resolve(AssetDownloadManager).downloadModel(AssetUri.parse('hg://acme/private'));
    server.clearRequests();
    const offline = await createFairseq2({ extensions: false, env: env({ HF_HUB_OFFLINE: '1' }) });

    await expect(offline.resolve(AssetDownloadManager).downloadModel(AssetUri.parse('hg://acme/private'))).resolves.toBe(snapshot);
    await expect(offline.resolve(AssetDownloadManager).downloadModel(AssetUri.parse('hg://acme/gated'))).rejects.toThrow(
      `Download of hg://acme/gated failed. The model is not in the Hugging Face cache, and downloads are off (HF_HUB_OFFLINE or FAIRSEQ2_OFFLINE is set). Looked at: ${join(dir.path, 'hub', 'models--acme--gated', 'refs', 'main')}.`,
    );
    expect(server.requests).toEqual([]);
    expect(stderr.join('')).toBe('');
  });
});
