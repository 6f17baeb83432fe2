import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

import yauzl from 'yauzl';

import { CheckpointError } from './errors.js';
import { FileRegionSource, readFully, type ByteSource, type ReadContext } from './stridedRead.js';

/**
 * The most entries an archive may declare. A torch checkpoint has one entry per storage plus a
 * few: a Llama 3.1 405B shard has 126 layers x 9 tensors + 3, about 1,140; the cap stops a forged
 * end-of-central-directory record from making the reader walk billions of entries.
 */
export const ZIP_MAX_ENTRIES = 1_000_000;

/**
 * The most a DEFLATE stream can expand: 1032 to 1 (zlib's technical details, "Maximum
 * Compression Factor"). An entry that declares more is a forged size (a zip bomb) and is refused
 * before anything is inflated.
 */
export const DEFLATE_MAX_RATIO = 1032;

/** One file of a zip archive, as its central directory describes it. */
export interface ZipEntryInfo {
  readonly name: string;
  /** 0 = STORED, 8 = DEFLATE; nothing else is read. */
  readonly compressionMethod: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
}

/**
 * A zip archive opened for random access: the central directory is parsed by `yauzl` (a
 * well-kept, streaming zip reader with zip64 support), then STORED entries are read with
 * positioned reads on the same file handle, never loading the archive into memory, and DEFLATE
 * entries through a bounded inflate stream. Sizes are checked here rather than by yauzl's
 * `validateEntrySizes`, so that every error names the entry: a STORED entry whose two sizes differ
 * is refused when the archive is opened, a DEFLATE entry that declares more than DEFLATE can
 * produce before it is inflated, and one that inflates to more or fewer bytes than it declares
 * while it is read.
 */
