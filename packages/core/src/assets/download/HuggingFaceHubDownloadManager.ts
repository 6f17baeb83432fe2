import { createHash, type Hash } from 'node:crypto';
import { dirname, join, relative } from 'node:path';

import { InvalidArgumentError } from '../../errors/Fs2Error.js';
import type { AssetUri } from '../AssetUri.js';
import { redactError, redactText } from '../AssetUri.js';
import type { AssetDownloadManager, AssetDownloadOptions, AssetKind } from './AssetDownloadManager.js';
import { createGitBlobHash, updateFromFile } from './checksum.js';
import { acquireDownloadLock, type DownloadLockOptions } from './downloadLock.js';
import { StandardDownloadFileSystem, type DownloadFileSystem } from './DownloadFileSystem.js';
import { DEFAULT_HUGGING_FACE_ENDPOINT } from './environment.js';
import { AssetDownloadError } from './errors.js';
import { safeEntryPath } from './extractArchive.js';
import { errnoCode, isStorageFault, toFileSystemError } from './faults.js';
import {
  httpDownload,
  resolveHttpClientOptions,
  type HttpClientOptions,
  type ResolvedHttpClientOptions,
} from './httpDownload.js';
import { NoopProgressReporter, type ProgressReporter, type ProgressTask } from './ProgressReporter.js';

/**
 * The tokenizer files fetched from a Hugging Face repository (at its root): the vocabulary and its
 * settings, the chat template newer repositories keep in its own file, and `generation_config.json`
 * for its stop tokens (`eos_token_id` lists).
 */
export const HUGGING_FACE_TOKENIZER_FILES: readonly string[] = [
  'tokenizer.json',
  'tokenizer_config.json',
  'tokenizer.model',
  'special_tokens_map.json',
  'chat_template.jinja',
  'generation_config.json',
];

/**
 * The files of a model besides its weights (at the repository root). The weights are the
 * `*.safetensors` files at the root, or, when `model.safetensors.index.json` exists, exactly the
 * shards its `weight_map` names (a repository with both `consolidated.safetensors` and HF shards
 * is not downloaded twice).
 */
export const HUGGING_FACE_MODEL_FILES: readonly string[] = [
  'model.safetensors.index.json',
  'config.json',
  'generation_config.json',
  ...HUGGING_FACE_TOKENIZER_FILES.filter((f) => f !== 'generation_config.json'),
];

const SAFETENSORS_INDEX = 'model.safetensors.index.json';

/** Options of {@link HuggingFaceHubDownloadManager}. */
export interface HuggingFaceHubDownloadManagerOptions extends HttpClientOptions {
  /** The Hugging Face Hub cache (see `getHuggingFaceHubCacheDir`). Required. */
  readonly cacheDir: string;
  /** The Hub, `HF_ENDPOINT`. Default: `https://huggingface.co`. */
  readonly endpoint?: string;
  /**
   * The access token (`HF_TOKEN`), or a function that finds it when a download starts. It is sent
   * to the endpoint only, never to a redirect target on another origin, and never printed.
   * Default: none.
   */
  readonly token?: string | (() => Promise<string | undefined>);
  /** Never use the network, as if every call had `localOnly` (`HF_HUB_OFFLINE`). Default: `false`. */
  readonly offline?: boolean;
  /** Default: {@link StandardDownloadFileSystem}. */
  readonly fileSystem?: DownloadFileSystem;
  /** Default: {@link NoopProgressReporter}. */
  readonly progress?: ProgressReporter;
  /** How long to wait for another process's download, and when its lock is stale. Default: see `FileLockOptions`. */
  readonly lock?: DownloadLockOptions;
}

/** The environment variable that moves this cache, named in disk-full and permission messages. */
const CACHE_VARIABLE = 'HF_HUB_CACHE';

/** A repository named by an `hg:` URI. */
export interface HuggingFaceRepoRef {
  /** `org/name` (or a legacy `name`). */
  readonly repo: string;
  /** A branch, tag or commit. Default: `main`. */
  readonly revision: string;
}

/**
 * Reads `hg://org/repo[@revision]` (fairseq2 takes everything after `hg://` as the repository id;
 * the `@revision` suffix is fs2's).
 *
 * @throws InvalidArgumentError when the repository id is not one.
 */
