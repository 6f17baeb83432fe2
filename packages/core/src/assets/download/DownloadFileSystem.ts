import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';

/** A file opened for writing by a {@link DownloadFileSystem}. */
export interface DownloadFileHandle {
  /** Writes all of `data` at the end of what was written so far. */
  write(data: Uint8Array): Promise<void>;
  /** Closes the file; further writes are errors. */
  close(): Promise<void>;
}

/** The result of {@link DownloadFileSystem.maybeStat}. */
export interface DownloadFileStat {
  readonly size: number;
  readonly mtimeMs: number;
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly isSymbolicLink: boolean;
}

/**
 * The file-system operations the download managers and the archive extractor use, and nothing
 * else, so that a test can inject faults (a disk that fills up, a folder that refuses writes)
 * exactly where they would happen. Errors are Node's own (`code: 'ENOSPC'`, ...).
 */
export interface DownloadFileSystem {
  /** Creates `path` and its missing parents; an existing folder is fine. */
  mkdir(path: string): Promise<void>;
  /** Opens `path` for writing: `truncate` empties (or creates) it, `append` continues it. */
  open(path: string, mode: 'truncate' | 'append'): Promise<DownloadFileHandle>;
  /** The bytes of `path`, in chunks; `end` (exclusive) limits how many. */
  read(path: string, end?: number): AsyncIterable<Uint8Array>;
  /** The whole of a small file. */
  readFile(path: string): Promise<Uint8Array>;
  /** Replaces the content of a small file. */
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  /** Atomically renames `from` to `to` (same file system). */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file or a folder tree; a missing path is fine. */
  remove(path: string): Promise<void>;
  /** The status of `path`, following links (`lstat` when `followLinks` is false); `undefined` when missing. */
  maybeStat(path: string, followLinks?: boolean): Promise<DownloadFileStat | undefined>;
  /** The names in a folder. */
  readdir(path: string): Promise<string[]>;
  /** Creates a symbolic link at `path` whose content is `target`. */
  symlink(target: string, path: string): Promise<void>;
  /** Creates a hard link `path` to `existing`; fails with `EEXIST` when `path` exists (atomic). */
  link(existing: string, path: string): Promise<void>;
  /** Copies a file. */
  copyFile(from: string, to: string): Promise<void>;
  /** Sets the access and modification times of `path` (ms since the epoch). */
  utimes(path: string, atimeMs: number, mtimeMs: number): Promise<void>;
}

/** Chunk size of {@link StandardDownloadFileSystem.read}: 1 MiB, enough to keep hashing I/O-bound. */
const READ_CHUNK_BYTES = 1 << 20;

/** The {@link DownloadFileSystem} of `node:fs`. */
export class StandardDownloadFileSystem implements DownloadFileSystem {
  async mkdir(path: string): Promise<void> {
    await fsp.mkdir(path, { recursive: true });
  }

  async open(path: string, mode: 'truncate' | 'append'): Promise<DownloadFileHandle> {
    const handle = await fsp.open(path, mode === 'truncate' ? 'w' : 'a');
    return {
      write: async (data) => {
        let offset = 0;
        while (offset < data.byteLength) {
          const { bytesWritten } = await handle.write(data, offset, data.byteLength - offset);
          offset += bytesWritten;
        }
      },
      close: () => handle.close(),
    };
  }

  read(path: string, end?: number): AsyncIterable<Uint8Array> {
    if (end === 0) {
      return (async function* () {})();
    }
    return createReadStream(path, {
      highWaterMark: READ_CHUNK_BYTES,
      ...(end === undefined ? {} : { end: end - 1 }),
    }) as AsyncIterable<Uint8Array>;
  }

  async readFile(path: string): Promise<Uint8Array> {
    return fsp.readFile(path);
  }

  async writeFile(path: string, data: Uint8Array | string): Promise<void> {
    await fsp.writeFile(path, data);
  }

  async rename(from: string, to: string): Promise<void> {
    await fsp.rename(from, to);
  }

  async remove(path: string): Promise<void> {
    await fsp.rm(path, { recursive: true, force: true });
  }

  async maybeStat(path: string, followLinks = true): Promise<DownloadFileStat | undefined> {
    try {
      const s = followLinks ? await fsp.stat(path) : await fsp.lstat(path);
      return {
        size: s.size,
        mtimeMs: s.mtimeMs,
        isFile: s.isFile(),
        isDirectory: s.isDirectory(),
        isSymbolicLink: s.isSymbolicLink(),
      };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        return undefined;
      }
      throw error;
    }
  }

  async readdir(path: string): Promise<string[]> {
    return fsp.readdir(path);
  }

  async symlink(target: string, path: string): Promise<void> {
    await fsp.symlink(target, path);
  }

  async link(existing: string, path: string): Promise<void> {
    await fsp.link(existing, path);
  }

  async copyFile(from: string, to: string): Promise<void> {
    await fsp.copyFile(from, to);
  }

  async utimes(path: string, atimeMs: number, mtimeMs: number): Promise<void> {
    await fsp.utimes(path, atimeMs / 1000, mtimeMs / 1000);
  }
}
