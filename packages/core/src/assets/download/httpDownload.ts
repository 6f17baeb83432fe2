import { readFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { AssetUri } from '../AssetUri.js';
import { redactText } from '../AssetUri.js';
import type { DownloadFileHandle, DownloadFileSystem } from './DownloadFileSystem.js';
import { AssetDownloadError } from './errors.js';
import { errnoCode, toFileSystemError } from './faults.js';

/** How the HTTP client behaves; every download manager that speaks HTTP takes these. */
export interface HttpClientOptions {
  /** The `fetch` to use. Default: the global `fetch` (undici). */
  readonly fetch?: typeof fetch;
  /** The `User-Agent` header. Default: {@link defaultUserAgent}. */
  readonly userAgent?: string;
  /**
   * How many redirects a request may follow. Default: `20`, the limit of the Fetch standard
   * (https://fetch.spec.whatwg.org/#http-redirect-fetch, step 5).
   */
  readonly maxRedirects?: number;
  /**
   * How long a request may wait for its response headers, or for the next chunk of its body,
   * before it is abandoned as stalled, in ms. Default: `60_000`, six times `huggingface_hub`'s
   * `DEFAULT_DOWNLOAD_TIMEOUT` of 10 s, because a stall here costs a resume, not a failure.
   */
  readonly stallTimeoutMs?: number;
}

/** {@link HttpClientOptions} with every default applied. */
export interface ResolvedHttpClientOptions {
  readonly fetch: typeof fetch;
  readonly userAgent: string;
  readonly maxRedirects: number;
  readonly stallTimeoutMs: number;
}

/** Default of {@link HttpClientOptions.maxRedirects}. */
export const DEFAULT_MAX_REDIRECTS = 20;
/** Default of {@link HttpClientOptions.stallTimeoutMs}. */
export const DEFAULT_STALL_TIMEOUT_MS = 60_000;

function readCoreVersion(): string {
  try {
    // src/assets/download/ and dist/assets/download/ both sit three folders below package.json.
    const file = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

let userAgent: string | undefined;

/**
 * `fs2/<version> (Node.js <version>; <platform> <arch>)`: an honest, specific `User-Agent`.
 * fairseq2 sends a browser's because some hosts refuse library defaults (`Python-urllib`); a
 * named client is not one of those.
 */
export function defaultUserAgent(): string {
  userAgent ??= `fs2/${readCoreVersion()} (Node.js ${process.version}; ${platform()} ${arch()})`;
  return userAgent;
}

/** Applies the defaults of {@link HttpClientOptions}. */
export function resolveHttpClientOptions(options: HttpClientOptions = {}): ResolvedHttpClientOptions {
  return {
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    userAgent: options.userAgent ?? defaultUserAgent(),
    maxRedirects: options.maxRedirects ?? DEFAULT_MAX_REDIRECTS,
    stallTimeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
  };
}

/**
 * The file name of a `Content-Disposition` header: `filename*=UTF-8''...` (RFC 6266 / 5987)
 * first, then `filename="..."`; reduced to a base name, and `undefined` when it is empty, `.`,
 * `..` or holds control characters. Hand-written: ten lines do not justify a dependency.
 */
export function parseContentDispositionFilename(header: string | null | undefined): string | undefined {
  if (header === null || header === undefined) {
    return undefined;
  }
  let name: string | undefined;
  const extended = /filename\*\s*=\s*([^;]+)/i.exec(header)?.[1]?.trim();
  if (extended !== undefined) {
    const quote = extended.indexOf("''");
    try {
      name = decodeURIComponent(quote >= 0 ? extended.slice(quote + 2) : extended);
    } catch {
      name = undefined;
    }
  }
  if (name === undefined) {
    const plain = /(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/i.exec(header);
    name = plain?.[1]?.replace(/\\(.)/g, '$1') ?? plain?.[2]?.trim();
  }
  if (name === undefined) {
    return undefined;
  }
  const base = name.split(/[/\\]/).pop() ?? '';
  return base === '' || base === '.' || base === '..' || /[\u0000-\u001f\u007f]/.test(base) ? undefined : base;
}

/** What a download's response said, before its body is read. */
export interface HttpDownloadResponse {
  /** The URL that answered, after redirects. */
  readonly url: string;
  readonly status: number;
  /** Where the body starts in the file: the resumed size, or `0` when the download starts over. */
  readonly offset: number;
  /** The size of the whole file, when the server said it. */
  readonly total: number | undefined;
  readonly etag: string | undefined;
  readonly lastModified: string | undefined;
  readonly acceptRanges: boolean;
  /** From `Content-Disposition`. */
  readonly filename: string | undefined;
}

/** Parameters of {@link httpDownload}. */
export interface HttpDownloadParams {
  /** The asset being downloaded, for messages. */
  readonly uri: AssetUri;
  /** What this request fetches, for messages (`model.safetensors`, a URL without credentials). */
  readonly what: string;
  readonly url: string;
  /** Headers sent only to the origin of `url` (an `Authorization` token), dropped after a cross-origin redirect. */
  readonly originHeaders?: Readonly<Record<string, string>>;
  /** The file the body goes to: appended to when resuming, else truncated. */
  readonly target: string;
  /** The size of the partial `target` to resume from. Default: `0` (start over). */
  readonly resumeFrom?: number;
  /** The `If-Range` validator of a resumed request (a strong `ETag` or a `Last-Modified` date). */
  readonly ifRange?: string;
  /** The environment variable that moves the cache, for disk-full and permission messages. */
  readonly cacheVariable: string;
  readonly fs: DownloadFileSystem;
  readonly client: ResolvedHttpClientOptions;
  /** Called once the response is known and before the body is read (write resume data, hash the kept prefix). */
  readonly onResponse?: (response: HttpDownloadResponse) => Promise<void>;
  /** Called with every chunk written (hashing, progress). */
  readonly onData?: (chunk: Uint8Array) => void;
}

/** The result of {@link httpDownload}. */
export interface HttpDownloadResult extends HttpDownloadResponse {
  /** The size of `target` now: `offset` plus the bytes received. */
  readonly size: number;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

const STALLED = Symbol('stalled');

/** A stall timer whose `signal` aborts when `kick()` is not called for `ms`. */
class StallTimer {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;

  constructor(ms: number) {
    this.timer = setTimeout(() => this.controller.abort(STALLED), ms);
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stalled(): boolean {
    return this.controller.signal.aborted && this.controller.signal.reason === STALLED;
  }

  kick(): void {
    this.timer.refresh();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

/** The `code` of a fetch failure (`ECONNREFUSED`, `ENOTFOUND`, `UND_ERR_SOCKET`), or its message. */
function describeFetchFailure(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause;
  const nested = (cause as { errors?: unknown[] } | null)?.errors?.[0];
  const code = errnoCode(cause) ?? errnoCode(nested) ?? errnoCode(error);
  if (code !== undefined) {
    return code;
  }
  const message = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  return redactText(message);
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

function parseContentRange(header: string | null): { start: number; total: number | undefined } | undefined {
  const match = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(header?.trim() ?? '');
  if (match?.[1] === undefined || match[3] === undefined) {
    return undefined;
  }
  return { start: Number(match[1]), total: match[3] === '*' ? undefined : Number(match[3]) };
}

/**
 * Downloads `url` into `target`, streaming, following redirects (bounded, credentials dropped
 * across origins), resuming a partial file with a `Range` request when `resumeFrom` is given (the
 * server's `If-Range` check restarts it from zero when the file changed, as does a server that
 * ignores ranges), abandoning a request that stalls, and checking the size against
 * `Content-Length` / `Content-Range`.
 *
 * The partial `target` is left in place on every failure; the caller decides whether to keep it
 * for a resume.
 *
 * @throws AssetDownloadError with code `network`, `timeout`, `too_many_redirects`, `http_status`,
 *   `unauthorized`, `not_found`, `size_mismatch`, or a file-system code.
 */
export async function httpDownload(params: HttpDownloadParams): Promise<HttpDownloadResult> {
  const { uri, what, client } = params;
  let offset = params.resumeFrom ?? 0;
  for (let attempt = 0; ; attempt += 1) {
    const timer = new StallTimer(client.stallTimeoutMs);
    try {
      const response = await request(params, offset, timer);
      const status = response.status;
      const contentRange = parseContentRange(response.headers.get('content-range'));
      if (offset > 0 && status === 200) {
        // The server ignored the range, or the file changed since (If-Range): the whole file follows.
        offset = 0;
      } else if (offset > 0 && attempt === 0 && (status === 416 || (status === 206 && contentRange?.start !== offset))) {
        // The range was refused or answered from elsewhere: start over.
        await response.body?.cancel().catch(() => undefined);
        offset = 0;
        continue;
      }
      if (status >= 400 || (status !== 200 && status !== 206)) {
        await response.body?.cancel().catch(() => undefined);
        throw statusError(uri, what, status);
      }
      const contentLength = response.headers.get('content-length');
      const encoded = (response.headers.get('content-encoding') ?? 'identity').toLowerCase() !== 'identity';
      const total =
        status === 206
          ? contentRange?.total
          : contentLength !== null && !encoded && /^\d+$/.test(contentLength)
            ? Number(contentLength)
            : undefined;
      const etag = response.headers.get('etag') ?? undefined;
      const lastModified = response.headers.get('last-modified') ?? undefined;
      const info: HttpDownloadResponse = {
        url: response.url === '' ? params.url : response.url,
        status,
        offset: status === 206 ? offset : 0,
        total,
        etag,
        lastModified,
        acceptRanges: (response.headers.get('accept-ranges') ?? '').toLowerCase().includes('bytes'),
        filename: parseContentDispositionFilename(response.headers.get('content-disposition')),
      };
      await params.onResponse?.(info);
      const size = await receiveBody(params, response, info, timer);
      return { ...info, size };
    } finally {
      timer.stop();
    }
  }
}

async function request(params: HttpDownloadParams, offset: number, timer: StallTimer): Promise<Response> {
  const { uri, what, client } = params;
  let url = params.url;
  const origin = new URL(url).origin;
  for (let redirects = 0; ; redirects += 1) {
    const headers: Record<string, string> = {
      'User-Agent': client.userAgent,
      'Accept-Encoding': 'identity',
      ...(new URL(url).origin === origin ? params.originHeaders : {}),
      ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}),
      ...(offset > 0 && params.ifRange !== undefined ? { 'If-Range': params.ifRange } : {}),
    };
    let response: Response;
    try {
      response = await client.fetch(url, { headers, redirect: 'manual', signal: timer.signal });
    } catch (error) {
      if (timer.stalled) {
        throw new AssetDownloadError(uri, `${what} did not answer within ${seconds(client.stallTimeoutMs)}.`, {
          code: 'timeout',
          cause: error,
        });
      }
      throw new AssetDownloadError(uri, `${what} is not reachable (${describeFetchFailure(error)}).`, {
        code: 'network',
        cause: error,
      });
    }
    timer.kick();
    if (!REDIRECT_STATUSES.has(response.status)) {
      return response;
    }
    await response.body?.cancel().catch(() => undefined);
    const location = response.headers.get('location');
    if (location === null) {
      throw new AssetDownloadError(
        uri,
        `${what} answered HTTP ${response.status} (a redirect) without a Location header.`,
        { code: 'http_status', status: response.status },
      );
    }
    if (redirects >= client.maxRedirects) {
      throw new AssetDownloadError(uri, `${what} redirected more than ${client.maxRedirects} times.`, {
        code: 'too_many_redirects',
        status: response.status,
      });
    }
    url = new URL(location, url).href;
  }
}

function statusError(uri: AssetUri, what: string, status: number): AssetDownloadError {
  // fairseq2: "Server returned HTTP error code {code}."
  const code = status === 404 ? 'not_found' : status === 401 ? 'unauthorized' : 'http_status';
  return new AssetDownloadError(uri, `Server returned HTTP error code ${status} for ${what}.`, { code, status });
}

async function receiveBody(
  params: HttpDownloadParams,
  response: Response,
  info: HttpDownloadResponse,
  timer: StallTimer,
): Promise<number> {
  const { uri, what, fs, target } = params;
  let handle: DownloadFileHandle;
  try {
    handle = await fs.open(target, info.offset > 0 ? 'append' : 'truncate');
  } catch (error) {
    await response.body?.cancel().catch(() => undefined);
    throw toFileSystemError(uri, error, target, params.cacheVariable);
  }
  let size = info.offset;
  const describeSize = (): string =>
    info.total === undefined ? `${size} bytes` : `${size} of ${info.total} bytes`;
  try {
    if (response.body !== null) {
      const reader = response.body.getReader();
      try {
        for (;;) {
          let chunk: Awaited<ReturnType<typeof reader.read>>;
          try {
            chunk = await reader.read();
          } catch (error) {
            if (timer.stalled) {
              throw new AssetDownloadError(
                uri,
                `No data arrived from ${what} for ${seconds(params.client.stallTimeoutMs)}; ${describeSize()} were received.`,
                { code: 'timeout', cause: error },
              );
            }
            throw new AssetDownloadError(
              uri,
              `The connection to ${what} broke after ${describeSize()} (${describeFetchFailure(error)}).`,
              { code: 'network', cause: error },
            );
          }
          if (chunk.done) {
            break;
          }
          timer.kick();
          const bytes = chunk.value;
          if (info.total !== undefined && size + bytes.byteLength > info.total) {
            throw new AssetDownloadError(
              uri,
              `${what} sent more bytes than the ${info.total} its Content-Length announced.`,
              { code: 'size_mismatch', expected: String(info.total), actual: String(size + bytes.byteLength) },
            );
          }
          try {
            await handle.write(bytes);
          } catch (error) {
            throw toFileSystemError(uri, error, target, params.cacheVariable);
          }
          size += bytes.byteLength;
          params.onData?.(bytes);
        }
      } finally {
        reader.releaseLock();
      }
    }
  } catch (error) {
    await response.body?.cancel().catch(() => undefined);
    throw error;
  } finally {
    await handle.close().catch(() => undefined);
  }
  if (info.total !== undefined && size !== info.total) {
    throw new AssetDownloadError(
      uri,
      `The connection to ${what} closed after ${size} of the ${info.total} bytes its Content-Length announced.`,
      { code: 'size_mismatch', expected: String(info.total), actual: String(size) },
    );
  }
  return size;
}
