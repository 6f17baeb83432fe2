import type * as tf from '@tensorflow/tfjs';

import type { DecoderRuntime } from '../DecoderRuntime.js';
import type { TransformerDecoderModel } from '../TransformerDecoderModel.js';

/**
 * How fs2 runs tensors on one kind of hardware: a TF.js backend plus the facts the model code needs
 * about it. Providers are registered by name in a {@link DeviceRegistry}; `wasm`, `cpu`,
 * `tensorflow` and `webgpu` are built in, and more can be added without touching the model.
 */
export interface DeviceProvider {
  /** The device name users pass to `useDevice()` (`wasm`). */
  readonly name: string;
  /** The TF.js backend it activates (`wasm`; `tensorflow` for tfjs-node). */
  readonly backendName: string;
  /** One line for listings and messages. */
  readonly description: string;
  /**
   * The memory a model may use on this device, in bytes, or `undefined` when it has no fixed limit.
   * Models and KV caches are refused when they would not fit (see `HeapLedger`).
   */
  readonly memoryBudgetBytes: number | undefined;
  /**
   * Whether the backend keeps a second, packed copy of every matMul weight it has seen
   * (XNNPACK on wasm), which doubles their memory.
   */
  readonly packsMatMulWeights: boolean;
  /**
   * Whether `tf.tensor(data)` keeps a reference to `data` instead of copying it (the `cpu` backend
   * does). Loading then copies, because a state source may reuse its arrays.
   */
  readonly uploadAliasesData: boolean;
  /**
   * Imports and registers the backend, without activating it. Called once per process, before
   * `tf.setBackend(backendName)`. Throws `DeviceUnavailableError` when the backend cannot be loaded.
   */
  load(): Promise<void>;
  /** Called each time the backend has just become the active one (optional). */
  onActivated?(): void;
  /**
   * A live view of a float32 tensor's storage, for in-place writes (the KV cache), or `undefined`
   * when the backend has none (the cache then falls back to functional updates). Only called while
   * this device's backend is active, and valid only until the next tensor allocation.
   */
  storageView(tensor: tf.Tensor): Float32Array | undefined;
  /**
   * Optional: the device's own implementation of `model` (its kernels, weight layout and KV cache),
   * called once when the model is built on this device; `undefined` (or no method) runs the TF.js
   * modules. See {@link DecoderRuntime}.
   */
  createDecoderRuntime?(model: TransformerDecoderModel): DecoderRuntime | undefined;
  /**
   * Optional: facts about the loaded device for listings (`fs2 devices`): the adapter's name,
   * limits. Only called after `load()` succeeded.
   */
  details?(): Readonly<Record<string, string | number | boolean>>;
}
