import { Fs2Error, type Fs2ErrorOptions } from '../../../errors/Fs2Error.js';
import { DeviceUnavailableError, formatBytes } from '../../errors.js';

/**
 * Why the `webgpu` device cannot run here:
 * - `package_missing`: the optional packages `webgpu` / `@tensorflow/tfjs-backend-webgpu` are not installed;
 * - `native_load_failed`: `webgpu`'s `dawn.node` (or the backend) is installed but fails to load;
 * - `vulkan_loader_missing`: no Vulkan loader (`libvulkan.so.1`) is found, so Dawn has no backend;
 * - `no_adapter`: the loader is there but no driver offered an adapter (no ICD, a rejected driver);
 * - `device_failed`: the adapter refused to create a device, or the TF.js backend failed on it.
 */
export type WebGpuUnavailableReason = 'package_missing' | 'native_load_failed' | 'vulkan_loader_missing' | 'no_adapter' | 'device_failed';

/**
 * The `webgpu` device is unavailable; `reason` says which piece is missing and the message how to
 * install it.
 */
export class WebGpuUnavailableError extends DeviceUnavailableError {
  constructor(
    readonly reason: WebGpuUnavailableReason,
    message: string,
    options?: Fs2ErrorOptions,
  ) {
    super('webgpu', message, options);
  }
}

/**
 * The GPU could not allocate what a model needs (WebGPU reports no free memory up front, so the
 * allocation itself is checked). `bytes` is what was asked for.
 */
export class WebGpuOutOfMemoryError extends Fs2Error {
  override readonly category = 'operational' as const;

  constructor(
    readonly what: string,
    readonly bytes: number,
    readonly gpuMessage: string,
    options?: Fs2ErrorOptions,
  ) {
    super(
      `The GPU could not allocate ${what} (${formatBytes(bytes)}): ${gpuMessage} Use a smaller model, or free GPU memory (other models, other processes).`,
      options,
    );
  }
}
