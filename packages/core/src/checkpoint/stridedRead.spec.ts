import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import {
  STORAGE_DTYPE_BYTES,
  isFloatingDtype,
  narrowToInt32,
  widenToFloat32,
  type StorageDtype,
  type TensorArray,
} from './dtypes.js';
import { CheckpointError } from './errors.js';
import { readStridedView, sliceView, type ByteSource, type StridedView } from './stridedRead.js';

/** A storage in memory that records every read. */
class MemorySource implements ByteSource {
  readonly reads: number[] = [];

  constructor(private readonly bytes: Uint8Array) {}

  get byteLength(): number {
    return this.bytes.length;
  }

  async read(target: Uint8Array, position: number): Promise<void> {
    if (position < 0 || position + target.length > this.bytes.length) {
      throw new Error(`read [${position}, ${position + target.length}) outside ${this.bytes.length} bytes`);
    }
    this.reads.push(target.length);
    target.set(this.bytes.subarray(position, position + target.length));
  }
}

const DTYPES: StorageDtype[] = ['F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'];

/** Random storage bytes whose elements all decode (no NaN patterns, int64 values that fit). */
function storageBytes(dtype: StorageDtype, count: number, seed: number): Uint8Array {
  const eb = STORAGE_DTYPE_BYTES[dtype];
  const bytes = new Uint8Array(count * eb);
  const view = new DataView(bytes.buffer);
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'F32':
        view.setFloat32(i * 4, (next() % 20_001) / 100 - 100, true);
        break;
      case 'F64':
        view.setFloat64(i * 8, (next() % 20_001) / 1000 - 10, true);
        break;
      case 'F16':
      case 'BF16':
        view.setUint16(i * 2, next() & 0x3fff, true); // finite, both signs off: no NaN, no inf
        break;
      case 'I64':
        view.setInt32(i * 8, next() | 0, true);
        view.setInt32(i * 8 + 4, (view.getInt32(i * 8, true) < 0 ? -1 : 0), true);
        break;
      case 'BOOL':
        bytes[i] = next() & 1;
        break;
      default:
        for (let b = 0; b < eb; b++) {
          bytes[i * eb + b] = next() & 0xff;
        }
    }
  }
  return bytes;
}

/** Every element of the storage, decoded. */
function decodeAll(dtype: StorageDtype, bytes: Uint8Array): TensorArray {
  const count = bytes.length / STORAGE_DTYPE_BYTES[dtype];
  if (isFloatingDtype(dtype)) {
    const out = new Float32Array(count);
    widenToFloat32(dtype, bytes, out, 0, count);
    return out;
  }
  const out = new Int32Array(count);
  narrowToInt32(dtype, bytes, out, 0, count);
  return out;
}

/** The reference: walk the view index by index. */
function gather(values: TensorArray, view: StridedView): number[] {
  const out: number[] = [];
  const walk = (dim: number, base: number): void => {
    if (dim === view.shape.length) {
      out.push(values[base] as number);
      return;
    }
    for (let i = 0; i < (view.shape[dim] as number); i++) {
      walk(dim + 1, base + i * (view.stride[dim] as number));
    }
  };
  walk(0, view.offset);
  return out;
}

function storageSize(view: StridedView): number {
  if (view.shape.includes(0)) {
    return view.offset;
  }
  return view.shape.reduce((last, size, d) => last + (size - 1) * (view.stride[d] as number), view.offset) + 1;
}

const CONTEXT = { path: '/m.safetensors', key: 't' };

