import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { posix, join } from 'node:path';
import type { Readable } from 'node:stream';

import { Parser, type ReadEntry } from 'tar';
import yauzl from 'yauzl';

import type { AssetUri } from '../AssetUri.js';
import type { DownloadFileSystem } from './DownloadFileSystem.js';
import { AssetDownloadError } from './errors.js';
import { toFileSystemError } from './faults.js';

/** The archive formats that downloads are extracted from. */
export type ArchiveFormat = 'zip' | 'tar' | 'tar.gz';

/**
 * The archive format a file name says (`.zip`, `.tar`, `.tar.gz` / `.tgz`, any case), or
 * `undefined`. Only the name decides, so that a weight file is never taken for an archive.
 */
export function detectArchiveFormat(filename: string): ArchiveFormat | undefined {
  const lower = filename.toLowerCase();
  if (lower.endsWith('.zip')) {
    return 'zip';
  }
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) {
    return 'tar.gz';
  }
  if (lower.endsWith('.tar')) {
    return 'tar';
  }
  return undefined;
}

/** Limits against archives that expand without end (zip bombs). */
export interface ArchiveLimits {
  /**
   * The most bytes an archive may expand to. Default: `maxRatio` times the archive's size, but
   * at least {@link MIN_EXTRACTED_BYTES_LIMIT} (1 GiB).
   */
  readonly maxExtractedBytes?: number;
  /**
   * The most an archive may expand, as a multiple of its own size, when `maxExtractedBytes` is
   * not given. Default: `100`. Deflate's ratio is at most 1032:1 (RFC 1951 stores at most 258
   * bytes per 2-bit-ish code), which bombs rely on; weights barely compress (about 1.1:1) and
   * text corpora reach 3:1 to 10:1 (the Canterbury corpus under gzip).
   */
  readonly maxRatio?: number;
  /**
   * The most entries an archive may hold (each costs an inode). Default: `2_000_000`, above
   * ImageNet-1k's 1 281 167 training images, a large file-per-sample dataset.
   */
  readonly maxEntries?: number;
}

/** Default floor of the extracted-size limit: 1 GiB, so that small archives are not held to tiny limits. */
export const MIN_EXTRACTED_BYTES_LIMIT = 1 << 30;
const DEFAULT_MAX_RATIO = 100;
const DEFAULT_MAX_ENTRIES = 2_000_000;

/** A regular file written by {@link extractArchive}. */
export interface ExtractedFile {
  /** Relative to the destination, `/`-separated. */
  readonly path: string;
  readonly size: number;
  /** SHA-256 of the content, lower-case hex. */
  readonly sha256: string;
}

/** Parameters of {@link extractArchive}. */
export interface ExtractArchiveParams {
  /** The asset, for messages. */
  readonly uri: AssetUri;
  readonly archive: string;
  readonly format: ArchiveFormat;
  /** An existing, empty folder. */
  readonly destination: string;
  readonly fs: DownloadFileSystem;
  readonly limits?: ArchiveLimits;
  /** The environment variable that moves the cache, for disk-full and permission messages. */
  readonly cacheVariable: string;
  /** Called with the size of every chunk written. */
  readonly onData?: (bytes: number) => void;
}

/**
 * Normalizes an entry name to a safe relative `/` path: `./` prefixes dropped, `\` taken as a
 * separator; `undefined` for the root itself. Absolute names, drive letters, `..` components and
 * NUL characters are refused (zip slip).
 */
export function safeEntryPath(name: string): { path: string | undefined } | { refused: string } {
  if (name.includes('\0')) {
    return { refused: 'contains a NUL character' };
  }
  const unified = name.replace(/\\/g, '/');
  if (unified.startsWith('/') || /^[A-Za-z]:/.test(unified)) {
    return { refused: 'is an absolute path' };
  }
  const parts = unified.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    return { refused: 'has a `..` component' };
  }
  return { path: parts.length === 0 ? undefined : parts.join('/') };
}

interface PendingLink {
  readonly path: string;
  readonly target: string;
}

/** The extraction of one archive: its safety checks and its limits. */
class Extraction {
  readonly files = new Map<string, ExtractedFile>();
  private readonly links: PendingLink[] = [];
  private readonly linkPaths = new Set<string>();
  private readonly madeDirs = new Set<string>();
  private written = 0;
  private entries = 0;

