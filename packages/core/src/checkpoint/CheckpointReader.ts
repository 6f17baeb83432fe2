import { InvalidArgumentError } from '../errors/Fs2Error.js';
import type { StorageDtype, TensorArray } from './dtypes.js';
import { CheckpointError } from './errors.js';
import { destinationFor, numelOf } from './stridedRead.js';

/** What a checkpoint says about one tensor, before any data is read. */
export interface CheckpointTensorInfo {
  readonly key: string;
  /** The full (logical) shape: for tensor-parallel checkpoints, the shards put back together. */
  readonly shape: readonly number[];
  /** The type the data is stored as; it is read as float32 or int32 ({@link TensorArray}). */
  readonly dtype: StorageDtype;
  /** The file that holds the tensor (the first shard's, for a sharded one). */
  readonly path: string;
}

/** One tensor, read: what {@link CheckpointReader.iterTensors} yields. */
export interface CheckpointTensor {
  readonly key: string;
  readonly shape: readonly number[];
  readonly dtype: StorageDtype;
  /** Float32Array for floating types (F64, F32, F16, BF16), Int32Array for integer and bool types. */
  readonly data: TensorArray;
}

/**
 * Synchronous access to the rows of one floating-point tensor (a row: one index of dim 0, the
 * product of the other dims; a 1-D tensor is a single row), read as float32 straight into the
 * caller's array: how a loader streams weights into place (a view of the wasm heap, a kernel
 * memory) without a whole-tensor copy in between.
 */
export interface TensorRowReader {
  /** Rows of the tensor (dim 0; 1 for a 1-D tensor). */
  readonly rows: number;
  /** Floats per row. */
  readonly rowLength: number;
  /**
   * Reads rows `[start, start + count)` into `into` (at least `count * rowLength` floats).
   *
   * @throws CheckpointError when the file is shorter than its header says.
   */
  read(start: number, count: number, into: Float32Array): void;
}

/**
 * A checkpoint opened for lazy reading: the keys and shapes are known, each tensor's data is read
 * on request with positioned reads, one tensor at a time. Every format (safetensors single file,
 * folder or index; torch `.pt`/`.pth`/`.bin`; Meta `consolidated.NN.pth`; fairseq2 native
 * `pp_00/tp_NN/sdp_NN.pt`) is read through this one interface.
 */
export interface CheckpointReader {
  /** The file or folder the checkpoint was opened from. */
  readonly path: string;
  /** The format that read it: `safetensors`, `torch`, `meta`, `fairseq2` or an extension's. */
  readonly format: string;
  /** Every tensor key, in the checkpoint's order. */
  keys(): string[];
  has(key: string): boolean;
  /** Shape, dtype and file of `key`; throws {@link CheckpointError} naming the key when absent. */
  info(key: string): CheckpointTensorInfo;
  /** The full shape of `key` (a fresh array). */
  shape(key: string): number[];
  /**
   * Reads `key` whole, into `into` when given (a Float32Array for floating types, an Int32Array
   * otherwise, of exactly the tensor's size: a view of the wasm heap is fine) or a new array.
   */
  read(key: string, into?: TensorArray): Promise<TensorArray>;
  /**
   * Reads `[start, start + length)` along `dim` of `key` and nothing else: along dim 0 a contiguous
   * range, along another dim a column block. This is how a tensor-parallel rank reads its shard.
   */
  readSlice(key: string, dim: number, start: number, length: number, into?: TensorArray): Promise<TensorArray>;
  /** Yields the tensors (all, or those of `keys`, in that order) one at a time. */
  iterTensors(keys?: Iterable<string>): AsyncIterableIterator<CheckpointTensor>;
  /**
   * Synchronous row access to the floating-point tensor `key`, when the format stores it
   * contiguously in a plain file (safetensors); `undefined` otherwise (read it with {@link read}).
   */
  rowReader?(key: string): TensorRowReader | undefined;
  /** Releases the files. Reading afterwards fails. */
  close(): Promise<void>;
}

/** A `[start, start + length)` range along `dim`. */
export interface TensorSlice {
  readonly dim: number;
  readonly start: number;
  readonly length: number;
}

/**
 * The shared half of every {@link CheckpointReader}: argument checks, destination allocation and
 * iteration. A format supplies {@link keys}, {@link info}, {@link readInto} and {@link close}.
 */
export abstract class CheckpointReaderBase implements CheckpointReader {
  abstract readonly path: string;
  abstract readonly format: string;
  abstract keys(): string[];
  abstract info(key: string): CheckpointTensorInfo;
  abstract close(): Promise<void>;

  /**
   * Reads the tensor `info` (or its `slice`) into `out`, which has exactly the right kind and
   * size. The slice, when given, has been checked against the shape.
   */
  protected abstract readInto(info: CheckpointTensorInfo, slice: TensorSlice | undefined, out: TensorArray): Promise<void>;

  has(key: string): boolean {
    return this.keys().includes(key);
  }

  shape(key: string): number[] {
    return [...this.info(key).shape];
  }

  async read(key: string, into?: TensorArray): Promise<TensorArray> {
    const info = this.info(key);
    const out = destinationFor(info.dtype, countElements(info), into, { path: info.path, key });
    await this.readInto(info, undefined, out);
    return out;
  }

  async readSlice(key: string, dim: number, start: number, length: number, into?: TensorArray): Promise<TensorArray> {
    const info = this.info(key);
    checkSlice(info, dim, start, length);
    const shape = [...info.shape];
    shape[dim] = length;
    const out = destinationFor(info.dtype, countElements({ ...info, shape }), into, { path: info.path, key });
    await this.readInto(info, { dim, start, length }, out);
    return out;
  }

  async *iterTensors(keys?: Iterable<string>): AsyncIterableIterator<CheckpointTensor> {
    for (const key of keys ?? this.keys()) {
      const info = this.info(key);
      yield { key, shape: info.shape, dtype: info.dtype, data: await this.read(key) };
    }
  }
}

/** The element count of a tensor; a shape whose product is not a safe integer is an error. */
export function countElements(info: Pick<CheckpointTensorInfo, 'key' | 'shape' | 'path'>): number {
  const numel = numelOf(info.shape);
  if (numel === undefined) {
    throw new CheckpointError(
      info.path,
      `The shape of ${info.key} [${info.shape.join(', ')}] in ${info.path} has more elements than can be counted.`,
      info.key,
    );
  }
  return numel;
}

/** Checks that `[start, start + length)` along `dim` lies inside the tensor. */
export function checkSlice(info: CheckpointTensorInfo, dim: number, start: number, length: number): void {
  if (!Number.isInteger(dim) || dim < 0 || dim >= info.shape.length) {
    throw new InvalidArgumentError(
      'dim',
      `Cannot slice ${info.key} of ${info.path} along dim ${dim}: the tensor has ${info.shape.length} dims.`,
    );
  }
  const size = info.shape[dim] as number;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 0 || start + length > size) {
    throw new InvalidArgumentError(
      'start',
      `Cannot read [${start}, ${start + length}) along dim ${dim} of ${info.key} in ${info.path}: the dim has size ${size}.`,
    );
  }
}
