import { createHash } from 'node:crypto';
import { join, posix } from 'node:path';

import { InvalidArgumentError } from '../../errors/Fs2Error.js';
import type { AssetUri } from '../AssetUri.js';
import type { AssetDownloadManager, AssetDownloadOptions } from './AssetDownloadManager.js';
import { formatChecksum, parseChecksum, sha256File, type Checksum } from './checksum.js';
import { acquireDownloadLock, type DownloadLockOptions } from './downloadLock.js';
import { StandardDownloadFileSystem, type DownloadFileSystem } from './DownloadFileSystem.js';
import { AssetDownloadError } from './errors.js';
import { detectArchiveFormat, extractArchive, type ArchiveLimits } from './extractArchive.js';
import { isStorageFault, toFileSystemError } from './faults.js';
import {
  httpDownload,
  parseContentDispositionFilename,
  resolveHttpClientOptions,
  type HttpClientOptions,
  type HttpDownloadResponse,
  type ResolvedHttpClientOptions,
} from './httpDownload.js';
import { NoopProgressReporter, type ProgressReporter, type ProgressTask } from './ProgressReporter.js';

/** How cached files are checked against their manifest when a checksum is given. */
export type CacheVerification = 'changed' | 'always';

/** Options of {@link StandardAssetDownloadManager}. */
export interface StandardAssetDownloadManagerOptions extends HttpClientOptions {
  /** The cache folder (see `getAssetCacheDir`). Required. */
  readonly cacheDir: string;
  /** Default: {@link StandardDownloadFileSystem}. */
  readonly fileSystem?: DownloadFileSystem;
  /** Default: {@link NoopProgressReporter}. */
  readonly progress?: ProgressReporter;
  /** Never use the network, as if every call had `localOnly` (`FAIRSEQ2_OFFLINE`). Default: `false`. */
  readonly offline?: boolean;
  /** How long to wait for another process's download, and when its lock is stale. Default: see `FileLockOptions`. */
  readonly lock?: DownloadLockOptions;
  /** Limits of archive extraction. Default: see {@link ArchiveLimits}. */
  readonly archiveLimits?: ArchiveLimits;
  /**
   * With a checksum, which cached files are hashed again: those whose size or modification time
   * differ from the manifest written at download time (`changed`), or all of them (`always`).
   * Default: `changed`.
   */
  readonly verifyCached?: CacheVerification;
}

/** The environment variable that moves this cache, named in disk-full and permission messages. */
const CACHE_VARIABLE = 'FAIRSEQ2_CACHE_DIR';

/** Resume data of a partial download: `<key>.partial/meta.json`, and `<key>.download/meta.json` once complete. */
interface DownloadMeta {
  readonly etag?: string;
  readonly lastModified?: string;
  readonly acceptRanges?: boolean;
  readonly total?: number;
  readonly filename?: string;
  /** Set once complete and verified. */
  readonly sha256?: string;
  readonly size?: number;
}

/** What `<key>.manifest.json` records about a cache entry. */
interface CacheManifest {
  readonly version: 1;
  /** The URI, without credentials. */
  readonly uri: string;
  /** The downloaded file (the archive, for an extracted one). */
  readonly filename: string;
  readonly sha256: string;
  readonly size: number;
  /** The regular files of `<key>/`, with the size and time they had when written. */
  readonly files: readonly { path: string; size: number; sha256: string; mtimeMs: number }[];
}

/**
 * The cache key of a URI: the first 24 hex digits of the SHA-1 of the URI, as fairseq2 names its
 * cache entries. The entry of `uri` is `<cacheDir>/<key>` (a file or an extracted archive).
 */
export function assetCacheKey(uri: AssetUri): string {
  return createHash('sha1').update(uri.href).digest('hex').slice(0, 24);
}