export class ZipArchive {
  private readonly dataStarts = new Map<string, number>();

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly reader: HandleReader,
    private readonly zip: yauzl.ZipFile,
    private readonly entries: ReadonlyMap<string, yauzl.Entry>,
  ) {}

  /**
   * Reads the central directory of the zip archive open on `handle` (the caller keeps ownership of
   * the handle and closes it after {@link close}).
   *
   * @throws CheckpointError naming `path` when the archive is truncated or malformed.
   */
  static async open(path: string, handle: FileHandle): Promise<ZipArchive> {
    const size = (await handle.stat()).size;
    const fail = (reason: string, cause?: unknown): never => {
      throw new CheckpointError(path, `${path} is not a valid zip archive: ${reason}`, undefined, cause === undefined ? undefined : { cause });
    };
    const reader = new HandleReader(handle);
    let zip: yauzl.ZipFile;
    try {
      zip = await yauzl.fromRandomAccessReaderPromise(reader, size, {
        lazyEntries: true,
        autoClose: false,
        decodeStrings: true,
        validateEntrySizes: false, // Checked below and in InflateSource, naming the entry.
        strictFileNames: false,
      });
    } catch (error) {
      return fail(describe(error), error);
    }
    if (zip.entryCount > ZIP_MAX_ENTRIES) {
      zip.close();
      fail(`it declares ${zip.entryCount} entries, more than the limit of ${ZIP_MAX_ENTRIES}.`);
    }
    const entries = new Map<string, yauzl.Entry>();
    try {
      for await (const entry of zip.eachEntry()) {
        if (entries.has(entry.fileName)) {
          fail(`the entry ${entry.fileName} appears twice.`);
        }
        // APPNOTE.TXT 4.4.8/4.4.9: a STORED entry's compressed and uncompressed sizes are equal
        // (plus the 12-byte header of traditional encryption, which is refused when read).
        const storedSize = entry.uncompressedSize + (entry.isEncrypted() ? 12 : 0);
        if (entry.compressionMethod === 0 && entry.compressedSize !== storedSize) {
          fail(
            `the STORED entry ${entry.fileName} declares ${entry.uncompressedSize} bytes, but ${entry.compressedSize} bytes are stored.`,
          );
        }
        entries.set(entry.fileName, entry);
      }
    } catch (error) {
      zip.close();
      if (error instanceof CheckpointError) {
        throw error;
      }
      fail(describe(error), error);
    }
    return new ZipArchive(path, handle, reader, zip, entries);
  }

  /** Every entry name, in central-directory order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The entry `name`, or `undefined` when the archive has none. */
  maybeEntry(name: string): ZipEntryInfo | undefined {
    const entry = this.entries.get(name);
    return entry === undefined
      ? undefined
      : {
          name,
          compressionMethod: entry.compressionMethod,
          compressedSize: entry.compressedSize,
          uncompressedSize: entry.uncompressedSize,
        };
  }

  /**
   * A random-access source of the uncompressed bytes of `name`: positioned reads of the file for a
   * STORED entry, a forward-only bounded inflate for a DEFLATE entry (reading backwards restarts
   * it). `context` names the tensor in errors.
   */
  async source(name: string, context: ReadContext): Promise<ByteSource> {
    const entry = this.entries.get(name);
    if (entry === undefined) {
      throw new CheckpointError(this.path, `${this.path} has no entry ${name}.`, context.key);
    }
    if (entry.isEncrypted()) {
      throw new CheckpointError(this.path, `The entry ${name} of ${this.path} is encrypted.`, context.key);
    }
    if (entry.compressionMethod === 0) {
      const start = await this.dataStart(entry, context);
      return new FileRegionSource(this.handle, start, entry.uncompressedSize, context);
    }
    if (entry.compressionMethod === 8) {
      if (entry.uncompressedSize > Math.max(entry.compressedSize, 1) * DEFLATE_MAX_RATIO) {
        throw new CheckpointError(
          this.path,
          `The entry ${name} of ${this.path} declares ${entry.uncompressedSize} bytes from ${entry.compressedSize} compressed bytes, more than DEFLATE can produce.`,
          context.key,
        );
      }
      await this.dataStart(entry, context);
      return new InflateSource(this, entry, context);
    }
    throw new CheckpointError(
      this.path,
      `The entry ${name} of ${this.path} uses compression method ${entry.compressionMethod}; only STORED (0) and DEFLATE (8) are read.`,
      context.key,
    );
  }

  /** The whole entry `name`, which must be at most `maxBytes` long. */
  async readEntry(name: string, maxBytes: number): Promise<Uint8Array> {
    const entry = this.maybeEntry(name);
    const context = { path: this.path, key: name };
    if (entry !== undefined && entry.uncompressedSize > maxBytes) {
      throw new CheckpointError(
        this.path,
        `The entry ${name} of ${this.path} has ${entry.uncompressedSize} bytes, more than the limit of ${maxBytes}.`,
      );
    }
    const source = await this.source(name, context);
    try {
      const bytes = new Uint8Array(source.byteLength);
      await source.read(bytes, 0);
      return bytes;
    } finally {
      source.close?.();
    }
  }

  /**
   * Releases yauzl's hold on the file; the caller closes the handle. A stream still open on an
   * entry reads nothing more (it would read a closed file, and its error would escape).
   */
  close(): void {
    this.reader.closed = true;
    this.zip.close();
  }

  /** @internal A fresh inflating stream over `entry`. */
  openInflateStream(entry: yauzl.Entry): Promise<Readable> {
    return this.zip.openReadStreamPromise(entry);
  }

  private async dataStart(entry: yauzl.Entry, context: ReadContext): Promise<number> {
    const known = this.dataStarts.get(entry.fileName);
    if (known !== undefined) {
      return known;
    }
    let start: number;
    try {
      start = (await this.zip.readLocalFileHeaderPromise(entry, { minimal: true })).fileDataStart;
    } catch (error) {
      throw new CheckpointError(
        this.path,
        `${this.path} is not a valid zip archive: the entry ${entry.fileName} is damaged (${describe(error)}).`,
        context.key,
        { cause: error },
      );
    }
    this.dataStarts.set(entry.fileName, start);
    return start;
  }
}

/**
 * The message of an error from yauzl or zlib, fit for a sentence: control characters escaped (a
 * damaged name may hold any byte), a final period. Errors from Node's own
 * modules may come from another realm (jest's sandbox), so the message is read by shape.
 */
