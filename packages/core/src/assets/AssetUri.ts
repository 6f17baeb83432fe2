import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { InvalidArgumentError } from '../errors/Fs2Error.js';

/**
 * A location a card points at: `hg://org/repo`, `https://host/file.tar`, `file:///abs/path`, or a
 * path (which becomes a `file:` URI).
 *
 * `toString()` hides credentials (`https://user:***@host/...`) so that a URI interpolated into an
 * error or a log line never leaks a password or a token; `href` keeps the original for requests.
 */
export class AssetUri {
  private constructor(
    /** The scheme, lower case, without the colon: `hg`, `https`, `file`, ... */
    readonly scheme: string,
    /** The full URI, credentials included. Use it for requests, never for messages. */
    readonly href: string,
  ) {}

  /**
   * Parses `text` as a URI with a scheme of two or more letters (so `C:\x` stays a path), or
   * returns `undefined` when it is not one.
   */
  static maybeParse(text: string): AssetUri | undefined {
    const match = /^([A-Za-z][A-Za-z0-9+.-]+):/.exec(text);
    if (match?.[1] === undefined) {
      return undefined;
    }
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return undefined;
    }
    return new AssetUri(match[1].toLowerCase(), url.href);
  }

  /** Parses `text` as a URI; throws {@link InvalidArgumentError} when it is not one. */
  static parse(text: string): AssetUri {
    const uri = AssetUri.maybeParse(text);
    if (uri === undefined) {
      throw new InvalidArgumentError('uri', `${redactUriText(text)} is not a valid URI.`);
    }
    return uri;
  }

  /** The `file:` URI of `path`, resolved against `base` (default: the working directory) when relative. */
  static fromPath(path: string, base?: string): AssetUri {
    const absolute = isAbsolute(path) ? path : resolve(base ?? process.cwd(), path);
    return new AssetUri('file', pathToFileURL(absolute).href);
  }

  /**
   * The local path of a `file:` URI.
   *
   * @throws InvalidArgumentError for another scheme, and for a `file:` URI that names no local
   *   path (a host other than `localhost`, an encoded `/` in the path: Node's `fileURLToPath`
   *   refuses them with a TypeError, which escaped before `npm run fuzz` found it).
   */
  toPath(): string {
    if (this.scheme !== 'file') {
      throw new InvalidArgumentError('uri', `${this.toString()} is not a \`file:\` URI and has no local path.`);
    }
    try {
      return fileURLToPath(this.href);
    } catch (error) {
      const reason = (error as Error).message.replace(/\.?$/, '.');
      throw new InvalidArgumentError('uri', `${this.toString()} does not name a local path: ${reason}`, { cause: error });
    }
  }

  /**
   * What follows `scheme://`: `org/repo` for `hg://org/repo`, as fairseq2 reads Hugging Face repo
   * ids (everything after the scheme, no query).
   */
  get rest(): string {
    const text = this.href.slice(this.scheme.length + 1);
    return text.startsWith('//') ? text.slice(2) : text;
  }

  /** The URI without credentials: safe to print. */
  toString(): string {
    return redactText(this.href);
  }

  /** `JSON.stringify` writes the URI without credentials (an error's `uri` field, a manifest). */
  toJSON(): string {
    return this.toString();
  }

  /** `util.inspect` (and so `console.log` of an error that holds this URI) shows it without credentials. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `AssetUri(${this.toString()})`;
  }
}

/**
 * {@link redactText} for a string that is one URI and nothing else (one that failed to parse): the
 * user information is everything between `scheme://` and the last `@` before the path, query or
 * fragment, whatever it holds (spaces included, which make the URI invalid and would stop
 * {@link redactText}, written for URIs inside prose). Found by `npm run fuzz -- --target uri`:
 * `https:// user:pw@` showed its password.
 */
export function redactUriText(text: string): string {
  const match = /^(\s*[A-Za-z][A-Za-z0-9+.-]*:[\\/]{2})([^/?#\\]*)@/.exec(text);
  if (match === null) {
    return redactText(text);
  }
  const [whole, scheme, userinfo] = match as unknown as [string, string, string];
  const colon = userinfo.indexOf(':');
  return `${scheme}${colon < 0 ? '***' : `${userinfo.slice(0, colon)}:***`}@${redactText(text.slice(whole.length))}`;
}

/**
 * `scheme:` and any slashes or backslashes (a one-letter scheme only before `//`, so that `C:\x`
 * stays a drive), then the user information up to the last `@` before the next slash, backslash
 * or blank: the WHATWG URL parser takes `https:u:p@host`, `https:/u:p@host` and
 * `https:\\u:p@host` as credentials too, and a password with an unencoded `@` (`u:p@ss@host`)
 * ends at the last `@`. `?` and `#` are kept inside: a text that does not parse as a URL
 * (`https://u:p#ss@host`) may still hold a password.
 */
const CREDENTIALS = /([A-Za-z][A-Za-z0-9+.-]+:[/\\]*|[A-Za-z]:\/\/+)([^/\\\s]*)@/g;

/**
 * Replaces the password of any `scheme://user:secret@host` in `text` with `***` (keeping the
 * user), and a token given as the user part (`scheme://token@host`) whole. A "user" that holds
 * `@`, `?` or `#` is not one (`https://tok@host:80?a@b` reads as far as the last `@`): then all of
 * it is hidden.
 */
export function redactText(text: string): string {
  return text.replace(CREDENTIALS, (_match, prefix: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    const user = colon < 0 ? undefined : userinfo.slice(0, colon);
    return user === undefined || /[@?#]/.test(user) ? `${prefix}***@` : `${prefix}${user}:***@`;
  });
}

/** How deep {@link redactError} follows a `cause` chain: deeper causes are dropped (undici nests two or three). */
const MAX_CAUSE_DEPTH = 8;

/**
 * `error` with the credentials of URLs ({@link redactText}) and each of `secrets` (an access
 * token) replaced by `***` in its message, its stack, its string fields and its `cause` chain:
 * the same object when there is nothing to hide, else a copy (an `Error` with the same name and
 * `code`). A library's error may quote a URL with its password (`fetch` refuses such URLs with
 * one) or a header with its token (an invalid header value); fs2 errors keep such errors as their
 * `cause`, which `util.inspect` and `console.error` print.
 */
export function redactError(error: unknown, secrets: readonly string[] = [], depth = 0): unknown {
  const hidden = secrets.filter((secret) => secret.length > 0);
  const redact = (text: string): string => hidden.reduce((t, secret) => t.split(secret).join('***'), redactText(text));
  if (typeof error === 'string') {
    return redact(error);
  }
  // `instanceof Error` fails for an error of another realm (a vm context, a worker's); the shape is enough.
  if (typeof error !== 'object' || error === null || typeof (error as { message?: unknown }).message !== 'string') {
    return error;
  }
  const { message, stack, cause: original } = error as Error;
  const cause = depth + 1 < MAX_CAUSE_DEPTH ? redactError(original, hidden, depth + 1) : undefined;
  const fields = Object.entries(error).filter(([key]) => key !== 'cause');
  const clean =
    redact(message) === message &&
    redact(stack ?? '') === (stack ?? '') &&
    cause === original &&
    fields.every(([, value]) => typeof value !== 'string' || redact(value) === value);
  if (clean) {
    return error;
  }
  const copy = new Error(redact(message), cause === undefined ? undefined : { cause });
  copy.name = (error as Error).name;
  copy.stack = redact(stack ?? '');
  for (const [key, value] of fields) {
    (copy as unknown as Record<string, unknown>)[key] = typeof value === 'string' ? redact(value) : value;
  }
  return copy;
}
