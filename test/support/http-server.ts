import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A request the server received. `bytesSent` grows while the body is being sent. */
export interface RecordedRequest {
  readonly method: string;
  /** The path and query, as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The status answered (0 until the headers are sent). */
  status: number;
  /** Body bytes written so far. */
  bytesSent: number;
}

/** How {@link TestHttpServer.file} serves a body. Every field is optional. */
export interface ServedFile {
  readonly body: string | Uint8Array;
  /** The `ETag` header. Default: a strong tag derived from the body; `null` for none. */
  readonly etag?: string | null;
  /** The `Last-Modified` header. Default: none. */
  readonly lastModified?: string;
  /** Honour `Range` requests (and `If-Range`), and say `Accept-Ranges: bytes`. Default: `true`. */
  readonly ranges?: boolean;
  readonly contentType?: string;
  readonly contentDisposition?: string;
  /** Extra headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Omit `Content-Length` (chunked transfer). Default: `false`. */
  readonly noContentLength?: boolean;
  /** Announce this `Content-Length` instead of the body's. */
  readonly contentLength?: number;
  /**
   * Close the connection after this many body bytes of a response (a truncated download), for
   * the first `truncateTimes` responses (default: every one).
   */
  readonly truncateAt?: number;
  readonly truncateTimes?: number;
  /** Send the body in chunks of this size... */
  readonly chunkSize?: number;
  /** ...with this pause between them, in ms (a slow server). Default: no pause. */
  readonly chunkDelayMs?: number;
  /** Send this many body bytes, then nothing more without closing (a stalled server). */
  readonly stallAt?: number;
  /** Answer this status with a short text body instead. */
  readonly status?: number;
}

/** A file of a Hub repository: its content, stored with LFS (named by SHA-256) or as a git blob. */
export interface HubRepoFile {
  readonly content: string | Uint8Array;
  /** Default: `true` for names ending in `.safetensors`, `.bin`, `.pth`, `.tar`, `.zip`. */
  readonly lfs?: boolean;
  /** Serve these bytes instead of `content` (a corrupted or changed file), while listing `content`'s size and digest. */
  readonly servedContent?: string | Uint8Array;
  /** Serving faults of this file (truncation, slowness, status), as for {@link ServedFile}. */
  readonly faults?: Omit<ServedFile, 'body' | 'etag'>;
}

/** A repository served by the Hub-style endpoints. */
export interface HubRepoSpec {
  /** `org/name`. */
  readonly id: string;
  /** Default: `model`. */
  readonly type?: 'model' | 'dataset';
  /** The commit id, 40 hex digits. Default: derived from the id. */
  readonly commit?: string;
  /** Branches and tags besides `main`, with their commit (only `commit`'s files are served). */
  readonly refs?: Readonly<Record<string, string>>;
  readonly files: Readonly<Record<string, string | Uint8Array | HubRepoFile>>;
  /** The token every request must carry (`Authorization: Bearer <token>`); 401 without it. */
  readonly token?: string;
  /** Gated: with the right token, 403 anyway (the license is not accepted). Default: `false`. */
  readonly gated?: boolean;
  /** Redirect LFS downloads to `/cdn/<sha256>` on the same server, as the Hub redirects to its CDN. Default: `false`. */
  readonly lfsRedirect?: boolean;
}

/** A handler of a custom route. */
export type RouteHandler = (request: IncomingMessage, response: ServerResponse, record: RecordedRequest) => void | Promise<void>;

/** A loopback HTTP server for tests: files, Hub-style endpoints, faults, and a record of every request. */
export interface TestHttpServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Serves `file` at `path` (GET and HEAD). */
  file(path: string, file: ServedFile): void;
  /** Answers `path` with a redirect to `location`. */
  redirect(path: string, location: string, status?: number): void;
  /** Answers `path` with `handler`. */
  route(path: string, handler: RouteHandler): void;
  /** Serves a Hugging Face-style repository (see {@link HubRepoSpec}). */
  hubRepo(spec: HubRepoSpec): void;
  /** The requests whose path (without the query) is `path`. */
  requestsTo(path: string): RecordedRequest[];
  /** Forgets the recorded requests. */
  clearRequests(): void;
  /** Stops the server, cutting open connections (stalled responses included). */
  close(): Promise<void>;
}