/** The paths of one cache entry. */
class CacheEntry {
  constructor(
    readonly cacheDir: string,
    readonly key: string,
  ) {}
  /** The finished entry: the downloaded file, or the extracted archive. */
  get final(): string {
    return join(this.cacheDir, this.key);
  }
  get manifest(): string {
    return join(this.cacheDir, `${this.key}.manifest.json`);
  }
  get lock(): string {
    return join(this.cacheDir, `${this.key}.lock`);
  }
  /** A download in progress: `data` and `meta.json`. */
  get partial(): string {
    return join(this.cacheDir, `${this.key}.partial`);
  }
  /** A complete, verified archive that awaits extraction: `data` and `meta.json`. */
  get download(): string {
    return join(this.cacheDir, `${this.key}.download`);
  }
  /** The final entry while it is being assembled. */
  get staging(): string {
    return join(this.cacheDir, `${this.key}.staging`);
  }
}

/**
 * Downloads `http:` and `https:` URIs into fairseq2's cache (`FAIRSEQ2_CACHE_DIR`), one entry per
 * URI ({@link assetCacheKey}), never serving a half file:
 *
 * - the body goes to `<key>.partial/data`, with the resume data (`ETag`, `Last-Modified`, size)
 *   in `meta.json` written before the first byte; an interrupted download (a lost connection, a
 *   killed process) resumes with a `Range` request validated by `If-Range`, or starts over;
 * - `Content-Length` and the optional `sha256:` checksum are checked before anything is renamed
 *   into place; a mismatch deletes the download;
 * - a file named `.zip`, `.tar`, `.tar.gz` or `.tgz` is extracted (see `extractArchive`) into
 *   `<key>.staging/`, which becomes `<key>/` by an atomic rename; any other file is moved there;
 * - `<key>.manifest.json` records the SHA-256 of every file, so that a cached file corrupted
 *   later is detected when a checksum is given;
 * - `<key>.lock` keeps two processes from downloading the same URI at once, and a lock left by a
 *   killed process is taken over.
 *
 * The return value follows fairseq2: the file, when the entry holds exactly one file, else the folder.
 */
export class StandardAssetDownloadManager implements AssetDownloadManager {
  readonly supportedSchemes: ReadonlySet<string> = new Set(['http', 'https']);
  private readonly cacheDir: string;
  private readonly fs: DownloadFileSystem;
  private readonly progress: ProgressReporter;
  private readonly offline: boolean;
  private readonly client: ResolvedHttpClientOptions;
  private readonly lockOptions: DownloadLockOptions;
  private readonly archiveLimits: ArchiveLimits;
  private readonly verifyCached: CacheVerification;
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(options: StandardAssetDownloadManagerOptions) {
    this.cacheDir = options.cacheDir;
    this.fs = options.fileSystem ?? new StandardDownloadFileSystem();
    this.progress = options.progress ?? new NoopProgressReporter();
    this.offline = options.offline ?? false;
    this.client = resolveHttpClientOptions(options);
    this.lockOptions = options.lock ?? {};
    this.archiveLimits = options.archiveLimits ?? {};
    this.verifyCached = options.verifyCached ?? 'changed';
  }

  downloadModel(uri: AssetUri, options: AssetDownloadOptions = {}): Promise<string> {
    return this.download(uri, options);
  }

  downloadTokenizer(uri: AssetUri, options: AssetDownloadOptions = {}): Promise<string> {
    return this.download(uri, options);
  }

  downloadDataset(uri: AssetUri, options: AssetDownloadOptions = {}): Promise<string> {
    return this.download(uri, options);
  }

  /** Downloads (or finds in the cache) the asset at `uri`; every `download*` method comes here. */
  async download(uri: AssetUri, options: AssetDownloadOptions = {}): Promise<string> {
    if (!this.supportedSchemes.has(uri.scheme)) {
      throw new InvalidArgumentError('uri', `${uri.toString()} is not an \`http:\` or \`https:\` URI.`);
    }
    const checksum = options.checksum === undefined ? undefined : parseChecksum(options.checksum);
    const localOnly = options.localOnly === true || this.offline;
    if (localOnly && options.force === true) {
      throw new InvalidArgumentError(
        'force',
        `\`force\` downloads ${uri.toString()} again, which ${this.offline ? 'FAIRSEQ2_OFFLINE' : '`localOnly`'} forbids.`,
      );
    }
    const entry = new CacheEntry(this.cacheDir, assetCacheKey(uri));
    // Calls of this process for the same URI run one after the other; the lock file orders processes.
    for (let running = this.inflight.get(entry.key); running !== undefined; running = this.inflight.get(entry.key)) {
      await running.catch(() => undefined);
    }
    const work = this.run(uri, entry, options, checksum, localOnly);
    this.inflight.set(entry.key, work);
    try {
      return await work;
    } finally {
      if (this.inflight.get(entry.key) === work) {
        this.inflight.delete(entry.key);
      }
    }
  }

