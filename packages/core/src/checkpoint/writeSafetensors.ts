import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { InvalidArgumentError } from '../errors/Fs2Error.js';
import { STORAGE_DTYPE_BYTES, encodeElements, isFloatingDtype, type StorageDtype, type TensorArray } from './dtypes.js';
import { SAFETENSORS_INDEX_FILE } from './SafetensorsFolderReader.js';
import { READ_CHUNK_BYTES, numelOf } from './stridedRead.js';

/** One tensor to write. */
export interface TensorToWrite {
  readonly key: string;
  readonly shape: readonly number[];
  /**
   * The type to store it as. Default: `F32` for Float32Array data, `I32` for Int32Array data.
   * Float data may be stored as F64, F32, F16 or BF16 (rounded to nearest even), int32 data as
   * I64, I32, I16, I8, U8 or BOOL (each value must fit).
   */
  readonly dtype?: StorageDtype;
  /**
   * The data, row-major, or a function that produces it when the tensor's turn comes, so that a
   * checkpoint can be streamed from a reader to a writer one tensor at a time.
   */
  readonly data: TensorArray | (() => Promise<TensorArray>);
}

/** Options of {@link writeShardedSafetensors}. */
export interface ShardedSafetensorsOptions {
  /**
   * The largest shard, in bytes of tensor data; a tensor bigger than this gets a shard of its own.
   * Default: 5,000,000,000 (`max_shard_size="5GB"`, the default of transformers' `save_pretrained`).
   */
  readonly maxShardBytes?: number;
  /** The `__metadata__` of every shard. Default: `{format: 'pt'}`, as PyTorch writers put. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** The shard name prefix: `<prefix>-00001-of-00002.safetensors`. Default: `model`. */
  readonly prefix?: string;
}

/** What {@link writeShardedSafetensors} wrote. */
export interface ShardedSafetensorsResult {
  /** The shard files, in order. */
  readonly files: readonly string[];
  /** The `model.safetensors.index.json` written last. */
  readonly indexPath: string;
  /** Bytes of tensor data over all shards (the index's `total_size`). */
  readonly totalSize: number;
}

/** The safetensors header is padded with spaces to a multiple of 8 bytes, as the reference does. */
const HEADER_ALIGNMENT = 8;

const DEFAULT_MAX_SHARD_BYTES = 5_000_000_000;

/**
 * Writes `tensors` to a safetensors file at `path`, atomically: the data goes to a temporary file
 * beside it, which is synced and renamed over `path` only once complete, so a reader never sees a
 * partial file and a failure leaves the old file (if any) in place. Tensors are written in the
 * order given, one at a time, each in chunks of at most 16 MiB, so memory stays at one tensor.
 *
 * @param metadata the `__metadata__` string map. Default: `{format: 'pt'}`.
 * @throws InvalidArgumentError naming the tensor when a key repeats, a shape is invalid, the data
 *   does not match the shape or cannot be stored as the dtype asked for.
 */
export async function writeSafetensors(
  path: string,
  tensors: Iterable<TensorToWrite>,
  metadata: Readonly<Record<string, string>> = { format: 'pt' },
): Promise<void> {
  const list = [...tensors];
  const planned = planTensors(list);
  await writeAtomically(path, async (handle) => {
    await writeFile(handle, planned, metadata);
  });
}

/**
 * Writes `tensors` as `<prefix>-0000i-of-0000n.safetensors` shards of at most `maxShardBytes` of
 * data each (filled in order) plus `model.safetensors.index.json`, in `dir` (created if needed).
 * Each file is written atomically ({@link writeSafetensors}); the index goes last, so a reader
 * that finds it finds every shard it names.
 */