describe(readStridedView, () => {
  it('reads any strided view like an element-by-element walk, for every dtype and chunk size', async () => {
    const viewArb = fc
      .record({
        dtype: fc.constantFrom(...DTYPES),
        shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }),
        offset: fc.integer({ min: 0, max: 7 }),
        chunkBytes: fc.constantFrom(1, 3, 8, 16, 64, 1024, 16 * 1024 * 1024),
        layout: fc.constantFrom('contiguous', 'permuted', 'random'),
        seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        extra: fc.integer({ min: 0, max: 5 }),
        strides: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 4, maxLength: 4 }),
        permutation: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
      })
      .map((r) => {
        const rank = r.shape.length;
        let stride: number[];
        if (r.layout === 'random') {
          stride = r.strides.slice(0, rank);
        } else {
          // A dense tensor whose dims are stored in a permuted order (a transpose).
          const order = [...Array(rank).keys()].sort((a, b) => ((r.permutation[a] as number) - (r.permutation[b] as number)) || a - b);
          const storageOrder = r.layout === 'contiguous' ? [...Array(rank).keys()] : order;
          stride = new Array<number>(rank).fill(0);
          let step = 1;
          for (let i = rank - 1; i >= 0; i--) {
            const d = storageOrder[i] as number;
            stride[d] = step;
            step *= Math.max(1, r.shape[d] as number);
          }
        }
        return { ...r, view: { dtype: r.dtype, offset: r.offset, shape: r.shape, stride } as StridedView };
      });
    await fc.assert(
      fc.asyncProperty(viewArb, async ({ view, chunkBytes, seed, extra }) => {
        const bytes = storageBytes(view.dtype, storageSize(view) + extra, seed);
        const values = decodeAll(view.dtype, bytes);
        const out = isFloatingDtype(view.dtype)
          ? new Float32Array(view.shape.reduce((a, b) => a * b, 1))
          : new Int32Array(view.shape.reduce((a, b) => a * b, 1));
        await readStridedView(new MemorySource(bytes), view, out, CONTEXT, chunkBytes);
        expect(Array.from(out)).toEqual(gather(values, view));
        // A slice of the view reads like the slice of the walk.
        if (view.shape.length > 0 && (view.shape[0] as number) > 1) {
          const sliced = sliceView(view, 0, 1, (view.shape[0] as number) - 1);
          const part = out instanceof Float32Array ? new Float32Array(out.length - out.length / (view.shape[0] as number)) : new Int32Array(out.length - out.length / (view.shape[0] as number));
          await readStridedView(new MemorySource(bytes), sliced, part, CONTEXT, chunkBytes);
          expect(Array.from(part)).toEqual(gather(values, sliced));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('reads a narrow column block of a wide matrix row group by row group, not the whole span', async () => {
    const rows = 64;
    const cols = 1024;
    const bytes = storageBytes('F32', rows * cols, 7);
    const source = new MemorySource(bytes);
    const view = sliceView({ dtype: 'F32', offset: 0, shape: [rows, cols], stride: [cols, 1] }, 1, 100, 8);
    const out = new Float32Array(rows * 8);
    await readStridedView(source, view, out, CONTEXT, 4096);
    expect(Array.from(out)).toEqual(gather(decodeAll('F32', bytes), view));
    expect(source.reads.reduce((a, b) => a + b, 0)).toBe(rows * 8 * 4);
    expect(Math.max(...source.reads)).toBeLessThanOrEqual(4096);
  });

  it('groups rows when several fit in one chunk', async () => {
    const bytes = storageBytes('BF16', 64 * 1024, 9);
    const source = new MemorySource(bytes);
    const view = sliceView({ dtype: 'BF16', offset: 0, shape: [64, 1024], stride: [1024, 1] }, 1, 0, 16);
    const out = new Float32Array(64 * 16);
    await readStridedView(source, view, out, CONTEXT, 8192); // 4096 elements: 4 rows per group
    expect(Array.from(out)).toEqual(gather(decodeAll('BF16', bytes), view));
    expect(source.reads).toHaveLength(16);
  });

  it('reads a dense tensor in chunks no larger than asked', async () => {
    const bytes = storageBytes('F16', 1000, 3);
    const source = new MemorySource(bytes);
    const out = new Float32Array(1000);
    await readStridedView(source, { dtype: 'F16', offset: 0, shape: [10, 100], stride: [100, 1] }, out, CONTEXT, 256);
    expect(Array.from(out)).toEqual(Array.from(decodeAll('F16', bytes)));
    expect(source.reads).toEqual([...Array<number>(7).fill(256), 2000 - 7 * 256]);
  });

  it('names the tensor and the index of an int64 that does not fit', async () => {
    const longs = new BigInt64Array([1n, 2n, 3n, 2n ** 31n]);
    const view: StridedView = { dtype: 'I64', offset: 0, shape: [2, 2], stride: [1, 2] };
    const error = await readStridedView(new MemorySource(new Uint8Array(longs.buffer)), view, new Int32Array(4), CONTEXT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).message).toBe('t in /m.safetensors holds a value at index 3 that does not fit in int32.');
  });
});
