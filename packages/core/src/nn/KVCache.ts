import * as tf from '@tensorflow/tfjs';

import type { Device } from './devices/Device.js';
import type { HeapReservation } from './devices/HeapLedger.js';
import { InternalError } from '../errors/Fs2Error.js';
import { KVCacheOverflowError } from './errors.js';
import type { CpuKernels } from './kernels/CpuKernels.js';

/**
 * Where one layer's keys and values live in the CPU kernels' memory, per key/value head
 * (`paddedCapacity * headDim` floats apart): keys in panels of 8 positions
 * (`[paddedCapacity / 8][headDim][8]`), values in panels of 8 head dims
 * (`[headDim / 8][paddedCapacity][8]`), as the kernels' products read them (see kernels.c).
 */
export interface KVCacheKernelBlocks {
  readonly keys: number;
  readonly values: number;
}

/** The capacity of a KV cache in the CPU kernels' memory, rounded up to whole panels of 8 positions. */
export function paddedKernelCapacity(capacity: number): number {
  return Math.ceil(capacity / 8) * 8;
}

/** The dimensions a {@link KVCache} is laid out by. */
export interface KVCacheShape {
  readonly numLayers: number;
  readonly numKvHeads: number;
  readonly headDim: number;
}

/** Bytes of a float32 KV cache of `capacity` positions for `batchSize` sequences. */
export function kvCacheBytes(shape: KVCacheShape, capacity: number, batchSize = 1): number {
  return 2 * shape.numLayers * batchSize * shape.numKvHeads * shape.headDim * capacity * 4;
}

/**
 * The keys and values of every layer for incremental decoding, allocated once for `capacity`
 * positions of `batchSize` sequences (and reserved against the device's memory budget) and
 * written in place.
 *
 * Layout per layer, chosen so that attention needs no transposed matMul (~10x slower on wasm,
 * js-ecosystem.md §2.3): keys are stored transposed, `[batch * kvHeads, headDim, capacity]`, so
 * `q · Kᵀ` is a plain `[rows, headDim] x [headDim, length]` product; values are
 * `[batch * kvHeads, capacity, headDim]`.
 *
 * New positions are written straight into the tensors' storage where the device exposes it (wasm,
 * cpu): TF.js tensors are immutable, and a functional update (`tensorScatterUpdate`, `concat`)
 * copies the whole cache every step (js-ecosystem.md §10). Other devices fall back to such an update.
 *
 * A cache made with `kernels` (what `TransformerDecoderModel.createCache()` does for one sequence on
 * a model that runs on fs2's CPU kernels) holds no TF.js tensors: each layer's keys and values are
 * blocks of the kernels' memory, `[kvHeads, capacity, headDim]` with one row per position
 * ({@link KVCache.kernelBlocks}), written and read there by the kernels.
 */
export class KVCache {
  /** Positions filled so far (the next write starts here). */
  length = 0;
  private readonly keyTensors: tf.Tensor3D[] = [];
  private readonly valueTensors: tf.Tensor3D[] = [];
  private readonly blocks: KVCacheKernelBlocks[] = [];
  private disposed = false;
  /** The CPU kernels whose memory holds the cache (one sequence only); `undefined`: TF.js tensors. */
  readonly kernels: CpuKernels | undefined;

  /**
   * Allocates the cache on `device`, which must be active. Prefer `TransformerDecoderModel.createCache()`.
   * A device runtime's cache subclass passes `tensors: false` and keeps its own storage; `kernels`
   * puts the cache in fs2's CPU kernels' memory.
   *
   * @throws HeapBudgetExceededError when it does not fit the device's budget.
   */
  constructor(
    readonly device: Device,
    readonly shape: KVCacheShape,
    readonly capacity: number,
    readonly batchSize = 1,
    private readonly reservation?: HeapReservation,
    options: { readonly tensors?: boolean; readonly kernels?: CpuKernels | undefined } = {},
  ) {
    device.assertActive();
    const kernels = options.kernels;
    this.kernels = kernels;
    if (kernels !== undefined) {
      if (batchSize !== 1) {
        throw new InternalError(`A KV cache in the CPU kernels' memory holds one sequence, not ${batchSize}.`);
      }
      const floats = shape.numKvHeads * paddedKernelCapacity(capacity) * shape.headDim;
      try {
        for (let layer = 0; layer < shape.numLayers; layer++) {
          // Positions not written yet are multiplied by a probability of 0: they must be numbers.
          this.blocks.push({ keys: kernels.allocZeroed(floats * 4), values: kernels.allocZeroed(floats * 4) });
        }
      } catch (error) {
        this.freeBlocks();
        throw error;
      }
      return;
    }
    const rows = batchSize * shape.numKvHeads;
    for (let layer = 0; options.tensors !== false && layer < shape.numLayers; layer++) {
      this.keyTensors.push(tf.zeros([rows, shape.headDim, capacity]));
      this.valueTensors.push(tf.zeros([rows, capacity, shape.headDim]));
    }
  }

