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
      throw new InvalidArgumentError('uri', `${redactText(text)} is not a valid URI.`);
    }
    return uri;
  }

  /** The `file:` URI of `path`, resolved against `base` (default: the working directory) when relative. */
  static fromPath(path: string, base?: string): AssetUri {
    const absolute = isAbsolute(path) ? path : resolve(base ?? process.cwd(), path);
    return new AssetUri('file', pathToFileURL(absolute).href);
  }

  /** The local path of a `file:` URI. */
  toPath(): string {
    if (this.scheme !== 'file') {
      throw new InvalidArgumentError('uri', `${this.toString()} is not a \`file:\` URI and has no local path.`);
    }
    return fileURLToPath(this.href);
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
}

/** Replaces the password (or token) part of any `scheme://user:secret@host` in `text` with `***`. */
export function redactText(text: string): string {
  return text.replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/@\s:]*):([^/@\s]*)@/g, '$1$2:***@').replace(
    /([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/@\s:]+)@/g,
    '$1***@',
  );
}