  private async run(
    uri: AssetUri,
    entry: CacheEntry,
    options: AssetDownloadOptions,
    checksum: Checksum | undefined,
    localOnly: boolean,
  ): Promise<string> {
    const progress = options.progress === false ? new NoopProgressReporter() : this.progress;
    if (options.force !== true && (await this.stat(uri, entry.final)) !== undefined) {
      return this.serve(uri, entry, checksum);
    }
    if (localOnly && (await this.stat(uri, entry.download)) === undefined) {
      throw this.notCached(uri, entry);
    }
    await this.io(uri, entry.cacheDir, () => this.fs.mkdir(entry.cacheDir));
    const lock = await acquireDownloadLock(uri, entry.lock, this.fs, progress, CACHE_VARIABLE, this.lockOptions);
    try {
      if (options.force === true) {
        for (const path of [entry.final, entry.manifest, entry.download, entry.partial, entry.staging]) {
          await this.io(uri, path, () => this.fs.remove(path), 'removing');
        }
      } else if ((await this.stat(uri, entry.final)) !== undefined) {
        return await this.serve(uri, entry, checksum); // Another process finished it while we waited.
      }
      if ((await this.stat(uri, entry.download)) === undefined) {
        if (localOnly) {
          throw this.notCached(uri, entry);
        }
        await this.fetch(uri, entry, options, checksum, progress);
        await this.install(uri, entry, undefined, progress, options);
      } else {
        // Left by an earlier run (its extraction failed, or it was killed): verify it again.
        await this.install(uri, entry, checksum, progress, options);
      }
      return await this.result(uri, entry);
    } finally {
      await lock.release();
    }
  }

  private notCached(uri: AssetUri, entry: CacheEntry): AssetDownloadError {
    const why = this.offline ? 'downloads are off (FAIRSEQ2_OFFLINE is set)' : '`localOnly` is set';
    return new AssetDownloadError(
      uri,
      `The asset is not cached, and ${why}. Looked at: ${entry.final}, ${entry.download}.`,
      { code: 'not_cached', path: entry.final },
    );
  }