  /** Bytes held by the tensors. */
  get bytes(): number {
    return kvCacheBytes(this.shape, this.capacity, this.batchSize);
  }

  /** Positions still free. */
  get remaining(): number {
    return this.capacity - this.length;
  }

  /** Layer `layer`'s transposed keys, `[batch * kvHeads, headDim, capacity]`. Slice before use. */
  keys(layer: number): tf.Tensor3D {
    return this.tensor(this.keyTensors, layer);
  }

  /** Layer `layer`'s values, `[batch * kvHeads, capacity, headDim]`. Slice before use. */
  values(layer: number): tf.Tensor3D {
    return this.tensor(this.valueTensors, layer);
  }

  /** Layer `layer`'s blocks in the CPU kernels' memory (a cache made with `kernels` only). */
  kernelBlocks(layer: number): KVCacheKernelBlocks {
    const blocks = this.blocks[layer];
    if (blocks === undefined) {
      throw new InternalError(`The KV cache has no CPU kernel blocks for layer ${layer}.`);
    }
    return blocks;
  }

  private tensor(tensors: readonly tf.Tensor3D[], layer: number): tf.Tensor3D {
    const tensor = tensors[layer];
    if (tensor === undefined) {
      throw new InternalError(
        this.kernels === undefined ? `The KV cache has no layer ${layer}.` : "The KV cache lives in the CPU kernels' memory and has no TF.js tensors.",
      );
    }
    return tensor;
  }

  /** Throws {@link KVCacheOverflowError} unless `count` more positions fit. */
  assertFits(count: number): void {
    if (this.length + count > this.capacity) {
      throw new KVCacheOverflowError(this.capacity, this.length, count);
    }
  }

  /**
   * Writes layer `layer`'s keys `keysT` `[batch * kvHeads, headDim, n]` and values
   * `[batch * kvHeads, n, headDim]` at positions `start .. start + n - 1`.
   */
  write(layer: number, keysT: tf.Tensor3D, values: tf.Tensor3D, start: number): void {
    const n = keysT.shape[2];
    if (start + n > this.capacity) {
      throw new KVCacheOverflowError(this.capacity, start, n);
    }
    const provider = this.device.provider;
    const keyCache = this.keys(layer);
    const valueCache = this.values(layer);
    // Views are taken last: on wasm any allocation may grow the heap and detach earlier views.
    const keyDst = provider.storageView(keyCache);
    const keySrc = keyDst === undefined ? undefined : provider.storageView(keysT);
    const valueDst = keySrc === undefined ? undefined : provider.storageView(valueCache);
    const valueSrc = valueDst === undefined ? undefined : provider.storageView(values);
    if (keyDst === undefined || keySrc === undefined || valueDst === undefined || valueSrc === undefined) {
      this.keyTensors[layer] = replaceRange(keyCache, keysT, 2, start);
      this.valueTensors[layer] = replaceRange(valueCache, values, 1, start);
      return;
    }
    const rows = keyCache.shape[0];
    const d = this.shape.headDim;
    const capacity = this.capacity;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < d; j++) {
        const src = (r * d + j) * n;
        keyDst.set(keySrc.subarray(src, src + n), (r * d + j) * capacity + start);
      }
      const src = r * n * d;
      valueDst.set(valueSrc.subarray(src, src + n * d), (r * capacity + start) * d);
    }
  }

  /** Forgets every position (the memory is reused). */
  reset(): void {
    this.length = 0;
  }

  /** Frees the tensors and the reservation. */
  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    tf.dispose([...this.keyTensors, ...this.valueTensors]);
    this.keyTensors.length = 0;
    this.valueTensors.length = 0;
    this.freeBlocks();
    this.reservation?.release();
  }

  private freeBlocks(): void {
    for (const block of this.blocks) {
      this.kernels?.free(block.keys);
      this.kernels?.free(block.values);
    }
    this.blocks.length = 0;
  }
}

/** A new tensor equal to `cache` with `chunk` written at `start` along `axis`; disposes `cache`. */
function replaceRange(cache: tf.Tensor3D, chunk: tf.Tensor3D, axis: 1 | 2, start: number): tf.Tensor3D {
  const updated = tf.tidy(() => {
    const size = cache.shape[axis];
    const n = chunk.shape[axis];
    const pieces: tf.Tensor3D[] = [];
    const range = (from: number, length: number): tf.Tensor3D => {
      const begin: [number, number, number] = [0, 0, 0];
      const extent: [number, number, number] = [...cache.shape];
      begin[axis] = from;
      extent[axis] = length;
      return tf.slice(cache, begin, extent);
    };
    if (start > 0) {
      pieces.push(range(0, start));
    }
    pieces.push(chunk);
    if (start + n < size) {
      pieces.push(range(start + n, size - start - n));
    }
    return tf.concat(pieces, axis);
  });
  tf.keep(updated);
  cache.dispose();
  return updated;
}