  constructor(
    private readonly params: ExtractArchiveParams,
    private readonly maxBytes: number,
    private readonly maxEntries: number,
  ) {}

  private get name(): string {
    return posix.basename(this.params.archive.replace(/\\/g, '/'));
  }

  unsafe(entry: string, why: string): AssetDownloadError {
    return new AssetDownloadError(
      this.params.uri,
      `The archive ${this.name} has an entry \`${entry}\` that ${why}; nothing was extracted.`,
      { code: 'unsafe_archive', path: this.params.archive },
    );
  }

  private tooLarge(): AssetDownloadError {
    return new AssetDownloadError(
      this.params.uri,
      `The archive ${this.name} expands to more than ${this.maxBytes} bytes, the extraction limit (a zip bomb?); nothing was extracted.`,
      { code: 'archive_too_large', path: this.params.archive, expected: String(this.maxBytes) },
    );
  }

  /** Counts an entry, and checks an announced size against the remaining budget. */
  count(announcedSize: number): void {
    this.entries += 1;
    if (this.entries > this.maxEntries) {
      throw new AssetDownloadError(
        this.params.uri,
        `The archive ${this.name} has more than ${this.maxEntries} entries, the extraction limit; nothing was extracted.`,
        { code: 'archive_too_large', path: this.params.archive, expected: String(this.maxEntries) },
      );
    }
    if (this.written + announcedSize > this.maxBytes) {
      throw this.tooLarge();
    }
  }

  /** The safe relative path of an entry, which must not pass through a link of the archive. */
  resolve(name: string): string | undefined {
    const result = safeEntryPath(name);
    if ('refused' in result) {
      throw this.unsafe(name, `${result.refused}, which would leave the extraction folder`);
    }
    if (result.path !== undefined) {
      const parts = result.path.split('/');
      for (let i = 1; i <= parts.length; i += 1) {
        if (this.linkPaths.has(parts.slice(0, i).join('/'))) {
          throw this.unsafe(name, `is written through the link \`${parts.slice(0, i).join('/')}\``);
        }
      }
    }
    return result.path;
  }

  private async ensureDir(relative: string): Promise<void> {
    if (relative === '.' || relative === '' || this.madeDirs.has(relative)) {
      return;
    }
    const absolute = join(this.params.destination, relative);
    await this.io(absolute, () => this.params.fs.mkdir(absolute));
    this.madeDirs.add(relative);
  }

  async directory(relative: string): Promise<void> {
    await this.ensureDir(relative);
  }

  async file(relative: string, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    await this.ensureDir(posix.dirname(relative));
    const absolute = join(this.params.destination, relative);
    const hash = createHash('sha256');
    let size = 0;
    const handle = await this.io(absolute, () => this.params.fs.open(absolute, 'truncate'));
    try {
      for await (const chunk of chunks) {
        if (this.written + chunk.byteLength > this.maxBytes) {
          throw this.tooLarge();
        }
        await this.io(absolute, () => handle.write(chunk));
        this.written += chunk.byteLength;
        size += chunk.byteLength;
        hash.update(chunk);
        this.params.onData?.(chunk.byteLength);
      }
    } finally {
      await handle.close().catch(() => undefined);
    }
    this.files.set(relative, { path: relative, size, sha256: hash.digest('hex') });
  }

  /** A hard link: a copy of an earlier regular file of the archive. */
  async hardLink(relative: string, name: string, target: string): Promise<void> {
    const source = safeEntryPath(target);
    if ('refused' in source || source.path === undefined) {
      throw this.unsafe(name, `links to \`${target}\`, outside the extraction folder`);
    }
    const original = this.files.get(source.path);
    if (original === undefined) {
      throw this.unsafe(name, `links to \`${target}\`, which is not a file extracted before it`);
    }
    await this.ensureDir(posix.dirname(relative));
    const absolute = join(this.params.destination, relative);
    if (this.written + original.size > this.maxBytes) {
      throw this.tooLarge();
    }
    await this.io(absolute, () => this.params.fs.copyFile(join(this.params.destination, source.path!), absolute));
    this.written += original.size;
    this.files.set(relative, { ...original, path: relative });
  }

