import type { FileHandle } from 'node:fs/promises';

import { InvalidArgumentError } from '../errors/Fs2Error.js';
import {
  STORAGE_DTYPE_BYTES,
  isFloatingDtype,
  narrowToInt32,
  widenToFloat32,
  type StorageDtype,
  type TensorArray,
} from './dtypes.js';
import { CheckpointError } from './errors.js';

/**
 * Bytes per positioned read (16 MiB). It bounds the scratch buffer used while widening bf16/f16 and
 * keeps every single `read()` far below Node's 2 GiB limit per call (js-ecosystem.md §2.2).
 */
export const READ_CHUNK_BYTES = 16 * 1024 * 1024;

/** A random-access source of a storage's raw bytes (a file region, a zip entry). */
export interface ByteSource {
  /** Size of the storage in bytes. */
  readonly byteLength: number;
  /**
   * Fills `target` with the bytes at `[position, position + target.length)` of the storage.
   * Throws a {@link CheckpointError} when the underlying file is shorter than declared.
   */
  read(target: Uint8Array, position: number): Promise<void>;
  /** Releases what the source holds (an inflate stream); reading afterwards is not allowed. */
  close?(): void;
}

/** The names an error should carry: the file and the tensor. */
export interface ReadContext {
  readonly path: string;
  readonly key: string;
}

/** A region `[base, base + byteLength)` of an open file, read with positioned reads. */
export class FileRegionSource implements ByteSource {
  constructor(
    private readonly handle: FileHandle,
    private readonly base: number,
    readonly byteLength: number,
    private readonly context: ReadContext,
  ) {}

  async read(target: Uint8Array, position: number): Promise<void> {
    const length = target.length;
    if (position < 0 || position + length > this.byteLength) {
      throw new CheckpointError(
        this.context.path,
        `A read of ${length} bytes at byte ${position} of ${this.context.key} in ${this.context.path} runs past its ${this.byteLength} bytes.`,
        this.context.key,
      );
    }
    let done = 0;
    while (done < length) {
      const want = Math.min(length - done, READ_CHUNK_BYTES);
      const at = this.base + position + done;
      const { bytesRead } = await this.handle.read(target, done, want, at);
      if (bytesRead === 0) {
        const { size } = await this.handle.stat();
        throw new CheckpointError(
          this.context.path,
          `${this.context.path} is truncated: ${this.context.key} ends at byte ${this.base + this.byteLength}, but the file ends at byte ${size}.`,
          this.context.key,
        );
      }
      done += bytesRead;
    }
  }
}

/**
 * Reads `target.length` bytes at `position` of `handle`, in chunks; returns how many bytes were
 * there (fewer than asked only at the end of the file).
 */
export async function readFully(handle: FileHandle, target: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < target.length) {
    const want = Math.min(target.length - done, READ_CHUNK_BYTES);
    const { bytesRead } = await handle.read(target, done, want, position + done);
    if (bytesRead === 0) {
      break;
    }
    done += bytesRead;
  }
  return done;
}

/** A strided view of a storage, in elements: how torch describes a tensor. */
export interface StridedView {
  readonly dtype: StorageDtype;
  /** Offset of element [0, ..., 0] in the storage, in elements. */
  readonly offset: number;
  readonly shape: readonly number[];
  /** Elements to skip per step along each dim; `contiguousStrides(shape)` for a dense tensor. */
  readonly stride: readonly number[];
}

/** Row-major strides of a dense tensor of `shape`. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let step = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    stride[d] = step;
    step *= shape[d] as number;
  }
  return stride;
}

/** The product of `shape`, or `undefined` when it is not a safe integer. */
export function numelOf(shape: readonly number[]): number | undefined {
  let numel = 1;
  for (const d of shape) {
    numel *= d;
  }
  return Number.isSafeInteger(numel) ? numel : undefined;
}

/**
 * `view` narrowed to `[start, start + length)` along `dim`: the same storage, a moved offset and
 * a smaller shape. The caller checks the bounds.
 */
export function sliceView(view: StridedView, dim: number, start: number, length: number): StridedView {
  const shape = [...view.shape];
  shape[dim] = length;
  return { dtype: view.dtype, offset: view.offset + start * (view.stride[dim] as number), shape, stride: view.stride };
}

/**
 * Checks `into` (when given) against the tensor's kind and size, or allocates the destination.
 */
