import { tmpdir } from 'node:os';

import * as tf from '@tensorflow/tfjs';

import { InternalError } from '../../../errors/Fs2Error.js';
import type { DecoderRuntime } from '../../DecoderRuntime.js';
import type { TransformerDecoderModel } from '../../TransformerDecoderModel.js';
import type { DeviceProvider } from '../DeviceProvider.js';
import { WebGpuUnavailableError } from './errors.js';
import { GpuContext } from './GpuContext.js';
import { diagnoseVulkan, explainNoAdapter, processVulkanProbe, type VulkanProbe } from './vulkan.js';
import { WebGpuDecoder } from './WebGpuDecoder.js';

/** The exact versions of the optional packages the `webgpu` device was built and measured with. */
export const WEBGPU_PACKAGES = { webgpu: '0.6.2', '@tensorflow/tfjs-backend-webgpu': '4.22.0' } as const;

/** Options of {@link WebGpuDeviceProvider}. */
export interface WebGpuDeviceOptions {
  /** Which adapter to ask Dawn for. Default: `'high-performance'` (as tfjs-backend-webgpu does). */
  readonly powerPreference?: 'high-performance' | 'low-power';
  /**
   * Options for the `webgpu` package's `create()` (Dawn's: `backend=vulkan`, `adapter=<name>`).
   * Default: `FS2_WEBGPU_DAWN_OPTIONS` split on spaces, else none.
   */
  readonly dawnOptions?: readonly string[];
  /**
   * Who runs a `TransformerDecoderModel`: `'fs2'`, fs2's WGSL kernels (weights and KV cache in GPU
   * buffers, greedy tokens picked on the GPU), or `'tfjs'`, the TF.js modules on
   * tfjs-backend-webgpu's kernels (slower; a cross-check). Other modules always run on TF.js.
   * Default: `'fs2'`.
   */
  readonly decoderKernels?: 'fs2' | 'tfjs';
  /**
   * The largest weight buffer fs2's kernels bind, in bytes: weights larger than this are split by
   * rows, one dispatch per piece. Default (and upper bound): the device's
   * `maxStorageBufferBindingSize` (2 GiB on NVIDIA's Vulkan driver, 128 MiB on lavapipe). A smaller
   * value exercises the splitting on small models.
   */
  readonly maxWeightChunkBytes?: number;
  /**
   * Rows of the matrix-matrix kernel's tiles: 64, or 32 for products too small to fill the GPU with
   * 64-row tiles. Default: chosen per product (under 256 tiles of 64 rows: 32). Tests force each.
   */
  readonly matrixTileRows?: 32 | 64;
  /** Loads a package by name (tests replace it). Default: dynamic `import()`. */
  readonly importer?: (specifier: string) => Promise<unknown>;
  /** What the diagnosis of a missing adapter looks at (tests replace it). Default: this process's environment and files. */
  readonly probe?: VulkanProbe;
}

interface WebGpuModule {
  create(options: string[]): GPU;
  globals: Record<string, unknown>;
}

interface BackendModule {
  WebGPUBackend: new (device: GPUDevice, adapterInfo?: GPUAdapterInfo) => tf.KernelBackend;
}

/** What a successful load found. */
interface Loaded {
  readonly device: GPUDevice;
  readonly info: GPUAdapterInfo;
  readonly context: GpuContext;
}

/**
 * `webgpu`: the GPU through WebGPU, with Dawn's Node binding (the `webgpu` npm package, which ships
 * a prebuilt `dawn.node`) on Vulkan (`libvulkan.so.1` plus a driver: NVIDIA's, or Mesa's lavapipe on
 * the CPU), and `@tensorflow/tfjs-backend-webgpu` as the TF.js backend. Both packages are optional
 * dependencies of `@fs2/core`, imported only when this device loads: without them nothing changes.
 *
 * Loading detects each piece in turn and names the first one missing ({@link WebGpuUnavailableError}
 * with its `reason`): the packages, the Vulkan loader, an adapter. It requests the adapter's largest
 * buffer limits, then registers the TF.js backend on that device. A `TransformerDecoderModel` on
 * this device runs fs2's WGSL kernels ({@link WebGpuDecoder}) unless `decoderKernels: 'tfjs'`.
 *
 * float32 only. Reading a tensor back synchronously (`dataSync`, `arraySync`) is not possible in
 * Node on this backend: use `await tensor.data()` / `array()`.
 */
export class WebGpuDeviceProvider implements DeviceProvider {
  readonly name = 'webgpu';
  readonly backendName = 'webgpu';
  readonly description = 'GPU through WebGPU (Dawn on Vulkan, the optional webgpu package) and TF.js webgpu backend, fs2 WGSL decoder kernels';
  readonly memoryBudgetBytes = undefined;
  readonly packsMatMulWeights = false;
  readonly uploadAliasesData = true;
  private loaded: Loaded | undefined;

  constructor(private readonly options: WebGpuDeviceOptions = {}) {}