  /** Downloads into `<key>.partial/`, verifies, and renames the folder to `<key>.download/`. */
  private async fetch(
    uri: AssetUri,
    entry: CacheEntry,
    options: AssetDownloadOptions,
    checksum: Checksum | undefined,
    progress: ProgressReporter,
  ): Promise<void> {
    const data = join(entry.partial, 'data');
    const metaPath = join(entry.partial, 'meta.json');
    await this.io(uri, entry.partial, () => this.fs.mkdir(entry.partial));
    const previous = await this.readMeta(metaPath);
    const partialSize = (await this.stat(uri, data))?.size ?? 0;
    const strongEtag = previous?.etag !== undefined && !previous.etag.startsWith('W/') ? previous.etag : undefined;
    const ifRange = strongEtag ?? previous?.lastModified;
    const resumable = partialSize > 0 && previous?.acceptRanges === true && ifRange !== undefined;

    // A fresh download is hashed as it streams; a resumed one is hashed whole once complete, so
    // that hashing a large kept prefix does not hold the connection idle past the stall timeout.
    const hash = createHash('sha256');
    let resumedAt = 0;
    let meta: DownloadMeta = {};
    let task: ProgressTask | undefined;
    let responded = false;
    const description = `Downloading ${options.displayName ?? uri.toString()}`;
    const onResponse = async (response: HttpDownloadResponse): Promise<void> => {
      responded = true;
      resumedAt = response.offset;
      meta = {
        ...(response.etag === undefined ? {} : { etag: response.etag }),
        ...(response.lastModified === undefined ? {} : { lastModified: response.lastModified }),
        acceptRanges: response.acceptRanges,
        ...(response.total === undefined ? {} : { total: response.total }),
        ...(response.filename === undefined ? {} : { filename: response.filename }),
      };
      // Written before the first byte of the body, so that a killed process leaves what a resume needs.
      await this.writeJson(uri, metaPath, meta);
      task = progress.startTask({
        description,
        unit: 'bytes',
        completed: response.offset,
        ...(response.total === undefined ? {} : { total: response.total }),
      });
    };
    const { url, headers } = splitCredentials(uri.href);
    let result;
    try {
      result = await httpDownload({
        uri,
        what: uri.toString(),
        url,
        originHeaders: headers,
        target: data,
        ...(resumable ? { resumeFrom: partialSize, ifRange } : {}),
        cacheVariable: CACHE_VARIABLE,
        fs: this.fs,
        client: this.client,
        onResponse,
        onData: (chunk) => {
          if (resumedAt === 0) {
            hash.update(chunk);
          }
          task?.advance(chunk.byteLength);
        },
      });
    } catch (error) {
      task?.abort();
      // Before a response, a partial file from an earlier run is untouched: keep it. After one,
      // keep it only when the server allows a resume and the failure was the connection's.
      const interrupted =
        error instanceof AssetDownloadError &&
        (error.code === 'network' ||
          error.code === 'timeout' ||
          (error.code === 'size_mismatch' && Number(error.actual) < Number(error.expected)));
      const resumableNow = meta.acceptRanges === true && (meta.etag !== undefined || meta.lastModified !== undefined);
      const keep = responded ? interrupted && resumableNow : partialSize > 0;
      if (!keep || isStorageFault((error as { cause?: unknown }).cause)) {
        await this.fs.remove(entry.partial).catch(() => undefined);
      }
      throw error;
    }
    const sha256 =
      resumedAt === 0 ? hash.digest('hex') : await this.io(uri, data, () => sha256File(this.fs, data), 'reading');
    if (checksum !== undefined && sha256 !== checksum.hex) {
      task?.abort();
      await this.fs.remove(entry.partial).catch(() => undefined);
      throw new AssetDownloadError(
        uri,
        `The downloaded file has the checksum sha256:${sha256}, but ${formatChecksum(checksum)} is expected; it was deleted. If the file on the server changed on purpose, update the checksum of the card.`,
        { code: 'checksum_mismatch', expected: formatChecksum(checksum), actual: `sha256:${sha256}` },
      );
    }
    task?.finish();
    const filename = result.filename ?? meta.filename ?? previous?.filename ?? filenameOfUrl(uri.href);
    const complete: DownloadMeta = { ...meta, filename, sha256, size: result.size };
    await this.writeJson(uri, metaPath, complete);
    await this.io(uri, entry.download, () => this.fs.remove(entry.download), 'removing');
    await this.io(uri, entry.download, () => this.fs.rename(entry.partial, entry.download), 'renaming');
  }

