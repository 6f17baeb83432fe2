import { createHash, type Hash } from 'node:crypto';

import { InvalidArgumentError } from '../../errors/Fs2Error.js';
import type { DownloadFileSystem } from './DownloadFileSystem.js';

/** A parsed `sha256:<hex>` checksum. */
export interface Checksum {
  /** The algorithm; only `sha256` is accepted. */
  readonly algorithm: 'sha256';
  /** The digest, 64 lower-case hex digits. */
  readonly hex: string;
}

/**
 * Parses a card's `checksum` value, `sha256:<64 hex digits>` (upper-case digits are accepted and
 * lowered).
 *
 * @throws InvalidArgumentError when `text` is not of that form.
 */
export function parseChecksum(text: string): Checksum {
  const match = /^sha256:([0-9a-fA-F]{64})$/.exec(text.trim());
  if (match?.[1] === undefined) {
    throw new InvalidArgumentError(
      'checksum',
      `\`${text}\` is not a valid checksum: expected \`sha256:\` followed by 64 hexadecimal digits.`,
    );
  }
  return { algorithm: 'sha256', hex: match[1].toLowerCase() };
}

/** `sha256:<hex>`, the way checksums are written in cards and messages. */
export function formatChecksum(checksum: Checksum): string {
  return `${checksum.algorithm}:${checksum.hex}`;
}

/** The SHA-256 of a file (or of its first `end` bytes), as lower-case hex. */
export async function sha256File(fs: DownloadFileSystem, path: string, end?: number): Promise<string> {
  const hash = createHash('sha256');
  await updateFromFile(hash, fs, path, end);
  return hash.digest('hex');
}

/** Feeds a file (or its first `end` bytes) into `hash`. */
export async function updateFromFile(hash: Hash, fs: DownloadFileSystem, path: string, end?: number): Promise<void> {
  for await (const chunk of fs.read(path, end)) {
    hash.update(chunk);
  }
}

/**
 * A hash of a git blob: SHA-1 over `blob <size>\0` and the content. The Hugging Face Hub names
 * non-LFS files by it (their `oid`, and the `ETag` of their download), so it verifies them.
 */
export function createGitBlobHash(size: number): Hash {
  return createHash('sha1').update(`blob ${size}\0`);
}
