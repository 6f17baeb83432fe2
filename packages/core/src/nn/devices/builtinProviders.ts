import * as tf from '@tensorflow/tfjs';

import { DeviceUnavailableError } from '../errors.js';
import type { DeviceProvider } from './DeviceProvider.js';

/**
 * The memory budget of one tfjs-wasm instance. Its emscripten heap is capped at 4 GiB
 * (`getHeapMax() = 4294901760`) and was measured to grow to ~3.6 GiB before `malloc` failed
 * silently; 3.3 GiB leaves room for the allocator and small tensors (js-ecosystem.md §2.2).
 */
export const WASM_HEAP_BUDGET_BYTES = Math.floor(3.3 * 2 ** 30);

interface WasmBackendLike {
  typedArrayFromHeap(info: { shape: number[]; dtype: string; dataId: object }): Float32Array;
}

interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } | undefined };
}

/**
 * `wasm`: TF.js's WebAssembly backend with SIMD on one thread (threads cannot start under Node,
 * js-ecosystem.md §2.2). The default device: 20-30 GFLOP/s matMul, but a ~3.5 GiB heap.
 */
export class WasmDeviceProvider implements DeviceProvider {
  readonly name = 'wasm';
  readonly backendName = 'wasm';
  readonly description = 'TF.js WebAssembly backend (SIMD, one thread, heap budget 3.3 GiB)';
  readonly memoryBudgetBytes: number | undefined;
  readonly packsMatMulWeights = true;
  readonly uploadAliasesData = false;

  constructor(options: { memoryBudgetBytes?: number } = {}) {
    this.memoryBudgetBytes = options.memoryBudgetBytes ?? WASM_HEAP_BUDGET_BYTES;
  }

  async load(): Promise<void> {
    try {
      // Imported here, not at the top: importing registers `wasm` as the highest-priority backend,
      // after which any tensor created before `setBackend('wasm')` resolves throws
      // "The highest priority backend 'wasm' has not yet been initialized" (js-ecosystem.md §11).
      await import('@tensorflow/tfjs-backend-wasm');
    } catch (error) {
      throw new DeviceUnavailableError(
        this.name,
        `The \`wasm\` device could not load @tensorflow/tfjs-backend-wasm: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  storageView(tensor: tf.Tensor): Float32Array | undefined {
    const backend = tf.backend() as unknown as Partial<WasmBackendLike>;
    if (typeof backend.typedArrayFromHeap !== 'function' || tensor.dtype !== 'float32') {
      return undefined;
    }
    return backend.typedArrayFromHeap({ shape: tensor.shape, dtype: tensor.dtype, dataId: tensor.dataId });
  }
}

/**
 * `cpu`: TF.js's plain JavaScript backend. Slow (~1 GFLOP/s) but exact and unbounded by a heap:
 * for tests and for models that do not fit the wasm heap.
 */
export class CpuDeviceProvider implements DeviceProvider {
  readonly name = 'cpu';
  readonly backendName = 'cpu';
  readonly description = 'TF.js plain JavaScript backend (slow; no heap limit)';
  readonly memoryBudgetBytes = undefined;
  readonly packsMatMulWeights = false;
  readonly uploadAliasesData = true;

  async load(): Promise<void> {
    // Registered by @tensorflow/tfjs itself.
  }

  onActivated(): void {
    // The cpu backend prints an "install our node backend" banner on its first tensor; choosing
    // `cpu` here is deliberate, and fs2 offers that backend as the `tensorflow` device.
    const backend = tf.backend() as unknown as { firstUse?: boolean };
    if (backend.firstUse === true) {
      backend.firstUse = false;
    }
  }

  storageView(tensor: tf.Tensor): Float32Array | undefined {
    const backend = tf.backend() as unknown as Partial<CpuBackendLike>;
    const values = backend.data?.get(tensor.dataId)?.values;
    return values instanceof Float32Array && values.length === tensor.size ? values : undefined;
  }
}

/** The packages that provide the `tensorflow` backend, in the order they are tried. */
export const TENSORFLOW_BACKEND_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/**
 * `tensorflow`: the native libtensorflow backend of `@tensorflow/tfjs-node` (CPU) or
 * `@tensorflow/tfjs-node-gpu` (CUDA), when one of them is installed. fs2 never depends on them:
 * they download libtensorflow at install time, which fails offline (js-ecosystem.md §2.1).
 */
export class TensorflowDeviceProvider implements DeviceProvider {
  readonly name = 'tensorflow';
  readonly backendName = 'tensorflow';
  readonly description = 'native TensorFlow through @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu (optional)';
  readonly memoryBudgetBytes = undefined;
  readonly packsMatMulWeights = false;
  readonly uploadAliasesData = true;

  /** `importer` loads a package by name; replaceable in tests. */
  constructor(private readonly importer: (specifier: string) => Promise<unknown> = (s) => import(s)) {}

  async load(): Promise<void> {
    const failures: { pkg: string; error: unknown }[] = [];
    for (const pkg of TENSORFLOW_BACKEND_PACKAGES) {
      try {
        await this.importer(pkg);
      } catch (error) {
        if (isModuleNotFound(error, pkg)) {
          continue;
        }
        failures.push({ pkg, error });
        continue;
      }
      if (tf.findBackendFactory(this.backendName) === null) {
        throw new DeviceUnavailableError(
          this.name,
          `${pkg} loaded but registered no \`tensorflow\` TF.js backend; check that it matches @tensorflow/tfjs ${tf.version_core}.`,
        );
      }
      return;
    }
    const first = failures[0];
    if (first !== undefined) {
      throw new DeviceUnavailableError(
        this.name,
        `The \`tensorflow\` device could not load ${first.pkg}: ${(first.error as Error).message} ` +
          `Reinstall it (its install step downloads libtensorflow), or use the \`wasm\` or \`cpu\` device.`,
        { cause: first.error },
      );
    }
    throw new DeviceUnavailableError(
      this.name,
      `The \`tensorflow\` device needs @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA), ` +
        `and neither is installed. Install one with \`npm install @tensorflow/tfjs-node@${tf.version_core}\`, ` +
        `or use the \`wasm\` or \`cpu\` device.`,
    );
  }

  storageView(): Float32Array | undefined {
    return undefined;
  }
}

function isModuleNotFound(error: unknown, pkg: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = (error as { message?: unknown } | null)?.message;
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    message.includes(`'${pkg}'`)
  );
}