  /** A symbolic link, checked now and created once every file is written. */
  symbolicLink(relative: string, name: string, target: string): void {
    if (target === '' || target.includes('\0') || target.startsWith('/') || /^[A-Za-z]:/.test(target)) {
      throw this.unsafe(name, `links to \`${target}\`, outside the extraction folder`);
    }
    this.links.push({ path: relative, target });
    this.linkPaths.add(relative);
  }

  /** Creates the symbolic links: each must resolve inside the folder without passing through another link. */
  async finish(): Promise<void> {
    for (const link of this.links) {
      const stack = posix.dirname(link.path) === '.' ? [] : posix.dirname(link.path).split('/');
      for (const part of link.target.replace(/\\/g, '/').split('/')) {
        if (part === '' || part === '.') {
          continue;
        }
        if (part === '..') {
          if (stack.length === 0) {
            throw this.unsafe(link.path, `links to \`${link.target}\`, outside the extraction folder`);
          }
          stack.pop();
          continue;
        }
        stack.push(part);
        if (this.linkPaths.has(stack.join('/'))) {
          throw this.unsafe(link.path, `links to \`${link.target}\` through another link of the archive`);
        }
      }
      await this.ensureDir(posix.dirname(link.path));
      const absolute = join(this.params.destination, link.path);
      if ((await this.params.fs.maybeStat(absolute, false)) !== undefined) {
        throw this.unsafe(link.path, 'is a link in place of an entry extracted before it');
      }
      await this.io(absolute, () => this.params.fs.symlink(link.target, absolute));
    }
  }

  private async io<T>(path: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw toFileSystemError(this.params.uri, error, path, this.params.cacheVariable, 'extracting into');
    }
  }
}

function invalidArchive(params: ExtractArchiveParams, error: unknown): AssetDownloadError {
  if (error instanceof AssetDownloadError) {
    return error;
  }
  const detail = error instanceof Error ? error.message : String(error);
  // fairseq2: "{file} cannot be extracted."
  return new AssetDownloadError(params.uri, `${params.archive} cannot be extracted (${detail}).`, {
    code: 'archive_invalid',
    path: params.archive,
    cause: error,
  });
}

/**
 * Extracts a `.zip` (read by `yauzl`) or a `.tar` / `.tar.gz` (parsed by `tar`) into
 * `destination`, writing every file through `fs`. The parsers are libraries; writing is ours so
 * that every entry is checked first:
 * - names that are absolute, hold `..` or are written through a link of the archive are refused
 *   (zip slip); so are symbolic links that resolve outside the folder or through another link,
 *   and devices and FIFOs; a hard link becomes a copy of the file it names;
 * - the bytes written and the entries are counted against {@link ArchiveLimits}.
 *
 * Returns the regular files written, with their SHA-256. On error, what was written is left for
 * the caller to remove.
 */
export async function extractArchive(params: ExtractArchiveParams): Promise<ExtractedFile[]> {
  const archiveSize = (await params.fs.maybeStat(params.archive))?.size ?? 0;
  const limits = params.limits ?? {};
  const maxBytes =
    limits.maxExtractedBytes ?? Math.max(MIN_EXTRACTED_BYTES_LIMIT, archiveSize * (limits.maxRatio ?? DEFAULT_MAX_RATIO));
  const extraction = new Extraction(params, maxBytes, limits.maxEntries ?? DEFAULT_MAX_ENTRIES);
  try {
    if (params.format === 'zip') {
      await extractZip(params, extraction);
    } else {
      await extractTar(params, extraction);
    }
    await extraction.finish();
  } catch (error) {
    throw invalidArchive(params, error);
  }
  return [...extraction.files.values()];
}

/** The Unix file type bits of a zip entry made on Unix (`S_IFMT` of the high half of the external attributes). */
function zipUnixType(entry: yauzl.Entry): number | undefined {
  // APPNOTE.TXT 4.4.2: the high byte of "version made by" is the host system; 3 is Unix.
  return entry.versionMadeBy >> 8 === 3 ? (entry.externalFileAttributes >>> 16) & 0o170000 : undefined;
}

const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

