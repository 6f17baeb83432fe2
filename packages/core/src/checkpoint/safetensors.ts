import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';

import { NotSupportedError } from '../errors/Fs2Error.js';
import {
  STORAGE_DTYPE_BYTES,
  isFloatingDtype,
  isStorageDtype,
  widenToFloat32,
  type TensorArray,
} from './dtypes.js';
import { CheckpointReaderBase, type CheckpointTensorInfo, type TensorRowReader, type TensorSlice } from './CheckpointReader.js';
import { CheckpointError, CheckpointNotFoundError } from './errors.js';
import {
  FileRegionSource,
  READ_CHUNK_BYTES,
  contiguousStrides,
  readFully,
  readStridedView,
  sliceView,
  type StridedView,
} from './stridedRead.js';

/**
 * The largest header accepted: the safetensors reference implementation refuses headers over
 * 100,000,000 bytes (`MAX_HEADER_SIZE` in safetensors/src/tensor.rs), against files that would
 * make a reader allocate gigabytes for JSON.
 */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

/** One tensor's entry in a safetensors header. */
export interface SafetensorsTensorInfo extends CheckpointTensorInfo {
  /** Absolute offset of the first byte in the file. */
  readonly offset: number;
  readonly byteLength: number;
  /** Number of elements: the product of `shape` (1 for a scalar). */
  readonly numel: number;
}

/**
 * A safetensors file, read lazily: the header when opened, then each tensor (or a slice of it) on
 * request with positioned reads straight into the destination array. Never reads the whole file
 * into one buffer and never asks for more than {@link READ_CHUNK_BYTES} per read, so files over
 * 2 GiB work (offsets are plain numbers, exact up to 2^53) and the extra memory is one read chunk.
 *
 * Written by hand because no maintained npm package reads tensor data from a local file
 * (`@huggingface/hub` parses headers through the Hub protocol only; js-ecosystem.md §5).
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON
 * `{key: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then the data;
 * offsets are relative to the end of the header.
 */