/** The strong `ETag` the server gives a body by default. */
export function defaultEtag(body: string | Uint8Array): string {
  return `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
}

/** The git blob id of `content` (how the Hub names non-LFS files). */
export function gitBlobId(content: string | Uint8Array): string {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  return createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
}

export function sha256Hex(content: string | Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isLfsName(name: string): boolean {
  return /\.(safetensors|bin|pth|tar|zip|gz)$/.test(name);
}

interface NormalizedHubFile {
  readonly path: string;
  readonly content: Buffer;
  readonly served: Buffer;
  readonly lfs: boolean;
  readonly oid: string;
  readonly sha256: string;
  readonly faults: Omit<ServedFile, 'body' | 'etag'>;
}

interface HubRepoState {
  readonly spec: HubRepoSpec;
  readonly type: 'model' | 'dataset';
  readonly commit: string;
  readonly files: Map<string, NormalizedHubFile>;
}

/** Starts a {@link TestHttpServer} on 127.0.0.1 with a random port. */
export async function startTestHttpServer(): Promise<TestHttpServer> {
  const requests: RecordedRequest[] = [];
  const routes = new Map<string, RouteHandler>();
  const responsesByPath = new Map<string, number>();
  const repos: HubRepoState[] = [];
  const sockets = new Set<Socket>();

  const serveFile = async (req: IncomingMessage, res: ServerResponse, record: RecordedRequest, file: ServedFile, key: string): Promise<void> => {
    const count = (responsesByPath.get(key) ?? 0) + 1;
    responsesByPath.set(key, count);
    if (file.status !== undefined) {
      record.status = file.status;
      res.writeHead(file.status, { 'Content-Type': 'text/plain' });
      res.end(`status ${file.status}`);
      return;
    }
    const body = typeof file.body === 'string' ? Buffer.from(file.body) : Buffer.from(file.body);
    const etag = file.etag === undefined ? defaultEtag(body) : file.etag;
    const ranges = file.ranges ?? true;
    const headers: Record<string, string> = { 'Content-Type': file.contentType ?? 'application/octet-stream', ...file.headers };
    if (etag !== null) {
      headers['ETag'] = etag;
    }
    if (file.lastModified !== undefined) {
      headers['Last-Modified'] = file.lastModified;
    }
    if (file.contentDisposition !== undefined) {
      headers['Content-Disposition'] = file.contentDisposition;
    }
    if (ranges) {
      headers['Accept-Ranges'] = 'bytes';
    }
    let start = 0;
    let end = body.byteLength; // exclusive
    let status = 200;
    const range = req.headers['range'];
    const ifRange = req.headers['if-range'];
    const validatorMatches = ifRange === undefined || ifRange === etag || ifRange === file.lastModified;
    if (ranges && typeof range === 'string' && validatorMatches) {
      const match = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (match?.[1] !== undefined) {
        start = Number(match[1]);
        end = match[2] === undefined || match[2] === '' ? body.byteLength : Math.min(body.byteLength, Number(match[2]) + 1);
        if (start >= body.byteLength) {
          record.status = 416;
          res.writeHead(416, { 'Content-Range': `bytes */${body.byteLength}` });
          res.end();
          return;
        }
        status = 206;
        headers['Content-Range'] = `bytes ${start}-${end - 1}/${body.byteLength}`;
      }
    }
    if (!file.noContentLength) {
      headers['Content-Length'] = String(file.contentLength ?? end - start);
    }
    record.status = status;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const truncating = file.truncateAt !== undefined && count <= (file.truncateTimes ?? Number.POSITIVE_INFINITY);
    const limit = Math.min(end, truncating ? start + file.truncateAt! : end, file.stallAt === undefined ? end : start + file.stallAt);
    const chunkSize = file.chunkSize ?? 64 * 1024;
    for (let offset = start; offset < limit; offset += chunkSize) {
      const chunk = body.subarray(offset, Math.min(limit, offset + chunkSize));
      if (res.destroyed) {
        return;
      }
      await new Promise<void>((resolve) => res.write(chunk, () => resolve()));
      record.bytesSent += chunk.byteLength;
      if (file.chunkDelayMs !== undefined && offset + chunkSize < limit) {
        await sleep(file.chunkDelayMs);
      }
    }
    if (truncating) {
      res.destroy();
      return;
    }
    if (file.stallAt !== undefined) {
      return; // Never ends; close() cuts it.
    }
    res.end();
  };

  const hubError = (res: ServerResponse, record: RecordedRequest, status: number, code: string, message: string): void => {
    record.status = status;
    res.writeHead(status, { 'Content-Type': 'application/json', 'X-Error-Code': code });
    res.end(JSON.stringify({ error: message }));
  };

  const authorize = (req: IncomingMessage, res: ServerResponse, record: RecordedRequest, repo: HubRepoState): boolean => {
    if (repo.spec.token !== undefined && req.headers['authorization'] !== `Bearer ${repo.spec.token}`) {
      hubError(res, record, 401, repo.spec.gated ? 'GatedRepo' : 'RepoNotFound', 'Invalid credentials in Authorization header');
      return false;
    }
    if (repo.spec.gated === true) {
      hubError(res, record, 403, 'GatedRepo', `Access to model ${repo.spec.id} is restricted and you are not in the authorized list.`);
      return false;
    }
    return true;
  };

  const findRepo = (type: 'model' | 'dataset', path: string): { repo: HubRepoState; rest: string } | undefined => {
    for (const repo of repos) {
      if (repo.type === type && (path === repo.spec.id || path.startsWith(`${repo.spec.id}/`))) {
        return { repo, rest: path.slice(repo.spec.id.length + 1) };
      }
    }
    return undefined;
  };

  const resolveRevision = (repo: HubRepoState, revision: string): string | undefined => {
    if (revision === repo.commit || revision === 'main' || revision === 'HEAD') {
      return repo.commit;
    }
    return repo.spec.refs?.[revision];
  };

  const handleHub = async (req: IncomingMessage, res: ServerResponse, record: RecordedRequest, path: string): Promise<boolean> => {
    // /api/{models|datasets}/{id}/revision/{rev} and /api/{models|datasets}/{id}/tree/{rev}
    const api = /^\/api\/(models|datasets)\/(.+)\/(revision|tree)\/([^/]+)(?:\/(.*))?$/.exec(path);
    if (api !== null) {
      const type = api[1] === 'models' ? 'model' : 'dataset';
      const found = findRepo(type, api[2]!);
      if (found === undefined || found.rest !== '') {
        hubError(res, record, 404, 'RepoNotFound', 'Repository not found');
        return true;
      }
      const { repo } = found;
      if (!authorize(req, res, record, repo)) {
        return true;
      }
      const commit = resolveRevision(repo, decodeURIComponent(api[4]!));
      if (commit === undefined || commit !== repo.commit) {
        hubError(res, record, 404, 'RevisionNotFound', `Invalid rev id: ${api[4]}`);
        return true;
      }
      record.status = 200;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (api[3] === 'revision') {
        res.end(
          JSON.stringify({
            _id: `id-${repo.spec.id}`,
            id: repo.spec.id,
            sha: repo.commit,
            private: repo.spec.token !== undefined,
            gated: repo.spec.gated === true ? 'manual' : false,
            downloads: 0,
            likes: 0,
            lastModified: '2025-01-01T00:00:00.000Z',
            siblings: [...repo.files.keys()].map((rfilename) => ({ rfilename })),
          }),
        );
      } else {
        const entries = [...repo.files.values()].map((f) => ({
          type: 'file',
          oid: f.lfs ? gitBlobId(`version https://git-lfs.github.com/spec/v1\noid sha256:${f.sha256}\nsize ${f.content.byteLength}\n`) : f.oid,
          size: f.content.byteLength,
          path: f.path,
          ...(f.lfs ? { lfs: { oid: f.sha256, size: f.content.byteLength, pointerSize: 134 } } : {}),
        }));
        res.end(JSON.stringify(entries));
      }
      return true;
    }
    // /cdn/<sha256>: the LFS redirect target.
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(path);
    if (cdn !== null) {
      for (const repo of repos) {
        for (const file of repo.files.values()) {
          if (file.lfs && file.sha256 === cdn[1]) {
            await serveFile(req, res, record, { ...file.faults, body: file.served, etag: `"${file.sha256}"` }, `cdn:${repo.spec.id}:${file.path}`);
            return true;
          }
        }
      }
      return false;
    }
    // /{id}/resolve/{rev}/{file} and /datasets/{id}/resolve/{rev}/{file}
    const resolve = /^\/(datasets\/)?(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (resolve !== null) {
      const type = resolve[1] === undefined ? 'model' : 'dataset';
      const found = findRepo(type, resolve[2]!);
      if (found === undefined || found.rest !== '') {
        hubError(res, record, 404, 'RepoNotFound', 'Repository not found');
        return true;
      }
      const { repo } = found;
      if (!authorize(req, res, record, repo)) {
        return true;
      }
      const commit = resolveRevision(repo, decodeURIComponent(resolve[3]!));
      if (commit === undefined) {
        hubError(res, record, 404, 'RevisionNotFound', 'Revision not found');
        return true;
      }
      const name = resolve[4]!.split('/').map(decodeURIComponent).join('/');
      const file = repo.files.get(name);
      if (file === undefined) {
        hubError(res, record, 404, 'EntryNotFound', `Entry not found: ${name}`);
        return true;
      }
      const headers: Record<string, string> = { 'X-Repo-Commit': commit };
      if (file.lfs) {
        headers['X-Linked-Etag'] = `"${file.sha256}"`;
        headers['X-Linked-Size'] = String(file.content.byteLength);
        if (repo.spec.lfsRedirect === true) {
          record.status = 302;
          res.writeHead(302, { ...headers, Location: `/cdn/${file.sha256}`, ETag: `"${file.oid}"` });
          res.end();
          return true;
        }
      }
      await serveFile(
        req,
        res,
        record,
        { ...file.faults, body: file.served, etag: `"${file.lfs ? file.sha256 : file.oid}"`, headers: { ...headers, ...file.faults.headers } },
        `${repo.spec.id}:${file.path}`,
      );
      return true;
    }
    return false;
  };

  const server: Server = createServer((req, res) => {
    const record: RecordedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, status: 0, bytesSent: 0 };
    requests.push(record);
    const path = (req.url ?? '/').split('?')[0]!;
    void (async () => {
      try {
        const handler = routes.get(path);
        if (handler !== undefined) {
          await handler(req, res, record);
          return;
        }
        if (await handleHub(req, res, record, path)) {
          return;
        }
        record.status = 404;
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not found');
      } catch (error) {
        if (!res.headersSent) {
          record.status = 500;
          res.writeHead(500, { 'Content-Type': 'text/plain' });
        }
        res.end(String(error));
      }
    })();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    file(path, file) {
      routes.set(path, (req, res, record) => serveFile(req, res, record, file, path));
    },
    redirect(path, location, status = 302) {
      routes.set(path, (_req, res, record) => {
        record.status = status;
        res.writeHead(status, { Location: location });
        res.end();
      });
    },
    route(path, handler) {
      routes.set(path, handler);
    },
    hubRepo(spec) {
      const files = new Map<string, NormalizedHubFile>();
      for (const [path, value] of Object.entries(spec.files)) {
        const file: HubRepoFile = typeof value === 'string' || value instanceof Uint8Array ? { content: value } : value;
        const content = Buffer.from(typeof file.content === 'string' ? Buffer.from(file.content) : file.content);
        const served = file.servedContent === undefined ? content : Buffer.from(file.servedContent);
        files.set(path, {
          path,
          content,
          served,
          lfs: file.lfs ?? isLfsName(path),
          oid: gitBlobId(content),
          sha256: sha256Hex(content),
          faults: file.faults ?? {},
        });
      }
      repos.push({
        spec,
        type: spec.type ?? 'model',
        commit: spec.commit ?? createHash('sha1').update(`commit:${spec.id}`).digest('hex'),
        files,
      });
    },
    requestsTo(path) {
      return requests.filter((r) => r.url.split('?')[0] === path);
    },
    clearRequests() {
      requests.length = 0;
    },
    async close() {
      for (const socket of sockets) {
        socket.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