function describe(error: unknown): string {
  const raw = (error as { message?: unknown } | null)?.message;
  const message = (typeof raw === 'string' ? raw : String(error)).replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return message.endsWith('.') ? message : `${message}.`;
}

/**
 * The block {@link HandleReader} reads ahead for yauzl's small reads (64 KiB): yauzl reads each
 * central-directory entry with two reads (its 46 fixed bytes, then its name and extra fields) and
 * each local header with one, so an archive of 1,140 storages (a Llama 3.1 405B shard) took about
 * 2,300 reads to open; with the block, about 4.
 */
const READ_AHEAD_BYTES = 64 * 1024;

/**
 * yauzl's random-access reader over a `FileHandle` this module owns, so that yauzl never closes
 * the file descriptor itself (its own fd reader closes it when its reference count drops to zero).
 * Reads of at most {@link READ_AHEAD_BYTES} are served from the last block read.
 */
class HandleReader extends yauzl.RandomAccessReader {
  /** The last block read: its position in the file, its bytes (fewer at the end of the file). */
  private block: { readonly start: number; readonly bytes: Buffer } | undefined;

  /** Set by {@link ZipArchive.close}, before the caller closes the handle: streams stop reading. */
  closed = false;

  constructor(private readonly handle: FileHandle) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const handle = this.handle;
    const reader = this;
    const stream = Readable.from(
      (async function* () {
        for (let position = start; position < end; ) {
          if (reader.closed) {
            return; // Nobody reads this stream any more (found by npm run fuzz: "file closed" escaped).
          }
          const chunk = Buffer.alloc(Math.min(end - position, 1024 * 1024));
          const got = await readFully(handle, chunk, position);
          if (got === 0) {
            return;
          }
          yield chunk.subarray(0, got);
          position += got;
        }
      })(),
      { objectMode: false },
    );
    // yauzl stops forwarding this stream's errors once it has destroyed its own streams; a read
    // still in flight then (the file closed by a reader that gave up on a damaged entry: "file
    // closed") would be an unhandled 'error' event that kills the process. Found by
    // `npm run fuzz -- --target torch`. While yauzl listens, its listener still gets the error.
    stream.on('error', () => {});
    return stream;
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    // yauzl's own readers call back with `(error, bytesRead)` and check the count itself.
    const done = callback as (err: Error | null, bytesRead?: number) => void;
    this.readAhead(buffer.subarray(offset, offset + length), position).then(
      (got) => done(null, got),
      (error: unknown) => done(error as Error),
    );
  }

  private async readAhead(target: Buffer, position: number): Promise<number> {
    if (target.length > READ_AHEAD_BYTES) {
      return readFully(this.handle, target, position);
    }
    let block = this.block;
    const inside = (b: { start: number; bytes: Buffer }): boolean =>
      position >= b.start && (position + target.length <= b.start + b.bytes.length || b.bytes.length < READ_AHEAD_BYTES);
    if (block === undefined || !inside(block)) {
      const bytes = Buffer.alloc(READ_AHEAD_BYTES);
      const got = await readFully(this.handle, bytes, position);
      block = { start: position, bytes: bytes.subarray(0, got) };
      this.block = block;
    }
    const from = position - block.start;
    if (from >= block.bytes.length) {
      return 0; // At or past the end of the file (a damaged directory points there): yauzl reports it.
    }
    const n = Math.min(target.length, block.bytes.length - from);
    block.bytes.copy(target, 0, from, from + n);
    return n;
  }

  override close(callback: (err: Error | null) => void): void {
    setImmediate(() => callback(null));
  }
}

/**
 * The bytes of a DEFLATE entry, inflated on demand. Reads are expected to move forward (a tensor
 * read chunk by chunk); a read before the current position starts the stream again. The output is
 * counted: a stream that yields more than the entry declares (noticed at the latest when a read
 * reaches the last byte, which checks that the stream ends there) or ends before it is damaged.
 */