  /**
   * Turns `<key>.download/` into `<key>/`: extracts an archive, moves any other file. `checksum`
   * is given for a download left by an earlier run (a fresh one was verified as it arrived).
   */
  private async install(
    uri: AssetUri,
    entry: CacheEntry,
    checksum: Checksum | undefined,
    progress: ProgressReporter,
    options: AssetDownloadOptions,
  ): Promise<void> {
    const data = join(entry.download, 'data');
    const meta = await this.readMeta(join(entry.download, 'meta.json'));
    if (meta?.sha256 === undefined || meta.filename === undefined || meta.size === undefined) {
      // Not written by this manager, or damaged: start again.
      await this.fs.remove(entry.download).catch(() => undefined);
      throw new AssetDownloadError(uri, `The download record in ${entry.download} is incomplete; it was deleted, try again.`, {
        code: 'cache_corrupted',
        path: entry.download,
      });
    }
    if (checksum !== undefined) {
      const actual = meta.sha256 === checksum.hex ? await sha256File(this.fs, data) : meta.sha256;
      if (actual !== checksum.hex) {
        await this.fs.remove(entry.download).catch(() => undefined);
        throw new AssetDownloadError(
          uri,
          `The downloaded file has the checksum sha256:${actual}, but ${formatChecksum(checksum)} is expected; it was deleted. If the file on the server changed on purpose, update the checksum of the card.`,
          { code: 'checksum_mismatch', expected: formatChecksum(checksum), actual: `sha256:${actual}` },
        );
      }
    }
    await this.io(uri, entry.staging, () => this.fs.remove(entry.staging), 'removing');
    await this.io(uri, entry.staging, () => this.fs.mkdir(entry.staging));
    const format = detectArchiveFormat(meta.filename);
    let files: { path: string; size: number; sha256: string }[];
    try {
      if (format === undefined) {
        const target = join(entry.staging, meta.filename);
        await this.io(uri, target, () => this.fs.rename(data, target), 'renaming');
        files = [{ path: meta.filename, size: meta.size, sha256: meta.sha256 }];
      } else {
        const task = progress.startTask({ description: `Extracting ${options.displayName ?? meta.filename}`, unit: 'bytes' });
        try {
          files = await extractArchive({
            uri,
            archive: data,
            format,
            destination: entry.staging,
            fs: this.fs,
            limits: this.archiveLimits,
            cacheVariable: CACHE_VARIABLE,
            onData: (bytes) => task.advance(bytes),
          });
        } catch (error) {
          task.abort();
          throw error;
        }
        task.finish();
      }
      const manifest: CacheManifest = {
        version: 1,
        uri: uri.toString(),
        filename: meta.filename,
        sha256: meta.sha256,
        size: meta.size,
        files: await Promise.all(
          files.map(async (file) => ({
            ...file,
            mtimeMs: (await this.stat(uri, join(entry.staging, file.path)))?.mtimeMs ?? 0,
          })),
        ),
      };
      await this.writeJson(uri, entry.manifest, manifest);
      await this.io(uri, entry.final, () => this.fs.rename(entry.staging, entry.final), 'renaming');
    } catch (error) {
      await this.fs.remove(entry.staging).catch(() => undefined);
      throw error;
    }
    await this.fs.remove(entry.download).catch(() => undefined);
  }

  /** Serves a cached entry, verified against the checksum when one is given. */
  private async serve(uri: AssetUri, entry: CacheEntry, checksum: Checksum | undefined): Promise<string> {
    if (checksum !== undefined) {
      await this.verify(uri, entry, checksum);
    }
    return this.result(uri, entry);
  }

  private async verify(uri: AssetUri, entry: CacheEntry, checksum: Checksum): Promise<void> {
    const clear = `Delete ${entry.final}, or download it again with \`force\`.`;
    const manifest = await this.readManifest(entry.manifest);
    if (manifest === undefined) {
      const single = await this.singleFile(uri, entry.final);
      if (single === undefined) {
        throw new AssetDownloadError(
          uri,
          `The cached folder ${entry.final} has no manifest to verify it against ${formatChecksum(checksum)}. ${clear}`,
          { code: 'cache_corrupted', path: entry.final, expected: formatChecksum(checksum) },
        );
      }
      const actual = await sha256File(this.fs, single);
      if (actual !== checksum.hex) {
        throw corrupted(uri, single, `sha256:${actual}`, formatChecksum(checksum), clear);
      }
      return;
    }
    if (manifest.sha256 !== checksum.hex) {
      throw new AssetDownloadError(
        uri,
        `The cached download has the checksum sha256:${manifest.sha256}, but ${formatChecksum(checksum)} is expected. ${clear}`,
        { code: 'checksum_mismatch', path: entry.final, expected: formatChecksum(checksum), actual: `sha256:${manifest.sha256}` },
      );
    }
    for (const file of manifest.files) {
      const path = join(entry.final, file.path);
      const stat = await this.stat(uri, path);
      if (stat === undefined || !stat.isFile) {
        throw new AssetDownloadError(uri, `The cached file ${path} is missing. ${clear}`, {
          code: 'cache_corrupted',
          path,
        });
      }
      if (this.verifyCached === 'changed' && stat.size === file.size && stat.mtimeMs === file.mtimeMs) {
        continue;
      }
      const actual = await sha256File(this.fs, path);
      if (actual !== file.sha256) {
        throw corrupted(uri, path, `sha256:${actual}`, `sha256:${file.sha256}`, clear);
      }
    }
  }

