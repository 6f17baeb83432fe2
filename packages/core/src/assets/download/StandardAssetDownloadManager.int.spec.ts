import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';

import {
  FailingWrites,
  buildTarGz,
  buildZip,
  bundleForNode,
  defaultEtag,
  makeTempDir,
  sha256Hex,
  simulatedErrno,
  spawnNode,
  startTestHttpServer,
  waitUntil,
  type TempDir,
  type TestHttpServer,
} from '../../../../../test/support/index.js';
import { AssetUri } from '../AssetUri.js';
import { StandardDownloadFileSystem } from './DownloadFileSystem.js';
import { AssetDownloadError } from './errors.js';
import { assetCacheKey, StandardAssetDownloadManager, type StandardAssetDownloadManagerOptions } from './StandardAssetDownloadManager.js';
import { StandardProgressReporter } from './StandardProgressReporter.js';

describe(StandardAssetDownloadManager, () => {
  let server: TestHttpServer;
  let dir: TempDir;
  let cacheDir: string;
  let output: string[];

  beforeAll(async () => {
    server = await startTestHttpServer();
  });

  afterAll(async () => {
    await server.close();
  });

  beforeEach(() => {
    dir = makeTempDir();
    cacheDir = join(dir.path, 'cache');
    output = [];
    server.clearRequests();
  });

  afterEach(() => {
    dir.cleanup();
  });

  function manager(options: Partial<StandardAssetDownloadManagerOptions> = {}): StandardAssetDownloadManager {
    return new StandardAssetDownloadManager({
      cacheDir,
      progress: new StandardProgressReporter({ stream: { write: (text: string) => output.push(text) }, tty: false }),
      ...options,
    });
  }

  function entry(uri: AssetUri): string {
    return join(cacheDir, assetCacheKey(uri));
  }

  async function failure(promise: Promise<unknown>): Promise<AssetDownloadError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AssetDownloadError);
    return error as AssetDownloadError;
  }

  describe('a plain file', () => {
    it('downloads once into its cache entry and returns the file', async () => {
      const body = randomBytes(100_000);
      server.file('/files/model.safetensors', { body });
      const uri = AssetUri.parse(`${server.url}/files/model.safetensors`);

      const path = await manager().downloadModel(uri, { displayName: 'tiny_llama' });
      const again = await manager().downloadModel(uri);

      expect(path).toBe(join(entry(uri), 'model.safetensors'));
      expect(again).toBe(path);
      expect(readFileSync(path).equals(body)).toBe(true);
      expect(server.requestsTo('/files/model.safetensors')).toHaveLength(1);
      expect(readdirSync(cacheDir).sort()).toEqual([assetCacheKey(uri), `${assetCacheKey(uri)}.manifest.json`]);
      // One line at start and end, and at most one per 10 % between (how many depends on the chunks received).
      const lines = output.join('').split('\n').slice(0, -1);
      expect(lines[0]).toBe('Downloading tiny_llama: started (97.7 KiB)');
      expect(lines.at(-1)).toBe('Downloading tiny_llama: done (97.7 KiB)');
      expect(lines.length).toBeLessThanOrEqual(11);
      for (const line of lines.slice(1, -1)) {
        expect(line).toMatch(/^Downloading tiny_llama: \d0% \(\d+\.\d KiB of 97\.7 KiB\)$/);
      }
    });

    it('sends a real User-Agent and asks for no content encoding', async () => {
      server.file('/ua.bin', { body: 'x' });

      await manager().downloadModel(AssetUri.parse(`${server.url}/ua.bin`));

      const [request] = server.requestsTo('/ua.bin');
      expect(request?.headers['user-agent']).toMatch(/^fs2\/\d+\.\d+\.\d+ \(Node\.js v\d+/);
      expect(request?.headers['accept-encoding']).toBe('identity');
    });

    it('names the file after Content-Disposition', async () => {
      server.file('/download', { body: 'tok', contentDisposition: 'attachment; filename="tokenizer.model"' });
      const uri = AssetUri.parse(`${server.url}/download?id=7`);

      await expect(manager().downloadTokenizer(uri)).resolves.toBe(join(entry(uri), 'tokenizer.model'));
    });

    it('follows redirects, up to a limit', async () => {
      server.file('/real.bin', { body: 'real' });
      server.redirect('/hop1', '/hop2', 301);
      server.redirect('/hop2', `${server.url}/real.bin`, 307);
      const uri = AssetUri.parse(`${server.url}/hop1`);

      const path = await manager().downloadModel(uri);

      expect(readFileSync(path, 'utf8')).toBe('real');
      expect(path).toBe(join(entry(uri), 'hop1'));
      const error = await failure(manager({ maxRedirects: 1 }).downloadModel(AssetUri.parse(`${server.url}/hop1?again`)));
      expect(error.message).toBe(`Download of ${server.url}/hop1?again failed. ${server.url}/hop1?again redirected more than 1 times.`);
      expect(error.code).toBe('too_many_redirects');
    });

    it('reports HTTP errors with fairseq2 sentence and the status', async () => {
      server.file('/gone.bin', { body: '', status: 404 });
      server.file('/broken.bin', { body: '', status: 500 });
      const gone = AssetUri.parse(`${server.url}/gone.bin`);
      const broken = AssetUri.parse(`${server.url}/broken.bin`);

      const notFound = await failure(manager().downloadModel(gone));
      const serverError = await failure(manager().downloadModel(broken));

      expect(notFound.message).toBe(`Download of ${gone} failed. Server returned HTTP error code 404 for ${gone}.`);
      expect(notFound).toMatchObject({ code: 'not_found', status: 404, category: 'not_found' });
      expect(serverError.message).toBe(`Download of ${broken} failed. Server returned HTTP error code 500 for ${broken}.`);
      expect(serverError).toMatchObject({ code: 'http_status', status: 500, category: 'operational' });
      expect(readdirSync(cacheDir).filter((n) => !n.endsWith('.lock'))).toEqual([]);
    });

    it('reports an unreachable server', async () => {
      const closed = await startTestHttpServer();
      await closed.close();
      const uri = AssetUri.parse(`${closed.url}/x.bin`);

      const error = await failure(manager().downloadModel(uri));

      expect(error.message).toBe(`Download of ${uri} failed. ${uri} is not reachable (ECONNREFUSED).`);
      expect(error.code).toBe('network');
    });

    it('gives up on a stalled response', async () => {
      server.file('/stall.bin', { body: randomBytes(4096), stallAt: 1000, chunkSize: 1000 });
      const uri = AssetUri.parse(`${server.url}/stall.bin`);

      const error = await failure(manager({ stallTimeoutMs: 200 }).downloadModel(uri));

      expect(error.message).toBe(`Download of ${uri} failed. No data arrived from ${uri} for 0.2 s; 1000 of 4096 bytes were received.`);
      expect(error.code).toBe('timeout');
    });
  });

  describe('credentials', () => {
    it('sends URL credentials as Basic auth and never prints them', async () => {
      server.file('/private/m.bin', { body: 'secret weights' });
      server.file('/private/missing.bin', { body: '', status: 404 });
      const uri = AssetUri.parse(`${server.url.replace('://', '://alice:s3cr3t-pw@')}/private/m.bin`);
      const missing = AssetUri.parse(`${server.url.replace('://', '://alice:s3cr3t-pw@')}/private/missing.bin`);

      await manager().downloadModel(uri);
      const error = await failure(manager().downloadModel(missing));

      expect(server.requestsTo('/private/m.bin')[0]?.headers['authorization']).toBe(
        `Basic ${Buffer.from('alice:s3cr3t-pw').toString('base64')}`,
      );
      const shown = missing.toString();
      expect(shown).toBe(`${server.url.replace('://', '://alice:***@')}/private/missing.bin`);
      expect(error.message).toBe(`Download of ${shown} failed. Server returned HTTP error code 404 for ${shown}.`);
      expect(output.join('')).toContain(`Downloading ${uri.toString()}`);
      expect(output.join('')).not.toContain('s3cr3t');
      expect(JSON.stringify(readdirSync(cacheDir).map((n) => (n.endsWith('.json') ? readFileSync(join(cacheDir, n), 'utf8') : n)))).not.toContain('s3cr3t');
    });

    it('never shows URL credentials in a failed download: message, stack, cause chain, inspect, JSON, progress lines', async () => {
      const secret = 'pw-Secret-7f3a';
      const withCredentials = (url: string, user = 'carol'): string => url.replace('://', `://${user}:${secret}@`);
      const closed = await startTestHttpServer();
      await closed.close();
      // A redirect whose Location carries credentials: fetch refuses it with a TypeError quoting the URL.
      server.redirect('/leaky-redirect', withCredentials(`${server.url}/target.bin`, 'eve'));
      server.file('/stalled.bin', { body: randomBytes(4096), stallAt: 1000, chunkSize: 1000 });
      server.file('/denied.bin', { body: '', status: 401 });
      const cases: [AssetUri, string][] = [
        [AssetUri.parse(withCredentials(`${server.url}/leaky-redirect`)), 'network'],
        [AssetUri.parse(withCredentials(`${closed.url}/x.bin`)), 'network'],
        [AssetUri.parse(withCredentials(`${server.url}/stalled.bin`)), 'timeout'],
        [AssetUri.parse(withCredentials(`${server.url}/denied.bin`)), 'unauthorized'],
      ];

      const errors: AssetDownloadError[] = [];
      for (const [uri, code] of cases) {
        const error = await failure(manager({ stallTimeoutMs: 200 }).downloadModel(uri));
        expect([uri.toString(), error.code]).toEqual([uri.toString(), code]);
        errors.push(error);
      }

      const shown = (uri: AssetUri): string => uri.toString();
      const [redirect] = cases[0]!;
      expect(errors[0]!.message).toBe(
        `Download of ${shown(redirect)} failed. ${shown(redirect)} is not reachable (TypeError: Request cannot be constructed from a URL that includes credentials: ${server.url.replace('://', '://eve:***@')}/target.bin).`,
      );
      expect(inspect(errors[0]!.cause)).toContain(`${server.url.replace('://', '://eve:***@')}/target.bin`);
      for (const error of errors) {
        for (const text of [String(error), error.stack ?? '', inspect(error, { depth: null }), JSON.stringify(error)]) {
          expect(text).not.toContain(secret);
        }
        expect(inspect(error, { depth: null })).toContain(`AssetUri(${error.uri.toString()})`);
      }
      expect(output.join('')).toContain(`Downloading ${shown(cases[2]![0])}`);
      expect(output.join('')).not.toContain(secret);
    });

    it('drops credentials on a redirect to another origin', async () => {
      const other = await startTestHttpServer();
      try {
        other.file('/cdn.bin', { body: 'from the cdn' });
        server.redirect('/to-cdn', `${other.url}/cdn.bin`);
        const uri = AssetUri.parse(`${server.url.replace('://', '://bob:pw@')}/to-cdn`);

        await manager().downloadModel(uri);

        expect(server.requestsTo('/to-cdn')[0]?.headers['authorization']).toBeDefined();
        expect(other.requestsTo('/cdn.bin')[0]?.headers['authorization']).toBeUndefined();
      } finally {
        await other.close();
      }
    });
  });

  describe('integrity', () => {
    it('verifies a checksum and deletes a download that does not match', async () => {
      const body = randomBytes(5000);
      server.file('/sum.bin', { body });
      const uri = AssetUri.parse(`${server.url}/sum.bin`);
      const wrong = `sha256:${'0'.repeat(64)}`;

      const error = await failure(manager().downloadModel(uri, { checksum: wrong }));

      expect(error.message).toBe(
        `Download of ${uri} failed. The downloaded file has the checksum sha256:${sha256Hex(body)}, but ${wrong} is expected; it was deleted. If the file on the server changed on purpose, update the checksum of the card.`,
      );
      expect(error).toMatchObject({ code: 'checksum_mismatch', expected: wrong, actual: `sha256:${sha256Hex(body)}` });
      expect(readdirSync(cacheDir)).toEqual([]);
      await expect(manager().downloadModel(uri, { checksum: `sha256:${sha256Hex(body)}` })).resolves.toBe(join(entry(uri), 'sum.bin'));
    });

    it('detects a cached file corrupted after the download when a checksum is given', async () => {
      const body = randomBytes(5000);
      server.file('/flip.bin', { body });
      const uri = AssetUri.parse(`${server.url}/flip.bin`);
      const checksum = `sha256:${sha256Hex(body)}`;
      const path = await manager().downloadModel(uri, { checksum });
      const flipped = Buffer.from(body);
      flipped[1234] = flipped[1234]! ^ 0x01;
      writeFileSync(path, flipped);

      const error = await failure(manager().downloadModel(uri, { checksum }));

      expect(error.message).toBe(
        `Download of ${uri} failed. The cached file ${path} is corrupted: its checksum is sha256:${sha256Hex(flipped)}, but ${checksum} is expected. Delete ${entry(uri)}, or download it again with \`force\`.`,
      );
      expect(error).toMatchObject({ code: 'cache_corrupted', path });
      // Without a checksum, the cache is trusted; `force` repairs it.
      await expect(manager().downloadModel(uri)).resolves.toBe(path);
      await manager().downloadModel(uri, { checksum, force: true });
      expect(readFileSync(path).equals(body)).toBe(true);
      expect(server.requestsTo('/flip.bin')).toHaveLength(2);
    });

    it('says so when the card checksum differs from the cached download', async () => {
      server.file('/changed.bin', { body: 'v1' });
      const uri = AssetUri.parse(`${server.url}/changed.bin`);
      await manager().downloadModel(uri);
      const newer = `sha256:${sha256Hex('v2')}`;

      const error = await failure(manager().downloadModel(uri, { checksum: newer }));

      expect(error.message).toBe(
        `Download of ${uri} failed. The cached download has the checksum sha256:${sha256Hex('v1')}, but ${newer} is expected. Delete ${entry(uri)}, or download it again with \`force\`.`,
      );
    });

    it('refuses a body shorter than its Content-Length and resumes it with a Range request', async () => {
      const body = randomBytes(300_000);
      server.file('/resume.bin', { body, truncateAt: 100_000, truncateTimes: 1, chunkSize: 50_000 });
      const uri = AssetUri.parse(`${server.url}/resume.bin`);

      const error = await failure(manager().downloadModel(uri));
      const path = await manager().downloadModel(uri, { checksum: `sha256:${sha256Hex(body)}` });

      expect(error.message).toBe(
        `Download of ${uri} failed. The connection to ${uri} broke after 100000 of 300000 bytes (UND_ERR_SOCKET).`,
      );
      expect(error.code).toBe('network');
      expect(readFileSync(path).equals(body)).toBe(true);
      const [, resumed] = server.requestsTo('/resume.bin');
      expect(resumed?.headers['range']).toBe('bytes=100000-');
      expect(resumed?.headers['if-range']).toBe(defaultEtag(body));
      expect(resumed?.status).toBe(206);
      expect(output.join('')).toContain('resuming at 97.7 KiB of 293.0 KiB');
    });

    it('starts over when the file changed since the partial download (If-Range)', async () => {
      const first = randomBytes(200_000);
      const second = randomBytes(200_000);
      server.file('/moving.bin', { body: first, truncateAt: 50_000, chunkSize: 50_000 });
      const uri = AssetUri.parse(`${server.url}/moving.bin`);
      await failure(manager().downloadModel(uri));
      server.file('/moving.bin', { body: second });

      const path = await manager().downloadModel(uri);

      expect(readFileSync(path).equals(second)).toBe(true);
      expect(server.requestsTo('/moving.bin')[1]?.status).toBe(200);
    });

    it('starts over when the server ignores ranges', async () => {
      const body = randomBytes(120_000);
      server.file('/norange.bin', { body, truncateAt: 60_000, truncateTimes: 1, chunkSize: 30_000 });
      const uri = AssetUri.parse(`${server.url}/norange.bin`);
      await failure(manager().downloadModel(uri));
      server.file('/norange.bin', { body, ranges: false });

      const path = await manager().downloadModel(uri);

      expect(readFileSync(path).equals(body)).toBe(true);
    });

    it('never keeps a partial download that cannot be resumed', async () => {
      server.file('/weak.bin', { body: randomBytes(100_000), etag: null, ranges: false, truncateAt: 10_000, chunkSize: 10_000 });
      const uri = AssetUri.parse(`${server.url}/weak.bin`);

      await failure(manager().downloadModel(uri));

      expect(readdirSync(cacheDir)).toEqual([]);
    });
  });

  describe('archives', () => {
    it('extracts a .tar.gz and returns the folder', async () => {
      server.file('/mistral.tar.gz', {
        body: buildTarGz([
          { path: 'mistral-7B/params.json', body: '{}' },
          { path: 'mistral-7B/consolidated.00.pth', body: 'w' },
        ]),
      });
      const uri = AssetUri.parse(`${server.url}/mistral.tar.gz`);

      const path = await manager().downloadModel(uri);

      expect(path).toBe(entry(uri));
      expect(readdirSync(join(path, 'mistral-7B')).sort()).toEqual(['consolidated.00.pth', 'params.json']);
      expect(readdirSync(cacheDir).sort()).toEqual([assetCacheKey(uri), `${assetCacheKey(uri)}.manifest.json`]);
    });

    it('returns the one file of an archive that holds one file', async () => {
      server.file('/tok.zip', { body: buildZip([{ path: 'tokenizer.model', body: 'spm' }]) });
      const uri = AssetUri.parse(`${server.url}/tok.zip`);

      await expect(manager().downloadTokenizer(uri)).resolves.toBe(join(entry(uri), 'tokenizer.model'));
    });

    it('detects a corrupted extracted file with the manifest', async () => {
      const archive = buildTarGz([
        { path: 'a.txt', body: 'alpha' },
        { path: 'b.txt', body: 'beta' },
      ]);
      server.file('/two.tar.gz', { body: archive });
      const uri = AssetUri.parse(`${server.url}/two.tar.gz`);
      const checksum = `sha256:${sha256Hex(archive)}`;
      const path = await manager().downloadDataset(uri, { checksum });
      writeFileSync(join(path, 'b.txt'), 'bets');

      const error = await failure(manager().downloadDataset(uri, { checksum }));

      expect(error.message).toBe(
        `Download of ${uri} failed. The cached file ${join(path, 'b.txt')} is corrupted: its checksum is sha256:${sha256Hex('bets')}, but sha256:${sha256Hex('beta')} is expected. Delete ${path}, or download it again with \`force\`.`,
      );
    });

    it.each([
      ['slip.tar.gz', buildTarGz([{ path: 'ok.txt', body: 'fine' }, { path: 'out', type: 'symlink', linkpath: '../../..' }]), 'out', 'links to `../../..`, outside the extraction folder'],
      ['slip2.tar.gz', buildTarGz([{ path: 'ok.txt', body: 'fine' }, { path: '/tmp/fs2-evil.sh', body: 'x' }]), '/tmp/fs2-evil.sh', 'is an absolute path, which would leave the extraction folder'],
      ['slip2.zip', buildZip([{ path: 'ok.txt', body: 'fine' }, { path: 'a/../../evil.sh', body: 'x' }]), 'a/../../evil.sh', 'has a `..` component, which would leave the extraction folder'],
    ])('refuses the hostile archive %s after a harmless entry: its staging folder is removed, nothing lands outside', async (name, archive, entryName, why) => {
      server.file(`/${name}`, { body: archive });
      const uri = AssetUri.parse(`${server.url}/${name}`);
      const key = assetCacheKey(uri);

      const error = await failure(manager().downloadModel(uri));

      expect(error.message).toBe(`Download of ${uri} failed. The archive data has an entry \`${entryName}\` that ${why}; nothing was extracted.`);
      expect(error).toMatchObject({ code: 'unsafe_archive', category: 'user', path: join(cacheDir, `${key}.download`, 'data') });
      expect(readdirSync(cacheDir).sort()).toEqual([`${key}.download`]);
      expect(readdirSync(dir.path)).toEqual(['cache']);
      expect(existsSync('/tmp/fs2-evil.sh')).toBe(false);
    });

    it('refuses a zip-slip archive and leaves nothing behind but the download', async () => {
      server.file('/slip.zip', { body: buildZip([{ path: '../../evil.sh', body: 'rm -rf' }]) });
      const uri = AssetUri.parse(`${server.url}/slip.zip`);
      const key = assetCacheKey(uri);

      const error = await failure(manager().downloadModel(uri));

      expect(error.message).toBe(
        `Download of ${uri} failed. The archive data has an entry \`../../evil.sh\` that has a \`..\` component, which would leave the extraction folder; nothing was extracted.`,
      );
      expect(readdirSync(cacheDir).sort()).toEqual([`${key}.download`]);
      expect(existsSync(join(dir.path, 'evil.sh'))).toBe(false);
    });

    it('verifies a complete download left by a failed run against the checksum again: a flipped byte deletes it', async () => {
      const archive = buildTarGz([{ path: 'x.bin', body: randomBytes(50_000) }]);
      server.file('/left.tar.gz', { body: archive });
      const uri = AssetUri.parse(`${server.url}/left.tar.gz`);
      const key = assetCacheKey(uri);
      const checksum = `sha256:${sha256Hex(archive)}`;
      await failure(manager({ fileSystem: new FailingWrites('ENOSPC', 10_000, `${key}.staging`) }).downloadModel(uri, { checksum }));
      const left = join(cacheDir, `${key}.download`, 'data');
      const flipped = Buffer.from(readFileSync(left));
      flipped[100] = flipped[100]! ^ 0x01;
      writeFileSync(left, flipped);

      const error = await failure(manager().downloadModel(uri, { checksum }));
      const path = await manager().downloadModel(uri, { checksum });

      expect(error.message).toBe(
        `Download of ${uri} failed. The downloaded file has the checksum sha256:${sha256Hex(flipped)}, but ${checksum} is expected; it was deleted. If the file on the server changed on purpose, update the checksum of the card.`,
      );
      expect(error.code).toBe('checksum_mismatch');
      expect(path).toBe(join(entry(uri), 'x.bin'));
      expect(server.requestsTo('/left.tar.gz')).toHaveLength(2);
    });

    it('extracts a complete download again after a full disk, without downloading it again', async () => {
      server.file('/big.tar.gz', { body: buildTarGz([{ path: 'x.bin', body: randomBytes(50_000) }]) });
      const uri = AssetUri.parse(`${server.url}/big.tar.gz`);
      const key = assetCacheKey(uri);

      const error = await failure(manager({ fileSystem: new FailingWrites('ENOSPC', 10_000, `${key}.staging`) }).downloadModel(uri));
      const path = await manager().downloadModel(uri);

      expect(error.message).toBe(
        `Download of ${uri} failed. The disk is full (ENOSPC) while extracting into ${join(cacheDir, `${key}.staging`, 'x.bin')}. Free some space, or set FAIRSEQ2_CACHE_DIR to a folder on a larger disk.`,
      );
      expect(path).toBe(join(entry(uri), 'x.bin'));
      expect(statSync(path).size).toBe(50_000);
      expect(server.requestsTo('/big.tar.gz')).toHaveLength(1);
    });
  });

  describe('storage faults', () => {
    it.each([
      ['ENOSPC', 'disk_full', 'The disk is full (ENOSPC) while writing {data}. Free some space, or set FAIRSEQ2_CACHE_DIR to a folder on a larger disk.'],
      ['EDQUOT', 'disk_full', 'The disk is full (EDQUOT) while writing {data}. Free some space, or set FAIRSEQ2_CACHE_DIR to a folder on a larger disk.'],
      ['EACCES', 'permission_denied', 'Permission denied (EACCES) while writing {data}. Make the folder writable, or set FAIRSEQ2_CACHE_DIR to a writable folder.'],
      ['EPERM', 'permission_denied', 'Permission denied (EPERM) while writing {data}. Make the folder writable, or set FAIRSEQ2_CACHE_DIR to a writable folder.'],
      ['EROFS', 'permission_denied', 'Permission denied (EROFS) while writing {data}. Make the folder writable, or set FAIRSEQ2_CACHE_DIR to a writable folder.'],
    ])('reports %s while downloading and leaves no partial file', async (code, errorCode, reason) => {
      server.file('/fault.bin', { body: randomBytes(200_000), chunkSize: 20_000 });
      const uri = AssetUri.parse(`${server.url}/fault.bin`);
      const data = join(cacheDir, `${assetCacheKey(uri)}.partial`, 'data');

      const error = await failure(manager({ fileSystem: new FailingWrites(code, 50_000, '.partial') }).downloadModel(uri));

      expect(error.message).toBe(`Download of ${uri} failed. ${reason.replace('{data}', data)}`);
      expect(error).toMatchObject({ code: errorCode, path: data });
      expect(readdirSync(cacheDir)).toEqual([]);
    });

    it('reports a full disk while writing the resume data, before the first byte, and leaves no partial file', async () => {
      server.file('/meta-fault.bin', { body: randomBytes(10_000) });
      const uri = AssetUri.parse(`${server.url}/meta-fault.bin`);
      const scratch = join(cacheDir, `${assetCacheKey(uri)}.partial`, 'meta.json.tmp');
      const fileSystem = new (class extends StandardDownloadFileSystem {
        override async writeFile(path: string, data: Uint8Array | string): Promise<void> {
          if (path.endsWith('meta.json.tmp')) {
            throw simulatedErrno('ENOSPC');
          }
          await super.writeFile(path, data);
        }
      })();

      const error = await failure(manager({ fileSystem }).downloadModel(uri));

      expect(error.message).toBe(
        `Download of ${uri} failed. The disk is full (ENOSPC) while writing ${scratch}. Free some space, or set FAIRSEQ2_CACHE_DIR to a folder on a larger disk.`,
      );
      expect(error).toMatchObject({ code: 'disk_full', path: scratch });
      expect(readdirSync(cacheDir)).toEqual([]);
    });

    it('reports a cache folder that refuses writes at its first write, the lock file', async () => {
      server.file('/ro.bin', { body: 'x' });
      const uri = AssetUri.parse(`${server.url}/ro.bin`);
      const lock = join(cacheDir, `${assetCacheKey(uri)}.lock`);
      mkdirSync(cacheDir);
      // A read-only folder for real; as root, where chmod denies nothing, the same refusal injected.
      const root = process.getuid?.() === 0;
      const fileSystem = root
        ? new (class extends StandardDownloadFileSystem {
            override async writeFile(path: string, data: Uint8Array | string): Promise<void> {
              if (path.startsWith(cacheDir)) {
                throw simulatedErrno('EACCES');
              }
              await super.writeFile(path, data);
            }
          })()
        : new StandardDownloadFileSystem();
      chmodSync(cacheDir, 0o555);
      try {
        const error = await failure(manager({ fileSystem }).downloadModel(uri));

        expect(error.message).toBe(
          `Download of ${uri} failed. Permission denied (EACCES) while writing ${lock}. Make the folder writable, or set FAIRSEQ2_CACHE_DIR to a writable folder.`,
        );
        expect(error).toMatchObject({ code: 'permission_denied', path: lock, category: 'operational' });
        expect(readdirSync(cacheDir)).toEqual([]);
        expect(server.requests).toEqual([]);
      } finally {
        chmodSync(cacheDir, 0o755);
      }
    });
  });

  describe('offline', () => {
    it('lists the paths it looked at when the asset is not cached', async () => {
      const uri = AssetUri.parse(`${server.url}/never.bin`);
      const key = join(cacheDir, assetCacheKey(uri));

      const local = await failure(manager().downloadModel(uri, { localOnly: true }));
      const offline = await failure(manager({ offline: true }).downloadModel(uri));

      expect(local.message).toBe(
        `Download of ${uri} failed. The asset is not cached, and \`localOnly\` is set. Looked at: ${key}, ${key}.download.`,
      );
      expect(offline.message).toBe(
        `Download of ${uri} failed. The asset is not cached, and downloads are off (FAIRSEQ2_OFFLINE is set). Looked at: ${key}, ${key}.download.`,
      );
      expect(local.category).toBe('not_found');
      expect(server.requests).toEqual([]);
    });

    it('serves the cache without a request', async () => {
      server.file('/cached.bin', { body: 'c' });
      const uri = AssetUri.parse(`${server.url}/cached.bin`);
      const path = await manager().downloadModel(uri);
      server.clearRequests();

      await expect(manager({ offline: true }).downloadModel(uri)).resolves.toBe(path);
      expect(server.requests).toEqual([]);
      await expect(manager({ offline: true }).downloadModel(uri, { force: true })).rejects.toThrow(
        `\`force\` downloads ${uri} again, which FAIRSEQ2_OFFLINE forbids.`,
      );
    });
  });

  describe('two processes', () => {
    let child: string;

    beforeAll(async () => {
      child = await bundleForNode('test/support/download-child.ts');
    });

    it('recovers from a download killed with SIGKILL: stale lock taken over, partial file resumed', async () => {
      const body = randomBytes(1024 * 1024);
      server.file('/killed.bin', { body, chunkSize: 16 * 1024, chunkDelayMs: 20 });
      const uri = AssetUri.parse(`${server.url}/killed.bin`);
      const key = assetCacheKey(uri);
      const data = join(cacheDir, `${key}.partial`, 'data');
      const running = spawnNode(child, [JSON.stringify({ manager: 'http', cacheDir, uri: uri.href })]);
      await waitUntil(() => existsSync(data) && statSync(data).size >= 128 * 1024, 'the child has written 128 KiB');

      running.process.kill('SIGKILL');
      expect(await running.exited).toBe('SIGKILL');
      const kept = statSync(data).size;
      expect(existsSync(join(cacheDir, `${key}.lock`))).toBe(true);
      server.file('/killed.bin', { body });
      const path = await manager().downloadModel(uri, { checksum: `sha256:${sha256Hex(body)}` });

      expect(readFileSync(path).equals(body)).toBe(true);
      expect(output.join('')).toContain(
        `Taking over the download of ${uri} from process ${running.process.pid} on ${hostname()}: its lock ${join(cacheDir, `${key}.lock`)} is stale (process ${running.process.pid} is not running).`,
      );
      const resumed = server.requestsTo('/killed.bin').at(-1);
      expect(resumed?.headers['range']).toBe(`bytes=${kept}-`);
      expect(resumed?.status).toBe(206);
      expect(readdirSync(cacheDir).sort()).toEqual([key, `${key}.manifest.json`]);
    });

    it('starts over after a kill when the server does not take ranges', async () => {
      const body = randomBytes(1024 * 1024);
      server.file('/norange-killed.bin', { body, ranges: false, chunkSize: 16 * 1024, chunkDelayMs: 20 });
      const uri = AssetUri.parse(`${server.url}/norange-killed.bin`);
      const key = assetCacheKey(uri);
      const data = join(cacheDir, `${key}.partial`, 'data');
      const running = spawnNode(child, [JSON.stringify({ manager: 'http', cacheDir, uri: uri.href })]);
      await waitUntil(() => existsSync(data) && statSync(data).size >= 128 * 1024, 'the child has written 128 KiB');

      running.process.kill('SIGKILL');
      expect(await running.exited).toBe('SIGKILL');
      expect(existsSync(join(cacheDir, `${key}.lock`))).toBe(true);
      server.file('/norange-killed.bin', { body, ranges: false });
      const path = await manager().downloadModel(uri, { checksum: `sha256:${sha256Hex(body)}` });

      expect(readFileSync(path).equals(body)).toBe(true);
      expect(output.join('')).toContain(
        `Taking over the download of ${uri} from process ${running.process.pid} on ${hostname()}: its lock ${join(cacheDir, `${key}.lock`)} is stale (process ${running.process.pid} is not running).`,
      );
      const again = server.requestsTo('/norange-killed.bin').at(-1);
      expect(again?.headers['range']).toBeUndefined();
      expect(again?.status).toBe(200);
      expect(readdirSync(cacheDir).sort()).toEqual([key, `${key}.manifest.json`]);
    });

    it('recovers from a process killed while extracting: the complete download is extracted again, without a request', async () => {
      const files = Array.from({ length: 8 }, (_, i) => ({ path: `shards/part-${i}.bin`, body: randomBytes(64 * 1024) }));
      const archive = buildTarGz(files);
      server.file('/shards.tar.gz', { body: archive });
      const uri = AssetUri.parse(`${server.url}/shards.tar.gz`);
      const key = assetCacheKey(uri);
      const staging = join(cacheDir, `${key}.staging`, 'shards');
      // A slow disk under the staging folder: 100 ms before each write, so that the kill lands mid-extraction.
      const running = spawnNode(child, [
        JSON.stringify({ manager: 'http', cacheDir, uri: uri.href, slowWritesUnder: `${key}.staging`, slowWritesMs: 100 }),
      ]);
      await waitUntil(() => existsSync(staging) && readdirSync(staging).length >= 2, 'the child has extracted two files');

      running.process.kill('SIGKILL');
      expect(await running.exited).toBe('SIGKILL');
      expect(readdirSync(cacheDir).sort()).toEqual([`${key}.download`, `${key}.lock`, `${key}.staging`]);
      expect(readdirSync(staging).length).toBeLessThan(files.length);
      const path = await manager().downloadModel(uri, { checksum: `sha256:${sha256Hex(archive)}` });

      expect(path).toBe(entry(uri));
      for (const file of files) {
        expect(readFileSync(join(path, file.path)).equals(file.body)).toBe(true);
      }
      expect(server.requestsTo('/shards.tar.gz')).toHaveLength(1);
      expect(output.join('')).toContain(
        `Taking over the download of ${uri} from process ${running.process.pid} on ${hostname()}: its lock ${join(cacheDir, `${key}.lock`)} is stale (process ${running.process.pid} is not running).`,
      );
      expect(readdirSync(cacheDir).sort()).toEqual([key, `${key}.manifest.json`]);
    });

    it('waits for another process that downloads the same asset, then uses its download', async () => {
      const body = randomBytes(256 * 1024);
      server.file('/shared.bin', { body, chunkSize: 16 * 1024, chunkDelayMs: 10 });
      const uri = AssetUri.parse(`${server.url}/shared.bin`);
      const key = assetCacheKey(uri);
      const running = spawnNode(child, [JSON.stringify({ manager: 'http', cacheDir, uri: uri.href })]);
      await waitUntil(() => existsSync(join(cacheDir, `${key}.lock`)), 'the child holds the lock');

      const path = await manager({ lock: { pollMs: 20 } }).downloadModel(uri);

      expect(await running.exited).toBe(0);
      expect(running.stdout()).toBe(`${path}\n`);
      expect(readFileSync(path).equals(body)).toBe(true);
      expect(server.requestsTo('/shared.bin')).toHaveLength(1);
      expect(output.join('')).toContain(
        `Waiting for process ${running.process.pid} on ${hostname()}, which is downloading ${uri} (lock file ${join(cacheDir, `${key}.lock`)}).`,
      );
    });
  });
});