export class SafetensorsReader extends CheckpointReaderBase {
  readonly format = 'safetensors';

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly infos: ReadonlyMap<string, SafetensorsTensorInfo>,
    /** The `__metadata__` string map (`{"format": "pt"}` in files written by PyTorch). */
    readonly metadata: Readonly<Record<string, string>>,
  ) {
    super();
  }

  /**
   * Opens `path` and validates its header: a bounded length, a JSON object, a known dtype and
   * a shape per tensor, sizes that match, offsets inside the data that neither overlap nor leave
   * gaps.
   *
   * @throws CheckpointError naming the file (and the tensor) when any of that fails.
   */
  static async open(path: string): Promise<SafetensorsReader> {
    if (endianness() !== 'LE') {
      throw new NotSupportedError('Reading safetensors files needs a little-endian machine.');
    }
    const handle = await openFile(path);
    try {
      const { infos, metadata } = await readHeader(path, handle);
      return new SafetensorsReader(path, handle, infos, metadata);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** The tensor keys, in file order. */
  keys(): string[] {
    return [...this.infos.keys()];
  }

  override has(key: string): boolean {
    return this.infos.has(key);
  }

  /** The header entry of `key`; throws {@link CheckpointError} when the file has no such tensor. */
  info(key: string): SafetensorsTensorInfo {
    const info = this.infos.get(key);
    if (info === undefined) {
      throw new CheckpointError(this.path, `${this.path} has no tensor named ${key}.`, key);
    }
    return info;
  }

  /**
   * Reads `key` as float32 (F32 as is; BF16, F16, F64 widened), into `into` when given (it must
   * hold exactly `numel` elements; a view of the wasm heap is fine) or into a new array.
   */
  async readFloat32(key: string, into?: Float32Array): Promise<Float32Array> {
    const info = this.info(key);
    if (!isFloatingDtype(info.dtype)) {
      throw new CheckpointError(
        this.path,
        `${key} in ${this.path} is of type ${info.dtype}, not a floating-point type.`,
        key,
      );
    }
    return (await this.read(key, into)) as Float32Array;
  }

  /** Reads an integer tensor as int32; a value that does not fit is an error naming it. */
  async readInt32(key: string, into?: Int32Array): Promise<Int32Array> {
    const info = this.info(key);
    if (isFloatingDtype(info.dtype)) {
      throw new CheckpointError(this.path, `${key} in ${this.path} is of type ${info.dtype}, not an integer type.`, key);
    }
    return (await this.read(key, into)) as Int32Array;
  }

  /** Raw bytes of `key`, as stored. */
  async readBytes(key: string): Promise<Uint8Array> {
    const info = this.info(key);
    const bytes = new Uint8Array(info.byteLength);
    await this.source(info).read(bytes, 0);
    return bytes;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /**
   * Synchronous row access to the floating-point tensor `key` (positioned reads on the open file:
   * F32 straight into the destination, other types through a buffer of at most
   * {@link READ_CHUNK_BYTES} and widened); `undefined` for an integer tensor or a scalar.
   */
  rowReader(key: string): TensorRowReader | undefined {
    const info = this.info(key);
    if (!isFloatingDtype(info.dtype) || info.shape.length === 0) {
      return undefined;
    }
    const rows = info.shape.length === 1 ? 1 : (info.shape[0] as number);
    const rowLength = rows === 0 ? 0 : info.numel / rows;
    const elementBytes = STORAGE_DTYPE_BYTES[info.dtype];
    const fd = this.handle.fd;
    const path = this.path;
    const readBytes = (target: Uint8Array, position: number): void => {
      let done = 0;
      while (done < target.length) {
        const want = Math.min(target.length - done, READ_CHUNK_BYTES);
        const bytesRead = readSync(fd, target, done, want, info.offset + position + done);
        if (bytesRead === 0) {
          throw new CheckpointError(path, `${path} is truncated: ${key} ends at byte ${info.offset + info.byteLength}, but the file is shorter.`, key);
        }
        done += bytesRead;
      }
    };
    return {
      rows,
      rowLength,
      read: (start, count, into) => {
        if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > rows) {
          throw new CheckpointError(path, `Cannot read rows [${start}, ${start + count}) of ${key} in ${path}: it has ${rows}.`, key);
        }
        const elements = count * rowLength;
        if (info.dtype === 'F32') {
          readBytes(new Uint8Array(into.buffer, into.byteOffset, elements * 4), start * rowLength * 4);
          return;
        }
        const chunk = Math.max(1, Math.floor(READ_CHUNK_BYTES / elementBytes));
        const buffer = new Uint8Array(Math.min(elements, chunk) * elementBytes);
        for (let done = 0; done < elements; done += chunk) {
          const n = Math.min(chunk, elements - done);
          const bytes = buffer.subarray(0, n * elementBytes);
          readBytes(bytes, (start * rowLength + done) * elementBytes);
          widenToFloat32(info.dtype, bytes, into, done, n);
        }
      },
    };
  }

  protected async readInto(info: CheckpointTensorInfo, slice: TensorSlice | undefined, out: TensorArray): Promise<void> {
    const entry = info as SafetensorsTensorInfo;
    let view: StridedView = { dtype: entry.dtype, offset: 0, shape: entry.shape, stride: contiguousStrides(entry.shape) };
    if (slice !== undefined) {
      view = sliceView(view, slice.dim, slice.start, slice.length);
    }
    await readStridedView(this.source(entry), view, out, { path: this.path, key: entry.key });
  }

  private source(info: SafetensorsTensorInfo): FileRegionSource {
    return new FileRegionSource(this.handle, info.offset, info.byteLength, { path: this.path, key: info.key });
  }
}

/** Opens `path` for reading; a missing file is a {@link CheckpointNotFoundError}. */
export async function openFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CheckpointNotFoundError(path, { cause: error });
    }
    throw error;
  }
}

