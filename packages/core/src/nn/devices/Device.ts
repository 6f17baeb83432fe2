import * as tf from '@tensorflow/tfjs';

import { DeviceNotActiveError } from '../errors.js';
import type { DeviceProvider } from './DeviceProvider.js';
import { HeapLedger } from './HeapLedger.js';

/**
 * An initialised device: its provider and its memory ledger. Obtained from `useDevice()`; one per
 * device name and registry, so every model on a device shares its ledger.
 */
export class Device {
  /** The memory ledger every model and KV cache on this device reserves from. */
  readonly ledger: HeapLedger;

  constructor(readonly provider: DeviceProvider) {
    this.ledger = new HeapLedger(provider.name, provider.memoryBudgetBytes);
  }

  /** The device name (`wasm`). */
  get name(): string {
    return this.provider.name;
  }

  /** The TF.js backend name. */
  get backendName(): string {
    return this.provider.backendName;
  }

  /** Whether this device's backend is the active TF.js backend. */
  isActive(): boolean {
    return tf.getBackend() === this.provider.backendName;
  }

  /** Throws {@link DeviceNotActiveError} unless this device's backend is active. */
  assertActive(): void {
    const active = tf.getBackend() as string | undefined;
    if (active !== this.provider.backendName) {
      throw new DeviceNotActiveError(this.provider.name, active);
    }
  }

  /**
   * Uploads `data` as a float32 tensor of `shape`, copying first when the backend would keep a
   * reference to the caller's array.
   */
  upload(data: Float32Array, shape: readonly number[]): tf.Tensor {
    const owned = this.provider.uploadAliasesData ? data.slice() : data;
    return tf.tensor(owned, [...shape], 'float32');
  }

  /** Uploads `data` that the caller hands over (never reused): no defensive copy. */
  uploadOwned(data: Float32Array, shape: readonly number[]): tf.Tensor {
    return tf.tensor(data, [...shape], 'float32');
  }
}