  async load(): Promise<void> {
    if (this.loaded !== undefined) {
      return;
    }
    const importer = this.options.importer ?? ((s: string) => import(s));
    // Dawn (through the Vulkan loader) warns "XDG_RUNTIME_DIR is invalid or not set" without it.
    process.env['XDG_RUNTIME_DIR'] ??= tmpdir();
    const webgpu = await importPackage<WebGpuModule>(importer, 'webgpu');
    for (const [key, value] of Object.entries(webgpu.globals)) {
      if (!(key in globalThis)) {
        (globalThis as Record<string, unknown>)[key] = value;
      }
    }
    const dawnOptions = this.options.dawnOptions ?? (process.env['FS2_WEBGPU_DAWN_OPTIONS'] ?? '').split(/\s+/).filter((o) => o !== '');
    let gpu: GPU;
    let adapter: GPUAdapter | null;
    try {
      gpu = webgpu.create([...dawnOptions]);
      adapter = await gpu.requestAdapter({ powerPreference: this.options.powerPreference ?? 'high-performance' });
    } catch (error) {
      throw new WebGpuUnavailableError('native_load_failed', `The \`webgpu\` device could not start Dawn: ${(error as Error).message}`, { cause: error });
    }
    if (adapter === null) {
      const { reason, message } = explainNoAdapter(diagnoseVulkan(this.options.probe ?? processVulkanProbe()));
      throw new WebGpuUnavailableError(reason, message);
    }
    // `GPUAdapter.info` (WebGPU 2024) is newer than the @webgpu/types tfjs pins.
    const info = (adapter as GPUAdapter & { readonly info: GPUAdapterInfo }).info;
    const limits = adapter.limits;
    let device: GPUDevice;
    try {
      device = await adapter.requestDevice({
        requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
        requiredLimits: {
          maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
          maxBufferSize: limits.maxBufferSize,
          maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
          maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
          maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
          maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
          maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
        },
      });
    } catch (error) {
      throw new WebGpuUnavailableError(
        'device_failed',
        `The \`webgpu\` device's adapter (${adapterName(info)}) refused to create a device: ${(error as Error).message}`,
        { cause: error },
      );
    }
    // tfjs-backend-webgpu registers itself at import only if navigator.gpu exists (Node 20 has no
    // navigator; Node 21+ has one without gpu).
    installNavigatorGpu(gpu);
    const backend = await importPackage<BackendModule>(importer, '@tensorflow/tfjs-backend-webgpu');
    // Its own factory would request another adapter and device; use the ones checked above, and a
    // priority that never makes TF.js pick this backend on its own.
    if (tf.findBackendFactory(this.backendName) !== null) {
      tf.removeBackend(this.backendName);
    }
    tf.registerBackend(this.backendName, () => new backend.WebGPUBackend(device, info), 0);
    const maxBindingBytes = device.limits.maxStorageBufferBindingSize;
    this.loaded = {
      device,
      info,
      context: new GpuContext(device, {
        maxBindingBytes,
        weightChunkBytes: Math.min(this.options.maxWeightChunkBytes ?? Infinity, maxBindingBytes),
        maxBufferBytes: device.limits.maxBufferSize,
        maxWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
        matrixTileRows: this.options.matrixTileRows,
      }),
    };
  }

  storageView(): Float32Array | undefined {
    return undefined;
  }

  createDecoderRuntime(model: TransformerDecoderModel): DecoderRuntime | undefined {
    if (this.options.decoderKernels === 'tfjs') {
      return undefined;
    }
    return new WebGpuDecoder(this.context(), model);
  }

  details(): Readonly<Record<string, string | number | boolean>> {
    const { info, device } = this.requireLoaded();
    return {
      adapter: adapterName(info),
      vendor: info.vendor,
      architecture: info.architecture,
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxBufferSize: device.limits.maxBufferSize,
      decoderKernels: this.options.decoderKernels ?? 'fs2',
    };
  }

  /** The GPU device and kernels of the loaded device (for benchmarks and tools). */
  context(): GpuContext {
    return this.requireLoaded().context;
  }

  private requireLoaded(): Loaded {
    if (this.loaded === undefined) {
      throw new InternalError('The `webgpu` device is used before it was loaded (`useDevice("webgpu")`).');
    }
    return this.loaded;
  }
}

/**
 * The adapter's name: its device id and description (`nvidia-h100 (NVIDIA: 580.159.04 ...)`,
 * `llvmpipe-... (llvmpipe: Mesa 25.0.7 ...)`), whichever Dawn filled in, else vendor and architecture.
 */
export function adapterName(info: Pick<GPUAdapterInfo, 'vendor' | 'architecture' | 'device' | 'description'>): string {
  const { device, description } = info;
  if (device !== '' && description !== '') {
    return `${device} (${description})`;
  }
  return device !== '' ? device : description !== '' ? description : `${info.vendor} ${info.architecture}`.trim();
}

function installNavigatorGpu(gpu: GPU): void {
  const host = globalThis as { navigator?: { gpu?: unknown } };
  if (host.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  } else if (host.navigator.gpu !== gpu) {
    Object.defineProperty(host.navigator, 'gpu', { value: gpu, configurable: true });
  }
}

async function importPackage<T>(importer: (specifier: string) => Promise<unknown>, pkg: keyof typeof WEBGPU_PACKAGES): Promise<T> {
  try {
    return (await importer(pkg)) as T;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const message = (error as { message?: unknown } | null)?.message;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && typeof message === 'string' && message.includes(`'${pkg}'`)) {
      throw new WebGpuUnavailableError(
        'package_missing',
        `The \`webgpu\` device needs the optional packages webgpu and @tensorflow/tfjs-backend-webgpu, and ${pkg} is not installed. ` +
          `Install them with \`npm install webgpu@${WEBGPU_PACKAGES.webgpu} @tensorflow/tfjs-backend-webgpu@${WEBGPU_PACKAGES['@tensorflow/tfjs-backend-webgpu']}\`.`,
        { cause: error },
      );
    }
    const hint = pkg === 'webgpu' ? ' Its dawn.node is built for linux-x64, linux-arm64, darwin and win32, and needs a recent glibc and libstdc++.' : '';
    throw new WebGpuUnavailableError('native_load_failed', `The \`webgpu\` device could not load ${pkg} (${String(message)}).${hint}`, { cause: error });
  }
}
