import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';

import {
  FailingWrites,
  bundleForNode,
  gitBlobId,
  makeTempDir,
  sha256Hex,
  spawnNode,
  startTestHttpServer,
  waitUntil,
  type HubRepoSpec,
  type TempDir,
  type TestHttpServer,
} from '../../../../../test/support/index.js';
import { InvalidArgumentError } from '../../errors/Fs2Error.js';
import { AssetUri } from '../AssetUri.js';
import { AssetDownloadError } from './errors.js';
import {
  HuggingFaceHubDownloadManager,
  parseHuggingFaceUri,
  type HuggingFaceHubDownloadManagerOptions,
} from './HuggingFaceHubDownloadManager.js';
import { StandardProgressReporter } from './StandardProgressReporter.js';

const TOKEN = 'hf_TopSecretTokenValue123';
const COMMIT = 'c0ffee'.padEnd(40, '0');

function safetensors(bytes: number): Buffer {
  return randomBytes(bytes);
}

describe(HuggingFaceHubDownloadManager, () => {
  let server: TestHttpServer;
  let dir: TempDir;
  let hubCache: string;
  let output: string[];

  beforeAll(async () => {
    server = await startTestHttpServer();
  });

  afterAll(async () => {
    await server.close();
  });

  beforeEach(() => {
    dir = makeTempDir();
    hubCache = join(dir.path, 'hub');
    output = [];
    server.clearRequests();
  });

  afterEach(() => {
    dir.cleanup();
  });

  function manager(options: Partial<HuggingFaceHubDownloadManagerOptions> = {}): HuggingFaceHubDownloadManager {
    return new HuggingFaceHubDownloadManager({
      cacheDir: hubCache,
      endpoint: server.url,
      progress: new StandardProgressReporter({ stream: { write: (text: string) => output.push(text) }, tty: false }),
      ...options,
    });
  }

  /** Registers a repository under a fresh id, so that tests never share one. */
  let counter = 0;
  function repo(spec: Omit<HubRepoSpec, 'id'> & { id?: string }): { id: string; uri: (suffix?: string) => AssetUri } {
    counter += 1;
    const id = spec.id ?? `acme/repo-${counter}`;
    server.hubRepo({ commit: COMMIT, ...spec, id });
    return { id, uri: (suffix = '') => AssetUri.parse(`hg://${id}${suffix}`) };
  }

  function resolveRequests(): string[] {
    return server.requests.filter((r) => r.url.includes('/resolve/')).map((r) => decodeURIComponent(r.url.split('/resolve/')[1]!.split('/').slice(1).join('/')));
  }

  async function failure(promise: Promise<unknown>): Promise<AssetDownloadError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AssetDownloadError);
    return error as AssetDownloadError;
  }

  const weights = safetensors(70_000);
  const modelFiles = {
    'config.json': '{"model_type": "llama"}',
    'generation_config.json': '{}',
    'model.safetensors': weights,
    'tokenizer.json': '{"version": "1.0"}',
    'tokenizer_config.json': '{}',
    'README.md': '# tiny',
    'original/consolidated.00.pth': randomBytes(1000),
    'onnx/model.onnx': randomBytes(1000),
  };

  describe('models', () => {
    it('fetches weights, configs and tokenizer files into the Hugging Face cache layout', async () => {
      const { id, uri } = repo({ files: modelFiles });
      const folder = join(hubCache, `models--${id.replace('/', '--')}`);

      const path = await manager().downloadModel(uri(), { displayName: 'tiny_llama' });

      expect(path).toBe(join(folder, 'snapshots', COMMIT));
      expect(readdirSync(path).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
      expect(readFileSync(join(folder, 'refs', 'main'), 'utf8')).toBe(COMMIT);
      expect(readlinkSync(join(path, 'model.safetensors'))).toBe(join('..', '..', 'blobs', sha256Hex(weights)));
      expect(readlinkSync(join(path, 'config.json'))).toBe(join('..', '..', 'blobs', gitBlobId(modelFiles['config.json'])));
      expect(readFileSync(join(path, 'model.safetensors')).equals(weights)).toBe(true);
      expect(readdirSync(join(folder, 'blobs')).sort()).toEqual(
        // generation_config.json and tokenizer_config.json hold the same bytes: one blob.
        [sha256Hex(weights), ...new Set(['{"model_type": "llama"}', '{}', '{"version": "1.0"}'].map(gitBlobId))].sort(),
      );
      // tokenizer_config.json is linked to the blob generation_config.json brought: not fetched.
      expect(resolveRequests()).toEqual(['config.json', 'generation_config.json', 'tokenizer.json', 'model.safetensors']);
      expect(server.requests.every((r) => r.headers['user-agent']?.startsWith('fs2/') === true)).toBe(true);
      expect(server.requests.some((r) => r.headers['authorization'] !== undefined)).toBe(false);
      const lines = output.join('').split('\n');
      expect(lines[0]).toBe('Downloading tiny_llama: started (68.4 KiB)');
      expect(lines.at(-2)).toBe('Downloading tiny_llama: done (68.4 KiB)');
    });

    it('downloads nothing the second time', async () => {
      const { uri } = repo({ files: modelFiles });
      const first = await manager().downloadModel(uri());
      server.clearRequests();
      output.length = 0;

      const second = await manager().downloadModel(uri());

      expect(second).toBe(first);
      expect(resolveRequests()).toEqual([]);
      expect(output).toEqual([]);
    });

    it('fetches only the shards the index names', async () => {
      const index = JSON.stringify({
        metadata: {},
        weight_map: { 'a.weight': 'model-00001-of-00002.safetensors', 'b.weight': 'model-00002-of-00002.safetensors' },
      });
      const { uri } = repo({
        files: {
          'config.json': '{}',
          'model.safetensors.index.json': index,
          'model-00001-of-00002.safetensors': safetensors(100),
          'model-00002-of-00002.safetensors': safetensors(100),
          'consolidated.safetensors': safetensors(200),
        },
      });

      const path = await manager().downloadModel(uri());

      expect(readdirSync(path).sort()).toEqual([
        'config.json',
        'model-00001-of-00002.safetensors',
        'model-00002-of-00002.safetensors',
        'model.safetensors.index.json',
      ]);
      expect(resolveRequests().filter((f) => f === 'model.safetensors.index.json')).toHaveLength(1);
    });

    it('writes the ref of a named revision', async () => {
      const { id, uri } = repo({ files: { 'model.safetensors': safetensors(10) }, refs: { 'v1.0': COMMIT } });

      const path = await manager().downloadModel(uri('@v1.0'));

      expect(path).toBe(join(hubCache, `models--${id.replace('/', '--')}`, 'snapshots', COMMIT));
      expect(readFileSync(join(hubCache, `models--${id.replace('/', '--')}`, 'refs', 'v1.0'), 'utf8')).toBe(COMMIT);
      expect(server.requests[0]?.url).toMatch(new RegExp(`^/api/models/${id}/revision/v1.0\\?`));
    });

    it('re-downloads with force', async () => {
      const { uri } = repo({ files: { 'model.safetensors': safetensors(10) } });
      await manager().downloadModel(uri());

      await manager().downloadModel(uri(), { force: true });

      expect(resolveRequests()).toEqual(['model.safetensors', 'model.safetensors']);
    });

    it('says what to do for a repository without safetensors weights', async () => {
      const { id, uri } = repo({ files: { 'config.json': '{}', 'pytorch_model.bin': randomBytes(10) } });

      const error = await failure(manager().downloadModel(uri()));

      expect(error.message).toBe(
        `Download of hg://${id} failed. The repository ${id} has no \`*.safetensors\` weights (fs2 reads safetensors only). To use local files instead, add a \`@user\` card with a local \`checkpoint\` (in ~/.config/fairseq2/assets).`,
      );
    });
  });

  describe('tokenizers and datasets', () => {
    it('fetches only tokenizer files for a tokenizer', async () => {
      const { uri } = repo({ files: { ...modelFiles, 'tokenizer.model': 'spm', 'special_tokens_map.json': '{}' } });

      const path = await manager().downloadTokenizer(uri());

      expect(readdirSync(path).sort()).toEqual(['generation_config.json', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer.model', 'tokenizer_config.json']);
    });

    it('fetches every file of a dataset repository', async () => {
      const { id, uri } = repo({ type: 'dataset', files: { 'README.md': '# data', 'data/train.jsonl': '{"x": 1}\n', 'data/test.jsonl': '{}\n' } });

      const path = await manager().downloadDataset(uri());

      expect(path).toBe(join(hubCache, `datasets--${id.replace('/', '--')}`, 'snapshots', COMMIT));
      expect(readFileSync(join(path, 'data', 'train.jsonl'), 'utf8')).toBe('{"x": 1}\n');
      expect(readlinkSync(join(path, 'data', 'train.jsonl'))).toBe(join('..', '..', '..', 'blobs', gitBlobId('{"x": 1}\n')));
      expect(server.requests.some((r) => r.url.startsWith(`/api/datasets/${id}/revision/main`))).toBe(true);
      expect(server.requests.filter((r) => r.url.startsWith(`/datasets/${id}/resolve/${COMMIT}/`))).toHaveLength(3);
    });
  });

  describe('access', () => {
    it('sends HF_TOKEN to the Hub only, never to the CDN it redirects to, and never prints it', async () => {
      const cdn = await startTestHttpServer();
      try {
        const blob = safetensors(5000);
        cdn.file(`/cdn/${sha256Hex(blob)}`, { body: blob });
        const { uri } = repo({ token: TOKEN, files: { 'config.json': '{}', 'model.safetensors': blob } });
        server.route(`/${uri().rest}/resolve/${COMMIT}/model.safetensors`, (_req, res, record) => {
          record.status = 302;
          res.writeHead(302, { Location: `${cdn.url}/cdn/${sha256Hex(blob)}` });
          res.end();
        });

        const path = await manager({ token: TOKEN }).downloadModel(uri());

        expect(readFileSync(join(path, 'model.safetensors')).equals(blob)).toBe(true);
        expect(server.requests.every((r) => r.headers['authorization'] === `Bearer ${TOKEN}`)).toBe(true);
        expect(cdn.requests).toHaveLength(1);
        expect(cdn.requests[0]?.headers['authorization']).toBeUndefined();
        expect(output.join('')).not.toContain(TOKEN);
      } finally {
        await cdn.close();
      }
    });

    it('explains a 401 without a token', async () => {
      const { id, uri } = repo({ token: TOKEN, files: { 'model.safetensors': safetensors(10) } });

      const error = await failure(manager().downloadModel(uri()));

      expect(error.message).toBe(
        `Download of hg://${id} failed. The Hugging Face Hub answered HTTP 401 for the model repository ${id}: the repository is private or gated, or does not exist. Set HF_TOKEN to an access token of an account that can read it (${server.url}/settings/tokens). To use local files instead, add a \`@user\` card with a local \`checkpoint\` (in ~/.config/fairseq2/assets).`,
      );
      expect(error).toMatchObject({ code: 'unauthorized', status: 401, category: 'user' });
    });

    it('explains a 401 with a token that is not accepted, without printing it', async () => {
      const { id, uri } = repo({ token: TOKEN, files: { 'model.safetensors': safetensors(10) } });

      const error = await failure(manager({ token: 'hf_WrongTokenValue999' }).downloadTokenizer(uri()));

      expect(error.message).toBe(
        `Download of hg://${id} failed. The Hugging Face Hub did not accept the token in HF_TOKEN for the model repository ${id} (HTTP 401): check that it is valid and can read the repository. To use local files instead, add a \`@user\` card with a local \`tokenizer\` (in ~/.config/fairseq2/assets).`,
      );
      expect(error.message).not.toContain('hf_Wrong');
    });

    it('refuses a token that an HTTP header cannot carry, without sending or printing it', async () => {
      const { id, uri } = repo({ token: TOKEN, files: { 'model.safetensors': safetensors(10) } });
      const broken = `${TOKEN.slice(0, 10)}\n${TOKEN.slice(10)}`;

      const error = await failure(manager({ token: broken }).downloadModel(uri()));

      expect(error.message).toBe(
        `Download of hg://${id} failed. The Hugging Face token (HF_TOKEN) holds a character that an HTTP header cannot carry (U+000A); set it to the token alone, as shown at https://huggingface.co/settings/tokens.`,
      );
      expect(error).toMatchObject({ code: 'invalid_token', category: 'user' });
      expect(server.requests).toEqual([]);
      for (const text of [String(error), error.stack ?? '', inspect(error, { depth: null }), output.join('')]) {
        expect(text).not.toContain(TOKEN.slice(0, 10));
        expect(text).not.toContain(TOKEN.slice(10));
      }
    });

    it('never shows HF_TOKEN or endpoint credentials in a failed download: message, stack, cause chain, inspect, progress lines', async () => {
      const { uri } = repo({ token: TOKEN, files: { 'config.json': '{}', 'model.safetensors': safetensors(1000) } });
      const closed = await startTestHttpServer();
      await closed.close();
      const endpointSecret = 'ep-Secret-91c';
      const failures = [
        // The Hub has no such repository (HTTP 404).
        await failure(manager({ token: TOKEN }).downloadModel(AssetUri.parse('hg://acme/nothing-here'))),
        // The Hub is not reachable.
        await failure(manager({ token: TOKEN, endpoint: closed.url }).downloadModel(uri())),
        // HF_ENDPOINT with credentials: fetch refuses the URL and quotes it in its error.
        await failure(manager({ token: TOKEN, endpoint: server.url.replace('://', `://mirror:${endpointSecret}@`) }).downloadModel(uri())),
        // A stalled file.
        await failure(
          manager({ token: TOKEN, stallTimeoutMs: 200 }).downloadModel(
            repo({ token: TOKEN, files: { 'model.safetensors': { content: safetensors(4000), faults: { stallAt: 1000, chunkSize: 1000 } } } }).uri(),
          ),
        ),
      ];

      expect(failures.map((e) => e.code)).toEqual(['not_found', 'network', 'network', 'timeout']);
      expect(failures[2]!.message).toMatch(/^Download of hg:\/\/acme\/repo-\d+ failed\. The Hugging Face Hub at http:\/\/mirror:\*\*\*@127\.0\.0\.1:\d+ is not reachable \(TypeError: Request cannot be constructed from a URL that includes credentials: http:\/\/mirror:\*\*\*@127\.0\.0\.1:\d+\/api\/models\/acme\/repo-\d+\/revision\/main\?/);
      for (const error of failures) {
        for (const text of [String(error), error.stack ?? '', inspect(error, { depth: null }), JSON.stringify(error)]) {
          expect(text).not.toContain(TOKEN);
          expect(text).not.toContain(endpointSecret);
        }
      }
      expect(output.join('')).toContain('Downloading');
      expect(output.join('')).not.toContain(TOKEN);
    });

    it('explains a gated repository', async () => {
      const { id, uri } = repo({ token: TOKEN, gated: true, files: { 'model.safetensors': safetensors(10) } });

      const error = await failure(manager({ token: TOKEN }).downloadModel(uri()));

      expect(error.message).toBe(
        `Download of hg://${id} failed. ${id} is a gated repository, and the account of HF_TOKEN has not been granted access (HTTP 403). Accept its license at ${server.url}/${id} and try again. To use local files instead, add a \`@user\` card with a local \`checkpoint\` (in ~/.config/fairseq2/assets).`,
      );
      expect(error).toMatchObject({ code: 'gated', status: 403 });
      expect(error.message).not.toContain(TOKEN);
    });

    it('explains a missing repository or revision', async () => {
      const error = await failure(manager().downloadModel(AssetUri.parse('hg://acme/no-such-model@v9')));

      expect(error.message).toBe(
        'Download of hg://acme/no-such-model@v9 failed. The Hugging Face Hub has no model repository acme/no-such-model with a revision v9 (HTTP 404). To use local files instead, add a `@user` card with a local `checkpoint` (in ~/.config/fairseq2/assets).',
      );
      expect(error).toMatchObject({ code: 'not_found', category: 'not_found' });
    });

    it('refuses a checksum, which names one file', async () => {
      await expect(manager().downloadModel(AssetUri.parse('hg://acme/x'), { checksum: `sha256:${'0'.repeat(64)}` })).rejects.toThrow(
        new InvalidArgumentError(
          'checksum',
          "A checksum verifies one file, but hg://acme/x is a Hugging Face repository (its files are verified against the Hub's own digests).",
        ),
      );
    });
  });

  describe('integrity', () => {
    it('deletes a file whose content does not match the Hub digest', async () => {
      const blob = safetensors(3000);
      const evil = Buffer.from(blob);
      evil[7] = evil[7]! ^ 0xff;
      const { id, uri } = repo({ files: { 'model.safetensors': { content: blob, servedContent: evil } } });

      const error = await failure(manager().downloadModel(uri()));

      expect(error.message).toBe(
        `Download of hg://${id} failed. model.safetensors has the checksum sha256:${sha256Hex(evil)}, but the Hugging Face Hub listed sha256:${sha256Hex(blob)}; it was deleted, try again.`,
      );
      expect(readdirSync(join(hubCache, `models--${id.replace('/', '--')}`, 'blobs'))).toEqual([]);
    });

    it('checks non-LFS files against their git blob id', async () => {
      const { id, uri } = repo({ files: { 'model.safetensors': safetensors(10), 'config.json': { content: '{"a": 1}', servedContent: '{"a": 2}' } } });

      const error = await failure(manager().downloadModel(uri()));

      expect(error.message).toBe(
        `Download of hg://${id} failed. config.json has the checksum git-sha1:${gitBlobId('{"a": 2}')}, but the Hugging Face Hub listed git-sha1:${gitBlobId('{"a": 1}')}; it was deleted, try again.`,
      );
    });

    it('resumes an interrupted file from its .incomplete blob', async () => {
      const blob = safetensors(200_000);
      const { id, uri } = repo({ files: { 'model.safetensors': { content: blob, faults: { truncateAt: 80_000, truncateTimes: 1, chunkSize: 40_000 } } } });
      const incomplete = join(hubCache, `models--${id.replace('/', '--')}`, 'blobs', `${sha256Hex(blob)}.incomplete`);

      const error = await failure(manager().downloadModel(uri()));
      expect(error.message).toBe(`Download of hg://${id} failed. The connection to model.safetensors broke after 80000 of 200000 bytes (UND_ERR_SOCKET).`);
      expect(statSync(incomplete).size).toBe(80_000);
      const path = await manager().downloadModel(uri());

      expect(readFileSync(join(path, 'model.safetensors')).equals(blob)).toBe(true);
      expect(server.requests.filter((r) => r.url.includes('/resolve/')).at(-1)?.headers['range']).toBe('bytes=80000-');
      expect(existsSync(incomplete)).toBe(false);
    });

    it.each([
      ['ENOSPC', 'disk_full', 'The disk is full (ENOSPC) while writing {blob}. Free some space, or set HF_HUB_CACHE to a folder on a larger disk.'],
      ['EACCES', 'permission_denied', 'Permission denied (EACCES) while writing {blob}. Make the folder writable, or set HF_HUB_CACHE to a writable folder.'],
    ])('reports %s while downloading and leaves no partial blob', async (code, errorCode, reason) => {
      const blob = safetensors(100_000);
      const { id, uri } = repo({ files: { 'model.safetensors': blob } });
      const blobs = join(hubCache, `models--${id.replace('/', '--')}`, 'blobs');

      const error = await failure(manager({ fileSystem: new FailingWrites(code, 30_000, '.incomplete') }).downloadModel(uri()));

      expect(error.message).toBe(`Download of hg://${id} failed. ${reason.replace('{blob}', join(blobs, `${sha256Hex(blob)}.incomplete`))}`);
      expect(error.code).toBe(errorCode);
      expect(readdirSync(blobs)).toEqual([]);
    });
  });

  describe('offline', () => {
    it('serves a downloaded snapshot without a request', async () => {
      const { uri } = repo({ files: modelFiles });
      const path = await manager().downloadModel(uri());
      server.clearRequests();

      await expect(manager({ offline: true }).downloadModel(uri())).resolves.toBe(path);
      await expect(manager().downloadTokenizer(uri(), { localOnly: true })).resolves.toBe(path);
      await expect(manager().downloadModel(uri(`@${COMMIT}`), { localOnly: true })).resolves.toBe(path);
      expect(server.requests).toEqual([]);
    });

    it('falls back to a complete cached snapshot when the Hub is not reachable', async () => {
      const { id, uri } = repo({ files: modelFiles });
      const path = await manager().downloadModel(uri());
      const gone = await startTestHttpServer();
      await gone.close();
      output.length = 0;

      await expect(manager({ endpoint: gone.url }).downloadModel(uri())).resolves.toBe(path);
      const error = await failure(manager({ endpoint: gone.url }).downloadModel(AssetUri.parse(`hg://${id}-other`)));

      expect(output.join('')).toBe(`The Hugging Face Hub at ${gone.url} is not reachable (ECONNREFUSED). Using the cached snapshot ${path}.\n`);
      expect(error.message).toBe(`Download of hg://${id}-other failed. The Hugging Face Hub at ${gone.url} is not reachable (ECONNREFUSED).`);
    });

    it('lists the paths it looked at when the repository is not cached', async () => {
      const folder = join(hubCache, 'models--acme--absent');

      const error = await failure(manager({ offline: true }).downloadModel(AssetUri.parse('hg://acme/absent')));

      expect(error.message).toBe(
        `Download of hg://acme/absent failed. The model is not in the Hugging Face cache, and downloads are off (HF_HUB_OFFLINE or FAIRSEQ2_OFFLINE is set). Looked at: ${join(folder, 'refs', 'main')}.`,
      );
      expect(error).toMatchObject({ code: 'not_cached', category: 'not_found' });
      expect(server.requests).toEqual([]);
    });

    it('lists the missing weights when only the tokenizer was downloaded', async () => {
      const { id, uri } = repo({ files: modelFiles });
      await manager().downloadTokenizer(uri());
      const folder = join(hubCache, `models--${id.replace('/', '--')}`);

      const error = await failure(manager().downloadModel(uri(), { localOnly: true }));

      expect(error.message).toBe(
        `Download of hg://${id} failed. The model is not in the Hugging Face cache, and \`localOnly\` is set. Looked at: ${join(folder, 'refs', 'main')}, ${join(folder, 'snapshots', COMMIT, '*.safetensors')}.`,
      );
    });

    it('reads a cache written by huggingface_hub (Python)', async () => {
      const folder = join(hubCache, 'models--py--written');
      const snapshot = join(folder, 'snapshots', COMMIT);
      mkdirSync(join(folder, 'blobs'), { recursive: true });
      mkdirSync(join(folder, 'refs'), { recursive: true });
      mkdirSync(snapshot, { recursive: true });
      writeFileSync(join(folder, 'refs', 'main'), COMMIT);
      writeFileSync(join(folder, 'blobs', 'a'.repeat(64)), 'weights');
      writeFileSync(join(folder, 'blobs', 'b'.repeat(40)), '{}');
      symlinkSync(join('..', '..', 'blobs', 'a'.repeat(64)), join(snapshot, 'model.safetensors'));
      symlinkSync(join('..', '..', 'blobs', 'b'.repeat(40)), join(snapshot, 'config.json'));

      await expect(manager({ offline: true }).downloadModel(AssetUri.parse('hg://py/written'))).resolves.toBe(snapshot);
    });
  });

  describe('a killed process', () => {
    it('takes over the stale lock and resumes the .incomplete blob', async () => {
      const blob = safetensors(1024 * 1024);
      const { id, uri } = repo({ files: { 'model.safetensors': { content: blob, faults: { chunkSize: 16 * 1024, chunkDelayMs: 20 } } } });
      const blobs = join(hubCache, `models--${id.replace('/', '--')}`, 'blobs');
      const incomplete = join(blobs, `${sha256Hex(blob)}.incomplete`);
      const lock = join(hubCache, '.locks', `models--${id.replace('/', '--')}`, `${sha256Hex(blob)}.fs2.lock`);
      const child = await bundleForNode('test/support/download-child.ts');
      const running = spawnNode(child, [JSON.stringify({ manager: 'hg', cacheDir: hubCache, uri: uri().href, endpoint: server.url })]);
      await waitUntil(() => existsSync(incomplete) && statSync(incomplete).size >= 128 * 1024, 'the child has written 128 KiB');

      running.process.kill('SIGKILL');
      expect(await running.exited).toBe('SIGKILL');
      const kept = statSync(incomplete).size;
      expect(existsSync(lock)).toBe(true);
      const path = await manager().downloadModel(uri());

      expect(readFileSync(join(path, 'model.safetensors')).equals(blob)).toBe(true);
      expect(output.join('')).toContain(
        `Taking over the download of hg://${id} from process ${running.process.pid} on ${hostname()}: its lock ${lock} is stale (process ${running.process.pid} is not running).`,
      );
      expect(server.requests.filter((r) => r.url.includes('/resolve/')).at(-1)?.headers['range']).toBe(`bytes=${kept}-`);
      expect(readdirSync(blobs)).toEqual([sha256Hex(blob)]);
    });
  });
});

describe(parseHuggingFaceUri, () => {
  it('reads the repository and the revision', () => {
    expect(parseHuggingFaceUri(AssetUri.parse('hg://Qwen/Qwen2.5-7B'))).toEqual({ repo: 'Qwen/Qwen2.5-7B', revision: 'main' });
    expect(parseHuggingFaceUri(AssetUri.parse('hg://org/repo@refs/pr/1'))).toEqual({ repo: 'org/repo', revision: 'refs/pr/1' });
    expect(parseHuggingFaceUri(AssetUri.parse('hg://gpt2'))).toEqual({ repo: 'gpt2', revision: 'main' });
  });

  it.each(['hg://a/b/c', 'hg://org/repo!', 'hg://org/repo@'])('refuses %s', (text) => {
    expect(() => parseHuggingFaceUri(AssetUri.parse(text))).toThrow(
      `${text} does not name a Hugging Face repository: expected \`hg://<org>/<name>[@<revision>]\`.`,
    );
  });
});