async function extractZip(params: ExtractArchiveParams, extraction: Extraction): Promise<void> {
  // `decodeStrings: false`: names are decoded and checked here, with the same rules as tar's.
  const zip = await yauzl.openPromise(params.archive, {
    decodeStrings: false,
    validateEntrySizes: true,
    autoClose: false,
  });
  try {
    for await (const entry of zip.eachEntry()) {
      const name = yauzl.getFileNameLowLevel(
        entry.generalPurposeBitFlag,
        entry.fileNameRaw,
        entry.extraFields,
        false,
      );
      extraction.count(entry.uncompressedSize);
      const relative = extraction.resolve(name);
      if (entry.isEncrypted()) {
        throw new Error(`entry \`${name}\` is encrypted`);
      }
      const type = zipUnixType(entry);
      if (name.endsWith('/') || type === S_IFDIR) {
        if (relative !== undefined) {
          await extraction.directory(relative);
        }
        continue;
      }
      if (relative === undefined) {
        throw extraction.unsafe(name, 'names the extraction folder itself');
      }
      const stream: Readable = await zip.openReadStreamPromise(entry);
      if (type === S_IFLNK) {
        const chunks: Buffer[] = [];
        for await (const chunk of stream) {
          chunks.push(chunk as Buffer);
        }
        extraction.symbolicLink(relative, name, Buffer.concat(chunks).toString('utf8'));
        continue;
      }
      if (type !== undefined && type !== S_IFREG && type !== 0) {
        stream.destroy();
        throw extraction.unsafe(name, `is a special file (mode ${type.toString(8)}), which is not extracted`);
      }
      await extraction.file(relative, stream as AsyncIterable<Uint8Array>);
    }
  } finally {
    if (zip.isOpen) {
      zip.close();
    }
  }
}

async function extractTar(params: ExtractArchiveParams, extraction: Extraction): Promise<void> {
  // gzip is detected by the parser from its magic bytes; our own limits replace tar's ratio check.
  const parser = new Parser({ strict: true, maxDecompressionRatio: Infinity });
  let failure: unknown;
  let failed!: (error: unknown) => void;
  const failedPromise = new Promise<never>((_, reject) => {
    failed = reject;
  });
  failedPromise.catch(() => undefined);
  const fail = (error: unknown): void => {
    if (failure === undefined) {
      failure = error;
      failed(error);
    }
  };
  let chain: Promise<void> = Promise.resolve();
  parser.on('entry', (entry: ReadEntry) => {
    chain = chain.then(async () => {
      if (failure !== undefined) {
        entry.resume();
        return;
      }
      try {
        await extractTarEntry(entry, extraction);
      } catch (error) {
        entry.resume();
        fail(error);
      }
    });
  });
  parser.on('error', fail);
  const ended = new Promise<void>((resolve) => parser.once('end', () => resolve()));
  for await (const chunk of params.fs.read(params.archive)) {
    if (failure !== undefined) {
      break;
    }
    if (!parser.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
      await Promise.race([once(parser, 'drain'), failedPromise]);
    }
  }
  if (failure === undefined) {
    parser.end();
    await Promise.race([ended, failedPromise]);
    await chain;
  }
  if (failure !== undefined) {
    throw failure;
  }
}

async function extractTarEntry(entry: ReadEntry, extraction: Extraction): Promise<void> {
  const name = entry.path;
  extraction.count(entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile' ? entry.size : 0);
  const relative = extraction.resolve(name);
  switch (entry.type) {
    case 'Directory':
    case 'GNUDumpDir':
      entry.resume();
      if (relative !== undefined) {
        await extraction.directory(relative);
      }
      return;
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      if (relative === undefined) {
        throw extraction.unsafe(name, 'names the extraction folder itself');
      }
      await extraction.file(relative, entry as AsyncIterable<Uint8Array>);
      return;
    case 'SymbolicLink':
      entry.resume();
      if (relative === undefined) {
        throw extraction.unsafe(name, 'names the extraction folder itself');
      }
      extraction.symbolicLink(relative, name, entry.linkpath ?? '');
      return;
    case 'Link':
      entry.resume();
      if (relative === undefined) {
        throw extraction.unsafe(name, 'names the extraction folder itself');
      }
      await extraction.hardLink(relative, name, entry.linkpath ?? '');
      return;
    default:
      entry.resume();
      throw extraction.unsafe(name, `is a ${entry.type} entry, which is not extracted`);
  }
}
