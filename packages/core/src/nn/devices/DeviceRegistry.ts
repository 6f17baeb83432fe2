import * as tf from '@tensorflow/tfjs';

import { InvalidOperationError } from '../../errors/Fs2Error.js';
import { DeviceUnavailableError, UnknownDeviceError } from '../errors.js';
import { CpuDeviceProvider, TensorflowDeviceProvider, WasmDeviceProvider } from './builtinProviders.js';
import { Device } from './Device.js';
import type { DeviceProvider } from './DeviceProvider.js';
import { WebGpuDeviceProvider } from './webgpu/WebGpuDeviceProvider.js';

/** The device `useDevice()` picks when none is named. */
export const DEFAULT_DEVICE = 'wasm';

/**
 * Device providers by name, and the devices initialised from them. TF.js keeps one global engine
 * per process, so one registry ({@link defaultDeviceRegistry}) normally serves the whole program;
 * tests may build their own.
 */
export class DeviceRegistry {
  private readonly providers = new Map<string, DeviceProvider>();
  private readonly devices = new Map<string, Device>();
  private readonly loaded = new Map<string, Promise<void>>();
  private switching: Promise<unknown> = Promise.resolve();

  /** A registry holding `providers` (none by default; see {@link DeviceRegistry.withBuiltins}). */
  constructor(providers: Iterable<DeviceProvider> = []) {
    for (const provider of providers) {
      this.register(provider);
    }
  }

  /** A registry with the built-in `wasm`, `cpu`, `tensorflow` and `webgpu` providers. */
  static withBuiltins(): DeviceRegistry {
    return new DeviceRegistry([new WasmDeviceProvider(), new CpuDeviceProvider(), new TensorflowDeviceProvider(), new WebGpuDeviceProvider()]);
  }

  /**
   * Adds a provider. A name can be registered once; replacing a device whose models may be alive
   * would leave them on a backend nobody tracks.
   */
  register(provider: DeviceProvider): void {
    if (this.providers.has(provider.name)) {
      throw new InvalidOperationError(`A device provider named \`${provider.name}\` is already registered.`);
    }
    this.providers.set(provider.name, provider);
  }

  /** The registered device names, sorted. */
  names(): string[] {
    return [...this.providers.keys()].sort();
  }

  /** The provider named `name`; throws {@link UnknownDeviceError}. */
  provider(name: string): DeviceProvider {
    const provider = this.providers.get(name);
    if (provider === undefined) {
      throw new UnknownDeviceError(name, this.names());
    }
    return provider;
  }

  /** The provider named `name`, or `undefined`. */
  maybeProvider(name: string): DeviceProvider | undefined {
    return this.providers.get(name);
  }

  /** The device whose backend is the active TF.js backend, if it was initialised through this registry. */
  maybeActiveDevice(): Device | undefined {
    const backend = tf.getBackend() as string | undefined;
    for (const device of this.devices.values()) {
      if (device.backendName === backend) {
        return device;
      }
    }
    return undefined;
  }

  /**
   * Loads the device's backend (once), makes it the active TF.js backend and returns the device.
   * Calls are serialised, so two concurrent calls cannot interleave their backend switches.
   *
   * @throws UnknownDeviceError when no provider has that name.
   * @throws DeviceUnavailableError when the backend cannot be loaded or initialised.
   */
  use(name: string = DEFAULT_DEVICE): Promise<Device> {
    const run = this.switching.then(() => this.activate(name));
    this.switching = run.catch(() => undefined);
    return run;
  }

  private async activate(name: string): Promise<Device> {
    const provider = this.provider(name);
    let loading = this.loaded.get(name);
    if (loading === undefined) {
      loading = provider.load();
      this.loaded.set(name, loading);
      loading.catch(() => this.loaded.delete(name));
    }
    await loading;
    if (tf.getBackend() !== provider.backendName) {
      let ok: boolean;
      try {
        ok = await tf.setBackend(provider.backendName);
      } catch (error) {
        throw new DeviceUnavailableError(
          name,
          `The TF.js backend \`${provider.backendName}\` of the \`${name}\` device failed to initialise: ${(error as Error).message}`,
          { cause: error },
        );
      }
      if (!ok) {
        throw new DeviceUnavailableError(
          name,
          `The TF.js backend \`${provider.backendName}\` of the \`${name}\` device failed to initialise.`,
        );
      }
    }
    await tf.ready();
    provider.onActivated?.();
    let device = this.devices.get(name);
    if (device === undefined) {
      device = new Device(provider);
      this.devices.set(name, device);
    }
    return device;
  }
}

/** The process-wide registry with the built-in devices; `registerDeviceProvider` adds to it. */
export const defaultDeviceRegistry: DeviceRegistry = DeviceRegistry.withBuiltins();

/**
 * Makes `name` (default `wasm`) the active device and returns it. Call it, and await it, before
 * creating any tensor: TF.js binds tensors to the backend active when they are made.
 */
export function useDevice(name: string = DEFAULT_DEVICE): Promise<Device> {
  return defaultDeviceRegistry.use(name);
}

/** Adds a device provider (a `webgpu` device, say) to the process-wide registry. */
export function registerDeviceProvider(provider: DeviceProvider): void {
  defaultDeviceRegistry.register(provider);
}