class InflateSource implements ByteSource {
  readonly byteLength: number;
  private iterator: AsyncIterator<Buffer> | undefined;
  private stream: Readable | undefined;
  /** Uncompressed position of the first byte of `pending`. */
  private position = 0;
  /** Bytes the current stream has yielded. */
  private inflated = 0;
  private pending: Buffer = Buffer.alloc(0);

  constructor(
    private readonly archive: ZipArchive,
    private readonly entry: yauzl.Entry,
    private readonly context: ReadContext,
  ) {
    this.byteLength = entry.uncompressedSize;
  }

  async read(target: Uint8Array, position: number): Promise<void> {
    if (position < 0 || position + target.length > this.byteLength) {
      throw new CheckpointError(
        this.context.path,
        `A read of ${target.length} bytes at byte ${position} of ${this.context.key} in ${this.context.path} runs past its ${this.byteLength} bytes.`,
        this.context.key,
      );
    }
    if (target.length === 0 && position < this.byteLength) {
      return; // No stream to open for nothing (the end of an entry is still checked: below).
    }
    if (this.iterator === undefined || position < this.position) {
      await this.restart();
    }
    let done = 0;
    while (done < target.length) {
      if (this.pending.length === 0) {
        const next = await this.next();
        this.pending = next;
      }
      const skip = position + done - this.position;
      if (skip >= this.pending.length) {
        this.position += this.pending.length;
        this.pending = Buffer.alloc(0);
        continue;
      }
      const take = Math.min(this.pending.length - skip, target.length - done);
      target.set(this.pending.subarray(skip, skip + take), done);
      done += take;
      // Keep what is after the copied bytes; drop the rest.
      this.position += skip + take;
      this.pending = this.pending.subarray(skip + take);
    }
    if (position + target.length === this.byteLength) {
      await this.expectEnd();
    }
  }

  close(): void {
    this.stream?.destroy();
    this.stream = undefined;
    this.iterator = undefined;
  }

  private async restart(): Promise<void> {
    this.stream?.destroy();
    try {
      this.stream = await this.archive.openInflateStream(this.entry);
    } catch (error) {
      throw this.damaged(error);
    }
    // yauzl forwards zlib's errors to this stream a tick later (setImmediate), also after the
    // bytes that were asked for have been read and nobody iterates any more: without a listener
    // of its own, such an error (a stream cut short, "unexpected end of file") would be an
    // unhandled 'error' event that kills the process. Found by `npm run fuzz -- --target torch`.
    // Errors met while iterating still reach `next()` through the iterator's own listener.
    this.stream.on('error', () => {});
    this.iterator = this.stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    this.position = 0;
    this.inflated = 0;
    this.pending = Buffer.alloc(0);
  }

  /** After the last declared byte: the stream must hold nothing more. */
  private async expectEnd(): Promise<void> {
    if (this.pending.length > 0) {
      throw this.tooLong();
    }
    let result: IteratorResult<Buffer>;
    try {
      result = await (this.iterator as AsyncIterator<Buffer>).next();
    } catch (error) {
      throw this.damaged(error);
    }
    if (result.done !== true) {
      this.inflated += result.value.length;
      throw this.tooLong();
    }
  }

  private tooLong(): CheckpointError {
    return this.damaged(new Error(`it inflates to at least ${this.inflated} bytes, more than the ${this.byteLength} it declares`));
  }

  private async next(): Promise<Buffer> {
    let result: IteratorResult<Buffer>;
    try {
      result = await (this.iterator as AsyncIterator<Buffer>).next();
    } catch (error) {
      throw this.damaged(error);
    }
    if (result.done === true) {
      throw this.damaged(new Error(`the stream ends after ${this.inflated} of the ${this.byteLength} bytes it declares`));
    }
    this.inflated += result.value.length;
    if (this.inflated > this.byteLength) {
      throw this.tooLong();
    }
    return result.value;
  }

  private damaged(cause: unknown): CheckpointError {
    return new CheckpointError(
      this.context.path,
      `The DEFLATE entry ${this.entry.fileName} of ${this.context.path} is damaged: ${describe(cause)}`,
      this.context.key,
      { cause },
    );
  }
}