export async function writeShardedSafetensors(
  dir: string,
  tensors: Iterable<TensorToWrite>,
  options: ShardedSafetensorsOptions = {},
): Promise<ShardedSafetensorsResult> {
  const maxShardBytes = options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  if (!Number.isSafeInteger(maxShardBytes) || maxShardBytes <= 0) {
    throw new InvalidArgumentError('maxShardBytes', `maxShardBytes must be a positive integer, not ${maxShardBytes}.`);
  }
  const prefix = options.prefix ?? 'model';
  if (prefix === '' || basename(prefix) !== prefix) {
    throw new InvalidArgumentError('prefix', `The shard prefix ${JSON.stringify(prefix)} is not a plain file name.`);
  }
  const planned = planTensors([...tensors]);
  const shards: PlannedTensor[][] = [];
  let current: PlannedTensor[] = [];
  let currentBytes = 0;
  for (const tensor of planned) {
    if (current.length > 0 && currentBytes + tensor.byteLength > maxShardBytes) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(tensor);
    currentBytes += tensor.byteLength;
  }
  if (current.length > 0 || shards.length === 0) {
    shards.push(current);
  }
  await mkdir(dir, { recursive: true });
  const count = shards.length;
  const width = Math.max(5, String(count).length);
  const files: string[] = [];
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${String(i + 1).padStart(width, '0')}-of-${String(count).padStart(width, '0')}.safetensors`;
    const file = join(dir, name);
    const shard = shards[i] as PlannedTensor[];
    await writeAtomically(file, async (handle) => {
      await writeFile(handle, shard, options.metadata ?? { format: 'pt' });
    });
    for (const tensor of shard) {
      weightMap[tensor.key] = name;
      totalSize += tensor.byteLength;
    }
    files.push(file);
  }
  const indexPath = join(dir, SAFETENSORS_INDEX_FILE);
  const index = `${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2)}\n`;
  await writeAtomically(indexPath, async (handle) => {
    await writeAll(handle, Buffer.from(index, 'utf8'), 0);
  });
  return { files, indexPath, totalSize };
}

interface PlannedTensor {
  readonly key: string;
  readonly shape: readonly number[];
  readonly dtype: StorageDtype;
  readonly numel: number;
  readonly byteLength: number;
  readonly data: TensorArray | (() => Promise<TensorArray>);
}

function planTensors(tensors: readonly TensorToWrite[]): PlannedTensor[] {
  const seen = new Set<string>();
  return tensors.map((tensor) => {
    const { key, shape } = tensor;
    if (key === '__metadata__' || seen.has(key)) {
      throw new InvalidArgumentError(
        'tensors',
        key === '__metadata__' ? 'A tensor cannot be named __metadata__ in a safetensors file.' : `The tensor ${key} is given twice.`,
      );
    }
    seen.add(key);
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new InvalidArgumentError('tensors', `The shape of ${key} [${shape.join(', ')}] is not a list of sizes.`);
    }
    const numel = numelOf(shape);
    const dtype = tensor.dtype ?? (tensor.data instanceof Int32Array ? 'I32' : 'F32');
    const byteLength = numel === undefined ? undefined : numel * STORAGE_DTYPE_BYTES[dtype];
    if (numel === undefined || byteLength === undefined || !Number.isSafeInteger(byteLength)) {
      throw new InvalidArgumentError('tensors', `The shape of ${key} [${shape.join(', ')}] has more elements than can be counted.`);
    }
    if (typeof tensor.data !== 'function') {
      checkData(key, dtype, numel, tensor.data);
    }
    return { key, shape, dtype, numel, byteLength, data: tensor.data };
  });
}

function checkData(key: string, dtype: StorageDtype, numel: number, data: TensorArray): void {
  if (isFloatingDtype(dtype) !== data instanceof Float32Array) {
    throw new InvalidArgumentError(
      'tensors',
      `${key} holds ${data instanceof Float32Array ? 'float32' : 'int32'} data, which cannot be stored as ${dtype}.`,
    );
  }
  if (data.length !== numel) {
    throw new InvalidArgumentError('tensors', `${key} has ${data.length} elements, but its shape needs ${numel}.`);
  }
}

async function writeFile(
  handle: FileHandle,
  tensors: readonly PlannedTensor[],
  metadata: Readonly<Record<string, string>>,
): Promise<void> {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    header['__metadata__'] = metadata;
  }
  let offset = 0;
  for (const t of tensors) {
    header[t.key] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.byteLength] };
    offset += t.byteLength;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / HEADER_ALIGNMENT) * HEADER_ALIGNMENT;
  if (padded !== json.length) {
    json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  }
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length), 0);
  await writeAll(handle, prefix, 0);
  await writeAll(handle, json, 8);
  let position = 8 + json.length;
  for (const t of tensors) {
    const data = typeof t.data === 'function' ? await t.data() : t.data;
    checkData(t.key, t.dtype, t.numel, data);
    const eb = STORAGE_DTYPE_BYTES[t.dtype];
    const chunkElements = Math.max(1, Math.floor(READ_CHUNK_BYTES / eb));
    const scratch = new Uint8Array(Math.min(t.numel, chunkElements) * eb);
    for (let done = 0; done < t.numel; ) {
      const n = Math.min(t.numel - done, chunkElements);
      const raw = scratch.subarray(0, n * eb);
      const bad = encodeElements(t.dtype, data, done, raw, n);
      if (bad >= 0) {
        throw new InvalidArgumentError(
          'tensors',
          `${t.key} holds ${data[done + bad]} at index ${done + bad}, which does not fit in ${t.dtype}.`,
        );
      }
      await writeAll(handle, raw, position);
      position += raw.length;
      done += n;
    }
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Runs `body` on a fresh temporary file beside `path`, then syncs it and renames it to `path`; on
 * any failure the temporary file is removed and `path` is left as it was.
 */
export async function writeAtomically(path: string, body: (handle: FileHandle) => Promise<void>): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx');
  let closed = false;
  try {
    await body(handle);
    await handle.datasync();
    await handle.close();
    closed = true;
    await rename(temp, path);
  } catch (error) {
    if (!closed) {
      await handle.close().catch(() => undefined);
    }
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}