  /** The file, when `<key>/` holds exactly one file; else the folder. */
  private async result(uri: AssetUri, entry: CacheEntry): Promise<string> {
    const names = await this.io(uri, entry.final, () => this.fs.readdir(entry.final), 'reading');
    if (names.length === 0) {
      // fairseq2: "{dir} asset directory is empty."
      throw new AssetDownloadError(uri, `The asset folder ${entry.final} is empty. Delete it, or download it again with \`force\`.`, {
        code: 'empty',
        path: entry.final,
      });
    }
    return (await this.singleFile(uri, entry.final)) ?? entry.final;
  }

  private async singleFile(uri: AssetUri, dir: string): Promise<string | undefined> {
    const names = await this.io(uri, dir, () => this.fs.readdir(dir), 'reading');
    if (names.length !== 1) {
      return undefined;
    }
    const path = join(dir, names[0]!);
    return (await this.stat(uri, path))?.isFile === true ? path : undefined;
  }

  private async readMeta(path: string): Promise<DownloadMeta | undefined> {
    try {
      const value = JSON.parse(Buffer.from(await this.fs.readFile(path)).toString('utf8')) as unknown;
      return typeof value === 'object' && value !== null ? (value as DownloadMeta) : undefined;
    } catch {
      return undefined;
    }
  }

  private async readManifest(path: string): Promise<CacheManifest | undefined> {
    const value = (await this.readMeta(path)) as Partial<CacheManifest> | undefined;
    return value?.version === 1 && Array.isArray(value.files) && typeof value.sha256 === 'string'
      ? (value as CacheManifest)
      : undefined;
  }

  /** Writes JSON atomically (a scratch file renamed over the target). */
  private async writeJson(uri: AssetUri, path: string, value: unknown): Promise<void> {
    const scratch = `${path}.tmp`;
    await this.io(uri, scratch, () => this.fs.writeFile(scratch, JSON.stringify(value)));
    await this.io(uri, path, () => this.fs.rename(scratch, path), 'renaming');
  }

  private stat(uri: AssetUri, path: string): ReturnType<DownloadFileSystem['maybeStat']> {
    return this.io(uri, path, () => this.fs.maybeStat(path), 'reading');
  }

  private async io<T>(uri: AssetUri, path: string, body: () => Promise<T>, action = 'writing'): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw toFileSystemError(uri, error, path, CACHE_VARIABLE, action);
    }
  }
}

function corrupted(uri: AssetUri, path: string, actual: string, expected: string, clear: string): AssetDownloadError {
  return new AssetDownloadError(
    uri,
    `The cached file ${path} is corrupted: its checksum is ${actual}, but ${expected} is expected. ${clear}`,
    { code: 'cache_corrupted', path, expected, actual },
  );
}

/**
 * Moves the `user:password@` of a URL into a Basic `Authorization` header, which `fetch` needs
 * (it refuses URLs with credentials) and which is then sent to that origin only.
 */
export function splitCredentials(href: string): { url: string; headers: Record<string, string> } {
  const url = new URL(href);
  if (url.username === '' && url.password === '') {
    return { url: href, headers: {} };
  }
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  return { url: url.href, headers: { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } };
}

/** The last segment of a URL's path, decoded and made safe; `asset` when there is none (as in fairseq2). */
export function filenameOfUrl(url: string): string {
  const segment = posix.basename(new URL(url).pathname);
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    decoded = segment;
  }
  return parseContentDispositionFilename(`attachment; filename="${decoded.replace(/["\\]/g, '\\$&')}"`) ?? 'asset';
}