export function destinationFor(
  dtype: StorageDtype,
  numel: number,
  into: TensorArray | undefined,
  context: ReadContext,
): TensorArray {
  const floating = isFloatingDtype(dtype);
  if (into === undefined) {
    return floating ? new Float32Array(numel) : new Int32Array(numel);
  }
  if (floating !== into instanceof Float32Array) {
    throw new InvalidArgumentError(
      'into',
      `The destination of ${context.key} is ${into instanceof Float32Array ? 'a Float32Array' : 'an Int32Array'}, but the tensor is of type ${dtype}, read as ${floating ? 'float32' : 'int32'}.`,
    );
  }
  if (into.length !== numel) {
    throw new InvalidArgumentError(
      'into',
      `The destination of ${context.key} holds ${into.length} elements, but the tensor has ${numel}.`,
    );
  }
  return into;
}

/** Converts `count` raw elements into `out[outOffset...]`, failing on an integer that does not fit. */
function decode(
  dtype: StorageDtype,
  raw: Uint8Array,
  out: TensorArray,
  outOffset: number,
  count: number,
  context: ReadContext,
): void {
  if (out instanceof Float32Array) {
    widenToFloat32(dtype, raw, out, outOffset, count);
    return;
  }
  const bad = narrowToInt32(dtype, raw, out, outOffset, count);
  if (bad >= 0) {
    throw new CheckpointError(
      context.path,
      `${context.key} in ${context.path} holds a value at index ${outOffset + bad} that does not fit in int32.`,
      context.key,
    );
  }
}

/** Dims of size 1 dropped, then neighbours that are contiguous with each other merged. */
function canonicalDims(shape: readonly number[], stride: readonly number[]): { size: number; stride: number }[] {
  const dims: { size: number; stride: number }[] = [];
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d] as number;
    if (size === 1) {
      continue;
    }
    const s = stride[d] as number;
    const last = dims[dims.length - 1];
    if (last !== undefined && last.stride === size * s) {
      last.size *= size;
      last.stride = s;
    } else {
      dims.push({ size, stride: s });
    }
  }
  return dims;
}

/**
 * Reads `view` of the storage behind `source` into `out` (row-major, `numel` elements), widening
 * floating types to float32 and narrowing integer types to int32.
 *
 * - A dense range (after merging contiguous dims) is read chunk by chunk straight into `out`: the
 *   extra memory is one {@link READ_CHUNK_BYTES} chunk (none for F32 and I32).
 * - Otherwise, when the bytes the view spans are at most twice its own size, or one chunk (a
 *   transposed or permuted tensor, a column block of half a matrix), the span is read once and
 *   gathered.
 * - Otherwise (a narrow column block of a wide matrix) the view is split along its outermost dim
 *   into groups that span at most one chunk each, read and gathered one group at a time.
 */
export async function readStridedView(
  source: ByteSource,
  view: StridedView,
  out: TensorArray,
  context: ReadContext,
  chunkBytes: number = READ_CHUNK_BYTES,
): Promise<void> {
  if (out.length === 0) {
    return;
  }
  const reader: ChunkedReader = { source, dtype: view.dtype, context, chunkElements: Math.max(1, Math.floor(chunkBytes / STORAGE_DTYPE_BYTES[view.dtype])) };
  await readDims(reader, view.offset, canonicalDims(view.shape, view.stride), out, 0);
}

/** What every step of a read shares. `chunkElements` bounds each read and scratch buffer. */
interface ChunkedReader {
  readonly source: ByteSource;
  readonly dtype: StorageDtype;
  readonly context: ReadContext;
  readonly chunkElements: number;
}

type Dim = { readonly size: number; readonly stride: number };

function spanOf(dims: readonly Dim[]): number {
  let span = 1;
  for (const d of dims) {
    span += (d.size - 1) * d.stride;
  }
  return span;
}

function numelOfDims(dims: readonly Dim[]): number {
  let numel = 1;
  for (const d of dims) {
    numel *= d.size;
  }
  return numel;
}

async function readDims(
  reader: ChunkedReader,
  offset: number,
  dims: readonly Dim[],
  out: TensorArray,
  outOffset: number,
): Promise<void> {
  const eb = STORAGE_DTYPE_BYTES[reader.dtype];
  const numel = numelOfDims(dims);
  const first = dims[0];
  if (first === undefined || (dims.length === 1 && first.stride === 1)) {
    await readDense(reader, offset * eb, out, outOffset, numel);
    return;
  }
  const { chunkElements } = reader;
  const span = spanOf(dims);
  if (span <= Math.max(2 * numel, chunkElements)) {
    await readSpanAndGather(reader, offset, span, dims, out, outOffset, numel);
    return;
  }
  // Split along the outermost dim into groups of `group` indices that span at most one chunk.
  const rest = dims.slice(1);
  const restSpan = spanOf(rest);
  const restNumel = numelOfDims(rest);
  const group = restSpan <= chunkElements ? Math.max(1, Math.floor((chunkElements - restSpan) / first.stride) + 1) : 1;
  for (let i = 0; i < first.size; i += group) {
    const count = Math.min(group, first.size - i);
    const at = offset + i * first.stride;
    if (count > 1) {
      const groupDims = [{ size: count, stride: first.stride }, ...rest];
      await readSpanAndGather(reader, at, spanOf(groupDims), groupDims, out, outOffset + i * restNumel, count * restNumel);
    } else {
      await readDims(reader, at, rest, out, outOffset + i * restNumel);
    }
  }
}