async function readHeader(
  path: string,
  handle: FileHandle,
): Promise<{ infos: Map<string, SafetensorsTensorInfo>; metadata: Record<string, string> }> {
  const fileSize = (await handle.stat()).size;
  const fail = (reason: string, tensor?: string): never => {
    throw new CheckpointError(path, `${path} is not a valid safetensors file: ${reason}`, tensor);
  };
  if (fileSize < 8) {
    fail(`the file has ${fileSize} bytes, fewer than the 8-byte header length.`);
  }
  const prefix = Buffer.alloc(8);
  await readFully(handle, prefix, 0);
  const headerLength = prefix.readBigUInt64LE(0);
  if (headerLength > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
    fail(`the header length ${headerLength} exceeds the limit of ${SAFETENSORS_MAX_HEADER_BYTES} bytes.`);
  }
  const headerBytes = Number(headerLength);
  if (8 + headerBytes > fileSize) {
    fail(`the header length ${headerBytes} runs past the end of the file (${fileSize} bytes).`);
  }
  const raw = Buffer.alloc(headerBytes);
  await readFully(handle, raw, 8);
  let header: unknown;
  try {
    header = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    fail(`the header is not valid JSON (${(error as Error).message}).`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail('the header is not a JSON object.');
  }
  const dataStart = 8 + headerBytes;
  const dataSize = fileSize - dataStart;
  let metadata: Record<string, string> = {};
  const entries: SafetensorsTensorInfo[] = [];
  for (const [key, value] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') {
      metadata = parseMetadata(value, fail);
      continue;
    }
    entries.push(parseEntry(path, key, value, dataStart, fail));
  }
  entries.sort((a, b) => a.offset - b.offset);
  let expected = dataStart;
  for (const entry of entries) {
    if (entry.offset < expected) {
      fail(`the data of ${entry.key} overlaps the tensor before it.`, entry.key);
    }
    if (entry.offset > expected) {
      fail(`there is a gap of ${entry.offset - expected} bytes before ${entry.key}.`, entry.key);
    }
    expected = entry.offset + entry.byteLength;
  }
  if (expected - dataStart > dataSize) {
    const last = entries[entries.length - 1];
    fail(`${last?.key ?? 'the data'} ends at data offset ${expected - dataStart}, past the end of the data (${dataSize} bytes).`, last?.key);
  }
  return { infos: new Map(entries.map((e) => [e.key, e])), metadata };
}

function parseMetadata(value: unknown, fail: (reason: string) => never): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('`__metadata__` is not an object.');
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      fail(`\`__metadata__\` entry ${k} is not a string.`);
    }
  }
  return value as Record<string, string>;
}

function parseEntry(
  path: string,
  key: string,
  value: unknown,
  dataStart: number,
  fail: (reason: string, tensor?: string) => never,
): SafetensorsTensorInfo {
  if (typeof value !== 'object' || value === null) {
    fail(`the entry of ${key} is not an object.`, key);
  }
  const { dtype, shape, data_offsets: offsets } = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (!isStorageDtype(dtype)) {
    fail(`${key} has an unsupported dtype ${JSON.stringify(dtype)}.`, key);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    fail(`${key} has an invalid shape ${JSON.stringify(shape)}.`, key);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0) ||
    (offsets[0] as number) > (offsets[1] as number)
  ) {
    fail(`${key} has invalid data_offsets ${JSON.stringify(offsets)}.`, key);
  }
  let numel = 1;
  for (const d of shape as number[]) {
    numel *= d;
    if (!Number.isSafeInteger(numel)) {
      fail(`the shape of ${key} ${JSON.stringify(shape)} has more elements than can be counted.`, key);
    }
  }
  const [begin, end] = offsets as [number, number];
  const byteLength = numel * STORAGE_DTYPE_BYTES[dtype];
  if (!Number.isSafeInteger(byteLength)) {
    fail(`the shape of ${key} ${JSON.stringify(shape)} has more bytes than can be counted.`, key);
  }
  if (end - begin !== byteLength) {
    fail(
      `${key} is ${JSON.stringify(shape)} of ${dtype} (${byteLength} bytes), but its data_offsets span ${end - begin} bytes.`,
      key,
    );
  }
  return { key, dtype, shape: shape as number[], path, offset: dataStart + begin, byteLength, numel };
}
