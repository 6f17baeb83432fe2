import type { Fs2ErrorOptions } from '../../../errors/Fs2Error.js';
import { DeviceUnavailableError } from '../../errors.js';

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
