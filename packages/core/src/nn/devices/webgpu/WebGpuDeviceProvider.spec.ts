import { describe, expect, it } from '@jest/globals';

import { InternalError } from '../../../errors/Fs2Error.js';
import { DeviceUnavailableError } from '../../errors.js';
import { DeviceRegistry } from '../DeviceRegistry.js';
import { WebGpuUnavailableError } from './errors.js';
import type { VulkanProbe } from './vulkan.js';
import { WebGpuDeviceProvider, adapterName } from './WebGpuDeviceProvider.js';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function notFound(pkg: string): Error {
  return Object.assign(new Error(`Cannot find package '${pkg}' imported from /x/WebGpuDeviceProvider.js`), { code: 'ERR_MODULE_NOT_FOUND' });
}

/** A `webgpu` module whose Dawn offers `adapter` (or none). */
function fakeWebgpu(adapter: unknown): (pkg: string) => Promise<unknown> {
  return async (pkg) => {
    if (pkg === 'webgpu') {
      return { globals: {}, create: () => ({ requestAdapter: async () => adapter }) };
    }
    throw notFound(pkg);
  };
}

const NO_VULKAN: VulkanProbe = { env: {}, homeDir: '/home/u', exists: () => false, readFile: () => undefined };

describe(WebGpuDeviceProvider, () => {
  it('names the optional packages to install when webgpu is absent', async () => {
    const registry = new DeviceRegistry([new WebGpuDeviceProvider({ importer: async (pkg) => Promise.reject(notFound(pkg)) })]);
    const error = await rejection(registry.use('webgpu'));
    expect(error).toBeInstanceOf(WebGpuUnavailableError);
    expect(error).toBeInstanceOf(DeviceUnavailableError);
    expect(error).toMatchObject({
      device: 'webgpu',
      reason: 'package_missing',
      category: 'user',
      message:
        'The `webgpu` device needs the optional packages webgpu and @tensorflow/tfjs-backend-webgpu, and webgpu is not installed. ' +
        'Install them with `npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0`.',
    });
  });

  it('reports a dawn.node that fails to load, with the cause', async () => {
    const cause = new Error('/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32\' not found');
    const provider = new WebGpuDeviceProvider({ importer: async () => Promise.reject(cause) });
    const error = await rejection(provider.load());
    expect(error).toMatchObject({
      reason: 'native_load_failed',
      cause,
      message:
        "The `webgpu` device could not load webgpu (/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found). " +
        'Its dawn.node is built for linux-x64, linux-arm64, darwin and win32, and needs a recent glibc and libstdc++.',
    });
  });

  it('explains a missing adapter from what the Vulkan diagnosis finds', async () => {
    const provider = new WebGpuDeviceProvider({ importer: fakeWebgpu(null), probe: NO_VULKAN });
    const error = await rejection(provider.load());
    expect(error).toMatchObject({ reason: 'vulkan_loader_missing' });
    expect((error as Error).message).toMatch(/^The `webgpu` device found no GPU adapter: the Vulkan loader libvulkan\.so\.1, /);
  });

  it('reports an adapter that refuses to create a device, naming it', async () => {
    const cause = new Error('Required limit (maxBufferSize) is greater than the supported limit.');
    const adapter = {
      info: { vendor: 'nvidia', architecture: '', device: 'nvidia-h100', description: 'NVIDIA: 580.159.04' },
      features: new Set<string>(),
      limits: {},
      requestDevice: async () => Promise.reject(cause),
    };
    const error = await rejection(new WebGpuDeviceProvider({ importer: fakeWebgpu(adapter) }).load());
    expect(error).toMatchObject({
      reason: 'device_failed',
      cause,
      message:
        "The `webgpu` device's adapter (nvidia-h100 (NVIDIA: 580.159.04)) refused to create a device: Required limit (maxBufferSize) is greater than the supported limit.",
    });
  });

  it('reports a missing TF.js backend package once Dawn works', async () => {
    const device = { limits: {}, features: new Set<string>() };
    const adapter = { info: { vendor: 'mesa', architecture: 'software', device: '', description: 'llvmpipe' }, features: new Set<string>(), limits: {}, requestDevice: async () => device };
    const error = await rejection(new WebGpuDeviceProvider({ importer: fakeWebgpu(adapter) }).load());
    expect(error).toMatchObject({
      reason: 'package_missing',
      message:
        'The `webgpu` device needs the optional packages webgpu and @tensorflow/tfjs-backend-webgpu, and @tensorflow/tfjs-backend-webgpu is not installed. ' +
        'Install them with `npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0`.',
    });
  });

  it('describes the device only once loaded, and leaves decoders to TF.js when asked', () => {
    const provider = new WebGpuDeviceProvider({ decoderKernels: 'tfjs' });
    expect(() => provider.details()).toThrow(InternalError);
    expect(() => provider.details()).toThrow('The `webgpu` device is used before it was loaded (`useDevice("webgpu")`).');
    expect(provider.createDecoderRuntime({} as never)).toBeUndefined();
    expect(provider.storageView()).toBeUndefined();
    expect({ memory: provider.memoryBudgetBytes, packs: provider.packsMatMulWeights, aliases: provider.uploadAliasesData }).toEqual({
      memory: undefined,
      packs: false,
      aliases: true,
    });
  });

  it('names adapters by device and description, whichever Dawn filled in', () => {
    expect(adapterName({ vendor: 'nvidia', architecture: '', device: 'nvidia-h100', description: 'NVIDIA: 580.159.04' })).toBe('nvidia-h100 (NVIDIA: 580.159.04)');
    expect(adapterName({ vendor: 'mesa', architecture: 'software', device: '', description: 'llvmpipe: Mesa 25.0.7' })).toBe('llvmpipe: Mesa 25.0.7');
    expect(adapterName({ vendor: 'mesa', architecture: 'software', device: 'llvmpipe', description: '' })).toBe('llvmpipe');
    expect(adapterName({ vendor: 'intel', architecture: 'gen-12', device: '', description: '' })).toBe('intel gen-12');
  });
});