export function parseHuggingFaceUri(uri: AssetUri): HuggingFaceRepoRef {
  const rest = uri.rest.replace(/[?#].*$/, '');
  const at = rest.indexOf('@');
  const repo = (at < 0 ? rest : rest.slice(0, at)).replace(/\/+$/, '');
  const revision = at < 0 ? 'main' : decodeURIComponent(rest.slice(at + 1));
  if (!/^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/.test(repo) || repo.includes('..') || revision === '') {
    throw new InvalidArgumentError(
      'uri',
      `${uri.toString()} does not name a Hugging Face repository: expected \`hg://<org>/<name>[@<revision>]\`.`,
    );
  }
  return { repo, revision };
}

/** A file of a repository listing (the Hub's tree API). */
interface HubFile {
  readonly path: string;
  readonly size: number;
  /** The blob name in the cache: the LFS SHA-256, else the git blob id (what `huggingface_hub` names blobs by). */
  readonly etag: string;
  /** How the content is verified. */
  readonly digest: 'sha256' | 'git-sha1' | 'none';
}

/** One repository in the Hugging Face cache layout. */
class HubStorage {
  constructor(
    readonly cacheDir: string,
    readonly type: 'model' | 'dataset',
    readonly repo: string,
  ) {}
  /** `models--org--name`: `huggingface_hub`'s `repo_folder_name`. */
  get folderName(): string {
    return [`${this.type}s`, ...this.repo.split('/')].join('--');
  }
  get root(): string {
    return join(this.cacheDir, this.folderName);
  }
  ref(revision: string): string {
    return join(this.root, 'refs', revision);
  }
  snapshot(commit: string): string {
    return join(this.root, 'snapshots', commit);
  }
  blob(etag: string): string {
    return join(this.root, 'blobs', etag);
  }
  lock(etag: string): string {
    // `huggingface_hub` locks `.locks/<folder>/<etag>.lock` with flock, which fs2 cannot take;
    // a name of our own keeps the two lock protocols from misreading each other's files.
    return join(this.cacheDir, '.locks', this.folderName, `${etag}.fs2.lock`);
  }
}

const COMMIT = /^[0-9a-f]{40}$/;

const NOOP_TASK: ProgressTask = new NoopProgressReporter().startTask();

/**
 * `hg://org/repo[@revision]`: downloads from the Hugging Face Hub (`HF_ENDPOINT`) into the
 * Hugging Face cache layout (`HF_HUB_CACHE`: `models--org--repo/blobs/<etag>`,
 * `snapshots/<commit>/<file>` relative symlinks to the blobs, `refs/<revision>`), so that Python
 * tools and fs2 share one download. Returns the snapshot folder.
 *
 * Models fetch weights ({@link HUGGING_FACE_MODEL_FILES}), tokenizers
 * {@link HUGGING_FACE_TOKENIZER_FILES}, datasets every file. Each file is verified against the
 * Hub's listing (size, and the LFS SHA-256 or the git blob id), resumed from its `.incomplete`
 * file after an interruption, and locked against concurrent downloads of the same blob.
 *
 * `@huggingface/hub` does the API calls (`modelInfo` / `datasetInfo` for the commit, `listFiles`
 * for sizes and digests), with a custom `fetch` that adds the `User-Agent`, the token and the stall
 * timeout. Its own `snapshotDownload` / `downloadFileToCacheDir` are not used: they have no file
 * filter, progress, resume, size or digest check, lock or offline mode, they log with
 * `console.debug`, and with a branch name as revision `downloadFileToCacheDir` files each blob
 * under the snapshot of the file's last commit rather than the revision's.
 */
export class HuggingFaceHubDownloadManager implements AssetDownloadManager {
  readonly supportedSchemes: ReadonlySet<string> = new Set(['hg']);
  private readonly cacheDir: string;
  private readonly endpoint: string;
  private readonly token: (() => Promise<string | undefined>) | undefined;
  private readonly offline: boolean;
  private readonly fs: DownloadFileSystem;
  private readonly progress: ProgressReporter;
  private readonly client: ResolvedHttpClientOptions;
  private readonly lockOptions: DownloadLockOptions;

  constructor(options: HuggingFaceHubDownloadManagerOptions) {
    this.cacheDir = options.cacheDir;
    this.endpoint = (options.endpoint ?? DEFAULT_HUGGING_FACE_ENDPOINT).replace(/\/+$/, '');
    const token = options.token;
    this.token = token === undefined ? undefined : typeof token === 'string' ? async () => token : token;
    this.offline = options.offline ?? false;
    this.fs = options.fileSystem ?? new StandardDownloadFileSystem();
    this.progress = options.progress ?? new NoopProgressReporter();
    this.client = resolveHttpClientOptions(options);
    this.lockOptions = options.lock ?? {};
  }

  downloadModel(uri: AssetUri, options: AssetDownloadOptions = {}): Promise<string> {
    return this.download(uri, 'model', options);
  }

  downloadTokenizer(uri: AssetUri, options: AssetDownloadOptions = {}): Promise<string> {
    return this.download(uri, 'tokenizer', options);
  }

  downloadDataset(uri: AssetUri, options: AssetDownloadOptions = {}): Promise<string> {
    return this.download(uri, 'dataset', options);
  }

  /** Downloads (or finds in the cache) the files of `kind` of the repository at `uri`; returns the snapshot folder. */
  async download(uri: AssetUri, kind: AssetKind, options: AssetDownloadOptions = {}): Promise<string> {
    const ref = parseHuggingFaceUri(uri);
    if (options.checksum !== undefined) {
      throw new InvalidArgumentError(
        'checksum',
        `A checksum verifies one file, but ${uri.toString()} is a Hugging Face repository (its files are verified against the Hub's own digests).`,
      );
    }
    const localOnly = options.localOnly === true || this.offline;
    if (localOnly && options.force === true) {
      throw new InvalidArgumentError(
        'force',
        `\`force\` downloads ${uri.toString()} again, which ${this.offline ? 'offline mode (HF_HUB_OFFLINE or FAIRSEQ2_OFFLINE)' : '`localOnly`'} forbids.`,
      );
    }
    const storage = new HubStorage(this.cacheDir, kind === 'dataset' ? 'dataset' : 'model', ref.repo);
    if (localOnly) {
      return this.cached(uri, kind, ref, storage);
    }
    const progress = options.progress === false ? new NoopProgressReporter() : this.progress;
    const token = this.token === undefined ? undefined : await this.token();
    if (token !== undefined) {
      checkToken(uri, token);
    }
    return new HubSession({
      uri,
      kind,
      ref,
      storage,
      token,
      endpoint: this.endpoint,
      fs: this.fs,
      client: this.client,
      lockOptions: this.lockOptions,
      progress,
      options,
      cached: () => this.cached(uri, kind, ref, storage),
    }).run();
  }

  /** Offline: the snapshot already in the cache, if it holds what `kind` needs. */
  private async cached(uri: AssetUri, kind: AssetKind, ref: HuggingFaceRepoRef, storage: HubStorage): Promise<string> {
    const why = this.offline ? 'downloads are off (HF_HUB_OFFLINE or FAIRSEQ2_OFFLINE is set)' : '`localOnly` is set';
    const looked: string[] = [];
    let commit: string | undefined;
    if (COMMIT.test(ref.revision)) {
      commit = ref.revision;
    } else {
      const refPath = storage.ref(ref.revision);
      looked.push(refPath);
      try {
        commit = Buffer.from(await this.fs.readFile(refPath)).toString('utf8').trim();
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT' && errnoCode(error) !== 'ENOTDIR') {
          throw toFileSystemError(uri, error, refPath, CACHE_VARIABLE, 'reading');
        }
      }
    }
    const missing = (): AssetDownloadError =>
      new AssetDownloadError(
        uri,
        `The ${kind} is not in the Hugging Face cache, and ${why}. Looked at: ${looked.join(', ')}.`,
        { code: 'not_cached', path: storage.root },
      );
    if (commit === undefined || !COMMIT.test(commit)) {
      throw missing();
    }
    const snapshot = storage.snapshot(commit);
    const present = async (name: string): Promise<boolean> => {
      const path = join(snapshot, name);
      const found = (await this.fs.maybeStat(path))?.isFile === true;
      if (!found) {
        looked.push(path);
      }
      return found;
    };
    let names: string[];
    try {
      names = await this.fs.readdir(snapshot);
    } catch {
      looked.push(snapshot);
      throw missing();
    }
    if (kind === 'dataset') {
      if (names.length === 0) {
        looked.push(snapshot);
        throw missing();
      }
      return snapshot;
    }
    if (kind === 'tokenizer') {
      for (const name of HUGGING_FACE_TOKENIZER_FILES) {
        if (await present(name)) {
          return snapshot;
        }
      }
      throw missing();
    }
    let shards = names.filter((n) => n.endsWith('.safetensors'));
    if (names.includes(SAFETENSORS_INDEX)) {
      const index = await readIndexShards(this.fs, join(snapshot, SAFETENSORS_INDEX));
      if (index !== undefined) {
        shards = index;
      }
    }
    if (shards.length === 0) {
      looked.push(join(snapshot, '*.safetensors'));
      throw missing();
    }
    let complete = true;
    for (const shard of shards) {
      complete = (await present(shard)) && complete;
    }
    if (!complete) {
      throw missing();
    }
    return snapshot;
  }
}

/** The shard names of a `model.safetensors.index.json`, or `undefined` when it is not one. */
async function readIndexShards(fs: DownloadFileSystem, path: string): Promise<string[] | undefined> {
  try {
    const index = JSON.parse(Buffer.from(await fs.readFile(path)).toString('utf8')) as { weight_map?: unknown };
    if (typeof index.weight_map !== 'object' || index.weight_map === null) {
      return undefined;
    }
    const shards = new Set<string>();
    for (const value of Object.values(index.weight_map as Record<string, unknown>)) {
      if (typeof value !== 'string') {
        return undefined;
      }
      shards.add(value);
    }
    return [...shards].sort();
  } catch {
    return undefined;
  }
}

/** The fields of a card that point at local files instead, by kind, for the "add a `@user` card" advice. */
const LOCAL_FIELD: Readonly<Record<AssetKind, string>> = { model: 'checkpoint', tokenizer: 'tokenizer', dataset: 'data' };

/** What a {@link HubSession} works with. */
interface HubSessionParams {
  readonly uri: AssetUri;
  readonly kind: AssetKind;
  readonly ref: HuggingFaceRepoRef;
  readonly storage: HubStorage;
  readonly token: string | undefined;
  readonly endpoint: string;
  readonly fs: DownloadFileSystem;
  readonly client: ResolvedHttpClientOptions;
  readonly lockOptions: DownloadLockOptions;
  readonly progress: ProgressReporter;
  readonly options: AssetDownloadOptions;
  /** The snapshot already in the cache, as offline mode finds it. */
  readonly cached: () => Promise<string>;
}

/** One download of one repository. */
class HubSession {
  private readonly uri: AssetUri;
  private readonly kind: AssetKind;
  private readonly ref: HuggingFaceRepoRef;
  private readonly storage: HubStorage;
  private readonly token: string | undefined;
  private readonly endpoint: string;
  private readonly fs: DownloadFileSystem;
  private readonly client: ResolvedHttpClientOptions;
  private readonly lockOptions: DownloadLockOptions;
  private readonly progress: ProgressReporter;
  private readonly options: AssetDownloadOptions;
  private readonly cached: () => Promise<string>;
  private readonly authorization: Readonly<Record<string, string>>;
  /** The files already in place in this session (the index, fetched before the others). */
  private readonly ensured = new Set<string>();

  constructor(params: HubSessionParams) {
    ({
      uri: this.uri,
      kind: this.kind,
      ref: this.ref,
      storage: this.storage,
      token: this.token,
      endpoint: this.endpoint,
      fs: this.fs,
      client: this.client,
      lockOptions: this.lockOptions,
      progress: this.progress,
      options: this.options,
      cached: this.cached,
    } = params);
    this.authorization = this.token === undefined ? {} : { Authorization: `Bearer ${this.token}` };
  }

  async run(): Promise<string> {
    const hub = await import('@huggingface/hub');
    const hubFetch = this.hubFetch();
    const repo = { type: this.storage.type, name: this.ref.repo } as const;
    let commit: string;
    let listing: HubFile[];
    try {
      const info =
        this.storage.type === 'dataset'
          ? await hub.datasetInfo({ name: this.ref.repo, revision: this.ref.revision, hubUrl: this.endpoint, fetch: hubFetch, additionalFields: ['sha'] })
          : await hub.modelInfo({ name: this.ref.repo, revision: this.ref.revision, hubUrl: this.endpoint, fetch: hubFetch, additionalFields: ['sha'] });
      commit = String(info.sha);
      if (!COMMIT.test(commit)) {
        throw new AssetDownloadError(this.uri, `The Hugging Face Hub answered a revision without a commit id for ${this.ref.repo}.`, {
          code: 'http_status',
        });
      }
      listing = [];
      for await (const entry of hub.listFiles({ repo, revision: commit, recursive: true, hubUrl: this.endpoint, fetch: hubFetch })) {
        if (entry.type === 'file') {
          listing.push(this.toHubFile(entry));
        }
      }
    } catch (error) {
      const failure = this.hubError(error);
      if (failure.code === 'network' || failure.code === 'timeout') {
        // As `huggingface_hub` does: without the Hub, a complete snapshot in the cache will do.
        const cached = await this.cached().catch(() => undefined);
        if (cached !== undefined) {
          this.progress.message(`${failure.reason} Using the cached snapshot ${cached}.`);
          return cached;
        }
      }
      throw failure;
    }

    const snapshot = this.storage.snapshot(commit);
    if (this.ref.revision !== commit) {
      const refPath = this.storage.ref(this.ref.revision);
      await this.io(refPath, () => this.fs.mkdir(dirname(refPath)));
      await this.io(refPath, () => this.fs.writeFile(refPath, commit));
    }

    const selected = await this.select(snapshot, commit, listing);
    const pending = await this.pending(snapshot, selected);
    if (pending.length === 0) {
      return snapshot;
    }
    const task = this.progress.startTask({
      description: `Downloading ${this.options.displayName ?? this.uri.toString()}`,
      unit: 'bytes',
      total: pending.reduce((sum, f) => sum + f.size, 0),
    });
    try {
      for (const file of pending) {
        await this.ensure(snapshot, commit, file, task);
      }
    } catch (error) {
      task.abort();
      throw error;
    }
    task.finish();
    return snapshot;
  }

  /**
   * The files `kind` needs. For a model, the index (fetched first, when the repository has one)
   * names the shards; without one, every root `*.safetensors` is a weight file.
   */
  private async select(snapshot: string, commit: string, listing: readonly HubFile[]): Promise<HubFile[]> {
    const byPath = new Map(listing.map((f) => [f.path, f]));
    if (this.kind === 'dataset') {
      return [...listing];
    }
    if (this.kind === 'tokenizer') {
      const files = HUGGING_FACE_TOKENIZER_FILES.flatMap((name) => byPath.get(name) ?? []);
      if (files.length === 0) {
        throw new AssetDownloadError(
          this.uri,
          `The repository ${this.ref.repo} has none of the tokenizer files ${HUGGING_FACE_TOKENIZER_FILES.join(', ')}.${this.localAdvice()}`,
          { code: 'not_found' },
        );
      }
      return files;
    }
    const files = HUGGING_FACE_MODEL_FILES.flatMap((name) => byPath.get(name) ?? []);
    const indexFile = byPath.get(SAFETENSORS_INDEX);
    let shards: string[] | undefined;
    if (indexFile !== undefined) {
      await this.ensure(snapshot, commit, indexFile, NOOP_TASK);
      shards = await readIndexShards(this.fs, join(snapshot, SAFETENSORS_INDEX));
    }
    shards ??= listing.filter((f) => !f.path.includes('/') && f.path.endsWith('.safetensors')).map((f) => f.path);
    if (shards.length === 0) {
      throw new AssetDownloadError(
        this.uri,
        `The repository ${this.ref.repo} has no \`*.safetensors\` weights (fs2 reads safetensors only).${this.localAdvice()}`,
        { code: 'not_found' },
      );
    }
    for (const shard of shards) {
      const file = byPath.get(shard);
      if (file === undefined) {
        throw new AssetDownloadError(
          this.uri,
          `${SAFETENSORS_INDEX} of ${this.ref.repo} names the shard ${shard}, which the repository does not have.`,
          { code: 'not_found' },
        );
      }
      files.push(file);
    }
    return files;
  }

  /** The files of `files` that are not in the snapshot yet (or all of them, with `force`). */
  private async pending(snapshot: string, files: readonly HubFile[]): Promise<HubFile[]> {
    const result: HubFile[] = [];
    for (const file of files) {
      if (this.ensured.has(file.path)) {
        continue;
      }
      if (this.options.force === true) {
        result.push(file);
        continue;
      }
      const stat = await this.fs.maybeStat(join(snapshot, file.path));
      if (stat?.isFile !== true || stat.size !== file.size) {
        result.push(file);
      }
    }
    return result;
  }

  private toHubFile(entry: { path: string; size: number; oid?: string; lfs?: { oid: string }; xetHash?: string }): HubFile {
    const safe = safeEntryPath(entry.path);
    if ('refused' in safe || safe.path !== entry.path) {
      throw new AssetDownloadError(this.uri, `The Hugging Face Hub listed a file \`${entry.path}\` that is not a safe relative path.`, {
        code: 'http_status',
      });
    }
    if (entry.lfs !== undefined) {
      return { path: entry.path, size: entry.size, etag: entry.lfs.oid, digest: 'sha256' };
    }
    if (entry.xetHash !== undefined) {
      return { path: entry.path, size: entry.size, etag: entry.xetHash, digest: 'none' };
    }
    if (entry.oid !== undefined) {
      return { path: entry.path, size: entry.size, etag: entry.oid, digest: 'git-sha1' };
    }
    throw new AssetDownloadError(this.uri, `The Hugging Face Hub listed the file ${entry.path} without an id.`, {
      code: 'http_status',
    });
  }

  /** Puts `file` in the snapshot: linked to its blob, downloaded first when the blob is missing. */
  private async ensure(snapshot: string, commit: string, file: HubFile, task: ProgressTask): Promise<void> {
    const pointer = join(snapshot, file.path);
    const blob = this.storage.blob(file.etag);
    if (this.options.force !== true) {
      const stat = await this.fs.maybeStat(pointer);
      if (stat?.isFile === true && stat.size === file.size) {
        this.ensured.add(file.path);
        return;
      }
      if ((await this.fs.maybeStat(blob))?.size === file.size) {
        await this.link(pointer, blob);
        task.advance(file.size);
        this.ensured.add(file.path);
        return;
      }
    }
    await this.io(dirname(blob), () => this.fs.mkdir(dirname(blob)));
    const lock = await acquireDownloadLock(
      this.uri,
      this.storage.lock(file.etag),
      this.fs,
      this.progress,
      CACHE_VARIABLE,
      this.lockOptions,
    );
    try {
      if (this.options.force === true) {
        await this.io(blob, () => this.fs.remove(blob), 'removing');
      } else if ((await this.fs.maybeStat(blob))?.size === file.size) {
        await this.link(pointer, blob); // Another process downloaded it while we waited.
        task.advance(file.size);
        this.ensured.add(file.path);
        return;
      }
      await this.fetchBlob(commit, file, blob, task);
      await this.link(pointer, blob);
      this.ensured.add(file.path);
    } finally {
      await lock.release();
    }
  }

  private async fetchBlob(commit: string, file: HubFile, blob: string, task: ProgressTask): Promise<void> {
    const incomplete = `${blob}.incomplete`;
    const existing = (await this.fs.maybeStat(incomplete))?.size ?? 0;
    const resumeFrom = existing > 0 && existing < file.size && this.options.force !== true ? existing : 0;
    const newHash = (): Hash | undefined =>
      file.digest === 'sha256' ? createHash('sha256') : file.digest === 'git-sha1' ? createGitBlobHash(file.size) : undefined;
    // Hashed as it streams, or whole once complete after a resume (see the http(s) manager).
    let hash = newHash();
    let resumedAt = 0;
    const prefix = this.storage.type === 'dataset' ? 'datasets/' : '';
    const url = `${this.endpoint}/${prefix}${this.ref.repo}/resolve/${commit}/${file.path.split('/').map(encodeURIComponent).join('/')}`;
    let responded = false;
    let result;
    try {
      result = await httpDownload({
        uri: this.uri,
        what: file.path,
        url,
        originHeaders: this.authorization,
        target: incomplete,
        resumeFrom,
        cacheVariable: CACHE_VARIABLE,
        fs: this.fs,
        client: this.client,
        onResponse: async (response) => {
          responded = true;
          resumedAt = response.offset;
          task.advance(response.offset);
        },
        onData: (chunk) => {
          if (resumedAt === 0) {
            hash?.update(chunk);
          }
          task.advance(chunk.byteLength);
        },
      });
    } catch (error) {
      // The blob is content-addressed, so a connection's failure leaves a partial file worth resuming.
      const interrupted =
        error instanceof AssetDownloadError &&
        (error.code === 'network' ||
          error.code === 'timeout' ||
          (error.code === 'size_mismatch' && Number(error.actual) < Number(error.expected)));
      if ((responded && !interrupted) || isStorageFault((error as { cause?: unknown }).cause)) {
        await this.fs.remove(incomplete).catch(() => undefined);
      }
      throw error instanceof AssetDownloadError && error.status !== undefined ? this.statusError(error.status, file.path) : error;
    }
    if (result.size !== file.size) {
      await this.fs.remove(incomplete).catch(() => undefined);
      throw new AssetDownloadError(
        this.uri,
        `${file.path} has ${result.size} bytes, but the Hugging Face Hub listed ${file.size}; it was deleted, try again.`,
        { code: 'size_mismatch', path: incomplete, expected: String(file.size), actual: String(result.size) },
      );
    }
    if (resumedAt > 0) {
      hash = newHash();
      if (hash !== undefined) {
        const whole = hash;
        await this.io(incomplete, () => updateFromFile(whole, this.fs, incomplete), 'reading');
      }
    }
    if (hash !== undefined) {
      const actual = hash.digest('hex');
      if (actual !== file.etag) {
        await this.fs.remove(incomplete).catch(() => undefined);
        const algorithm = file.digest === 'sha256' ? 'sha256' : 'git-sha1';
        throw new AssetDownloadError(
          this.uri,
          `${file.path} has the checksum ${algorithm}:${actual}, but the Hugging Face Hub listed ${algorithm}:${file.etag}; it was deleted, try again.`,
          { code: 'checksum_mismatch', path: incomplete, expected: `${algorithm}:${file.etag}`, actual: `${algorithm}:${actual}` },
        );
      }
    }
    await this.io(blob, () => this.fs.rename(incomplete, blob), 'renaming');
  }

  /** Creates the snapshot's relative symlink to the blob (a copy where links are refused, as `huggingface_hub` does). */
  private async link(pointer: string, blob: string): Promise<void> {
    await this.io(dirname(pointer), () => this.fs.mkdir(dirname(pointer)));
    await this.io(pointer, () => this.fs.remove(pointer), 'removing');
    try {
      await this.fs.symlink(relative(dirname(pointer), blob), pointer);
    } catch (error) {
      if (errnoCode(error) !== 'EPERM' && errnoCode(error) !== 'ENOTSUP') {
        throw toFileSystemError(this.uri, error, pointer, CACHE_VARIABLE);
      }
      await this.io(pointer, () => this.fs.copyFile(blob, pointer));
    }
  }

  /** The `fetch` given to `@huggingface/hub`: our `User-Agent`, the token for the endpoint only, a timeout. */
  private hubFetch(): typeof fetch {
    const origin = new URL(this.endpoint).origin;
    return async (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const headers = new Headers(init?.headers);
      headers.set('User-Agent', this.client.userAgent);
      headers.delete('Authorization');
      if (this.token !== undefined && new URL(url).origin === origin) {
        headers.set('Authorization', `Bearer ${this.token}`);
      }
      const timeout = AbortSignal.timeout(this.client.stallTimeoutMs);
      const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
      return this.client.fetch(url, { ...init, headers, signal });
    };
  }

  private localAdvice(): string {
    return ` To use local files instead, add a \`@user\` card with a local \`${LOCAL_FIELD[this.kind]}\` (in ~/.config/fairseq2/assets).`;
  }

  private statusError(status: number, file?: string): AssetDownloadError {
    const repo = this.ref.repo;
    const what = file === undefined ? `the ${this.storage.type} repository ${repo}` : `${file} of ${repo}`;
    const advice = this.localAdvice();
    if (status === 401) {
      return new AssetDownloadError(
        this.uri,
        this.token === undefined
          ? `The Hugging Face Hub answered HTTP 401 for ${what}: the repository is private or gated, or does not exist. Set HF_TOKEN to an access token of an account that can read it (${redactText(this.endpoint)}/settings/tokens).${advice}`
          : `The Hugging Face Hub did not accept the token in HF_TOKEN for ${what} (HTTP 401): check that it is valid and can read the repository.${advice}`,
        { code: 'unauthorized', status },
      );
    }
    if (status === 403) {
      return new AssetDownloadError(
        this.uri,
        `${repo} is a gated repository, and ${this.token === undefined ? 'no token was sent' : 'the account of HF_TOKEN has not been granted access'} (HTTP 403). Accept its license at ${redactText(this.endpoint)}/${this.storage.type === 'dataset' ? 'datasets/' : ''}${repo}${this.token === undefined ? ', set HF_TOKEN to a token of that account,' : ''} and try again.${advice}`,
        { code: 'gated', status },
      );
    }
    if (status === 404) {
      return new AssetDownloadError(
        this.uri,
        file === undefined
          ? `The Hugging Face Hub has no ${this.storage.type} repository ${repo} with a revision ${this.ref.revision} (HTTP 404).${advice}`
          : `The Hugging Face Hub has no file ${file} in ${repo} (HTTP 404).`,
        { code: 'not_found', status },
      );
    }
    return new AssetDownloadError(this.uri, `The Hugging Face Hub answered HTTP ${status} for ${what}.`, {
      code: 'http_status',
      status,
    });
  }

  private hubError(error: unknown): AssetDownloadError {
    if (error instanceof AssetDownloadError) {
      return error;
    }
    const status = (error as { statusCode?: unknown } | null)?.statusCode;
    if (typeof status === 'number') {
      return this.statusError(status);
    }
    const name = (error as { name?: unknown } | null)?.name;
    if (name === 'TimeoutError') {
      return new AssetDownloadError(
        this.uri,
        `The Hugging Face Hub at ${redactText(this.endpoint)} did not answer within ${this.client.stallTimeoutMs / 1000} s.`,
        { code: 'timeout', cause: redactError(error, this.secrets()) },
      );
    }
    const cause = (error as { cause?: unknown } | null)?.cause;
    const code = errnoCode(cause) ?? errnoCode(error);
    const detail = code ?? this.redact(error instanceof Error ? error.message : String(error));
    return new AssetDownloadError(this.uri, `The Hugging Face Hub at ${redactText(this.endpoint)} is not reachable (${detail}).`, {
      code: 'network',
      cause: redactError(error, this.secrets()),
    });
  }

  private async io<T>(path: string, body: () => Promise<T>, action = 'writing'): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw toFileSystemError(this.uri, error, path, CACHE_VARIABLE, action);
    }
  }
  /** The token, which no message or cause may quote (a library's error can: an invalid header value). */
  private secrets(): string[] {
    return this.token === undefined ? [] : [this.token];
  }

  private redact(text: string): string {
    return this.secrets().reduce((t, secret) => t.split(secret).join('***'), redactText(text));
  }
}

/**
 * Refuses a token that an HTTP header cannot carry before it is sent: `fetch` would reject it
 * with an error that quotes the whole header, token included. Hugging Face tokens are visible
 * ASCII (`hf_` and letters); a line break or a control character comes from a bad copy.
 *
 * @throws AssetDownloadError `invalid_token`, naming the character but not the token.
 */
function checkToken(uri: AssetUri, token: string): void {
  const bad = /[^\x21-\x7e]/.exec(token.trim());
  if (bad === null) {
    return;
  }
  const char = `U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  throw new AssetDownloadError(
    uri,
    `The Hugging Face token (HF_TOKEN) holds a character that an HTTP header cannot carry (${char}); set it to the token alone, as shown at https://huggingface.co/settings/tokens.`,
    { code: 'invalid_token' },
  );
}