/** `count` dense elements starting at byte `position` of the storage, into `out[outOffset...]`. */
async function readDense(reader: ChunkedReader, position: number, out: TensorArray, outOffset: number, count: number): Promise<void> {
  const { source, dtype, context, chunkElements } = reader;
  const eb = STORAGE_DTYPE_BYTES[dtype];
  if (dtype === 'F32' || dtype === 'I32') {
    // Same layout as the destination: read straight into it, chunk by chunk.
    for (let done = 0; done < count; ) {
      const n = Math.min(count - done, chunkElements);
      await source.read(new Uint8Array(out.buffer, out.byteOffset + (outOffset + done) * 4, n * 4), position + done * 4);
      done += n;
    }
    return;
  }
  const scratch = new Uint8Array(Math.min(count, chunkElements) * eb);
  for (let done = 0; done < count; ) {
    const n = Math.min(count - done, chunkElements);
    const raw = scratch.subarray(0, n * eb);
    await source.read(raw, position + done * eb);
    decode(dtype, raw, out, outOffset + done, n, context);
    done += n;
  }
}

/**
 * Reads the `span` elements from `offset`, then gathers the `count` elements of `dims` in row-major
 * order into `out[outOffset...]`. The extra memory is the span plus one chunk.
 */
async function readSpanAndGather(
  reader: ChunkedReader,
  offset: number,
  span: number,
  dims: readonly Dim[],
  out: TensorArray,
  outOffset: number,
  count: number,
): Promise<void> {
  const { source, dtype, context, chunkElements } = reader;
  const eb = STORAGE_DTYPE_BYTES[dtype];
  const raw = new Uint8Array(span * eb);
  await source.read(raw, offset * eb);
  // Gather whole elements as 1, 2 or 4-byte words (8-byte elements as two 4-byte words), then
  // decode each packed chunk.
  const words = eb === 8 ? 2 : 1;
  const wordBytes = eb === 8 ? 4 : eb;
  const src = wordArray(raw.buffer, raw.byteOffset, raw.byteLength, wordBytes);
  const packedBytes = new Uint8Array(Math.min(count, chunkElements) * eb);
  const packed = wordArray(packedBytes.buffer, 0, packedBytes.byteLength, wordBytes);
  const index = new Array<number>(dims.length).fill(0);
  const last = dims.length - 1;
  const innerSize = (dims[last] as Dim).size;
  const innerStride = (dims[last] as Dim).stride;
  let base = 0;
  let filled = 0;
  let written = outOffset;
  const end = outOffset + count;
  while (written + filled < end) {
    for (let i = 0; i < innerSize; i++) {
      const from = (base + i * innerStride) * words;
      const to = filled * words;
      packed[to] = src[from] as number;
      if (words === 2) {
        packed[to + 1] = src[from + 1] as number;
      }
      filled++;
      if (filled === packedBytes.length / eb) {
        decode(dtype, packedBytes, out, written, filled, context);
        written += filled;
        filled = 0;
      }
    }
    // Advance the outer dims (the innermost is the loop above).
    for (let d = last - 1; d >= 0; d--) {
      const dim = dims[d] as Dim;
      index[d] = (index[d] as number) + 1;
      base += dim.stride;
      if ((index[d] as number) < dim.size) {
        break;
      }
      base -= dim.size * dim.stride;
      index[d] = 0;
    }
  }
  if (filled > 0) {
    decode(dtype, packedBytes.subarray(0, filled * eb), out, written, filled, context);
  }
}

function wordArray(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, wordBytes: number): Uint8Array | Uint16Array | Uint32Array {
  switch (wordBytes) {
    case 1:
      return new Uint8Array(buffer, byteOffset, byteLength);
    case 2:
      return new Uint16Array(buffer, byteOffset, byteLength / 2);
    default:
      return new Uint32Array(buffer, byteOffset, byteLength / 4);
  }
}
