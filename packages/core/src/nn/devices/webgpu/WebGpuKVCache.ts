import type * as tf from '@tensorflow/tfjs';

import { InvalidArgumentError, NotSupportedError } from '../../../errors/Fs2Error.js';
import { formatBytes } from '../../errors.js';
import type { HeapReservation } from '../HeapLedger.js';
import { KVCache, type KVCacheShape } from '../../KVCache.js';
import type { Device } from '../Device.js';
import type { GpuContext } from './GpuContext.js';

/**
 * A KV cache in GPU buffers, one key and one value buffer per layer, each
 * `[batch * kvHeads, capacity, headDim]` float32, written in place by the `webgpu` runtime's
 * kernels and never read back. Its keys and values are not TF.js tensors.
 */
export class WebGpuKVCache extends KVCache {
  /** Per layer: keys. */
  readonly keyBuffers: readonly GPUBuffer[];
  /** Per layer: values. */
  readonly valueBuffers: readonly GPUBuffer[];
  /** Bind groups and the like built for this cache by the runtime, dropped with it. */
  readonly memo = new Map<string, unknown>();
  private readonly extras = new Map<string, GPUBuffer>();
  private destroyed = false;

  /**
   * @throws InvalidArgumentError when one layer's keys would exceed the GPU's largest storage binding.
   */
  constructor(ctx: GpuContext, device: Device, shape: KVCacheShape, capacity: number, batchSize: number, reservation?: HeapReservation) {
    const perLayer = batchSize * shape.numKvHeads * capacity * shape.headDim * 4;
    if (perLayer > ctx.limits.maxBindingBytes) {
      throw new InvalidArgumentError(
        'capacity',
        `A KV cache of ${capacity} positions for ${batchSize} sequence(s) needs ${formatBytes(perLayer)} per layer for its keys, ` +
          `more than the GPU's largest storage binding (${formatBytes(ctx.limits.maxBindingBytes)}). Use a shorter cache.`,
      );
    }
    super(device, shape, capacity, batchSize, reservation, { tensors: false });
    const keys: GPUBuffer[] = [];
    const values: GPUBuffer[] = [];
    for (let layer = 0; layer < shape.numLayers; layer++) {
      keys.push(ctx.storage(perLayer, `kv.${layer}.keys`));
      values.push(ctx.storage(perLayer, `kv.${layer}.values`));
    }
    this.keyBuffers = keys;
    this.valueBuffers = values;
  }

  /** A working buffer of this cache's size (attention's partial results), made once and freed with the cache. */
  extraBuffer(ctx: GpuContext, name: string, bytes: number): GPUBuffer {
    let buffer = this.extras.get(name);
    if (buffer === undefined) {
      buffer = ctx.storage(bytes, name);
      this.extras.set(name, buffer);
    }
    return buffer;
  }

  /** Whether {@link WebGpuKVCache.dispose} ran. */
  get isDisposed(): boolean {
    return this.destroyed;
  }

  override keys(): tf.Tensor3D {
    throw new NotSupportedError('The keys of a webgpu KV cache live in GPU buffers, not in TF.js tensors.');
  }

  override values(): tf.Tensor3D {
    throw new NotSupportedError('The values of a webgpu KV cache live in GPU buffers, not in TF.js tensors.');
  }

  override write(): void {
    throw new NotSupportedError("A webgpu KV cache is written by the webgpu runtime's kernels only.");
  }

  override dispose(): void {
    if (!this.destroyed) {
      this.destroyed = true;
      for (const buffer of [...this.keyBuffers, ...this.valueBuffers, ...this.extras.values()]) {
        buffer.destroy();
      }
      this.extras.clear();
      this.memo.clear();
    }
    super.dispose();
  }
}
