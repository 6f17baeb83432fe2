import { describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import { InvalidOperationError } from '../../errors/Fs2Error.js';
import { DeviceNotActiveError, DeviceUnavailableError, HeapBudgetExceededError, UnknownDeviceError } from '../errors.js';
import { CpuDeviceProvider, TensorflowDeviceProvider, WASM_HEAP_BUDGET_BYTES, WasmDeviceProvider } from './builtinProviders.js';
import { DeviceRegistry, defaultDeviceRegistry, useDevice } from './DeviceRegistry.js';
import { HeapLedger } from './HeapLedger.js';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe(DeviceRegistry, () => {
  it('has the built-in devices and wasm as the default', async () => {
    expect(defaultDeviceRegistry.names()).toEqual(['cpu', 'tensorflow', 'wasm', 'webgpu']);
    const device = await useDevice();
    expect(device.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(device.ledger.budgetBytes).toBe(WASM_HEAP_BUDGET_BYTES);
    expect(WASM_HEAP_BUDGET_BYTES).toBe(3_543_348_019);
  });

  it('switches backends and returns one device object per name', async () => {
    const cpu = await useDevice('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(cpu.isActive()).toBe(true);
    const wasm = await useDevice('wasm');
    expect(cpu.isActive()).toBe(false);
    expect(await useDevice('wasm')).toBe(wasm);
    expect(defaultDeviceRegistry.maybeActiveDevice()).toBe(wasm);
    const error = (() => {
      try {
        cpu.assertActive();
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(DeviceNotActiveError);
    expect((error as Error).message).toBe(
      "The model lives on the `cpu` device, but the active TF.js backend is `wasm`. Call `await useDevice('cpu')` before using it.",
    );
  });

  it('names the known devices when asked for an unknown one', async () => {
    const error = await rejection(useDevice('metal'));
    expect(error).toBeInstanceOf(UnknownDeviceError);
    expect(error).toMatchObject({
      category: 'not_found',
      device: 'metal',
      message: 'The device `metal` is not known. Known devices: cpu, tensorflow, wasm, webgpu.',
    });
  });

  it('says what to install when tfjs-node is absent', async () => {
    const error = await rejection(useDevice('tensorflow'));
    expect(error).toBeInstanceOf(DeviceUnavailableError);
    expect((error as Error).message).toBe(
      'The `tensorflow` device needs @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA), and neither is installed. ' +
        'Install one with `npm install @tensorflow/tfjs-node@4.22.0`, or use the `wasm` or `cpu` device.',
    );
  });

  it('reports a tfjs-node that is installed but fails to load, with the cause', async () => {
    const broken = new Error('The Node.js native addon module (tfjs_binding.node) can not be found.');
    const registry = new DeviceRegistry([
      new TensorflowDeviceProvider(async (pkg) => {
        if (pkg === '@tensorflow/tfjs-node-gpu') {
          throw Object.assign(new Error(`Cannot find package '${pkg}' imported from x.js`), { code: 'ERR_MODULE_NOT_FOUND' });
        }
        throw broken;
      }),
    ]);
    const error = await rejection(registry.use('tensorflow'));
    expect(error).toBeInstanceOf(DeviceUnavailableError);
    expect(error).toMatchObject({
      cause: broken,
      message:
        'The `tensorflow` device could not load @tensorflow/tfjs-node: The Node.js native addon module (tfjs_binding.node) can not be found. ' +
        'Reinstall it (its install step downloads libtensorflow), or use the `wasm` or `cpu` device.',
    });
  });

  it('reports a package that loads but registers no backend', async () => {
    const registry = new DeviceRegistry([new TensorflowDeviceProvider(async () => ({}))]);
    const error = await rejection(registry.use('tensorflow'));
    expect((error as Error).message).toBe(
      '@tensorflow/tfjs-node-gpu loaded but registered no `tensorflow` TF.js backend; check that it matches @tensorflow/tfjs 4.22.0.',
    );
  });

  it('accepts new providers once per name', async () => {
    const registry = new DeviceRegistry([new CpuDeviceProvider()]);
    registry.register({ ...new CpuDeviceProvider(), name: 'cpu2', load: async () => {}, storageView: () => undefined });
    expect(registry.names()).toEqual(['cpu', 'cpu2']);
    expect(() => registry.register(new CpuDeviceProvider())).toThrow(InvalidOperationError);
    expect(() => registry.register(new CpuDeviceProvider())).toThrow('A device provider named `cpu` is already registered.');
    const device = await registry.use('cpu2');
    expect(device.backendName).toBe('cpu');
  });

  it('exposes tensor storage for in-place writes on wasm and cpu', async () => {
    for (const [name, provider] of [
      ['wasm', new WasmDeviceProvider()],
      ['cpu', new CpuDeviceProvider()],
    ] as const) {
      await useDevice(name);
      const t = tf.zeros([2, 3]);
      const view = provider.storageView(t);
      expect(view).toBeDefined();
      view![4] = 9;
      expect([...t.dataSync()]).toEqual([0, 0, 0, 0, 9, 0]);
      t.dispose();
    }
    expect(new TensorflowDeviceProvider().storageView()).toBeUndefined();
  });
});

describe(HeapLedger, () => {
  it('reserves, refuses with the sizes, and releases', () => {
    const ledger = new HeapLedger('wasm', 3 * 2 ** 30);
    const model = ledger.reserve('the model', { weights: 2 ** 30, packedWeights: 2 ** 30 });
    expect(ledger.reservedBytes()).toBe(2 ** 31);
    let error: unknown;
    try {
      ledger.reserve('a KV cache of 8192 positions for 1 sequence(s)', { kvCache: 1.5 * 2 ** 30 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HeapBudgetExceededError);
    expect(error).toMatchObject({
      device: 'wasm',
      neededBytes: 1_610_612_736,
      availableBytes: 1_073_741_824,
      budgetBytes: 3_221_225_472,
      message:
        'A KV cache of 8192 positions for 1 sequence(s) needs 1.50 GiB (1610612736 bytes) of the `wasm` device\'s memory (KV cache 1.50 GiB (1610612736 bytes)), ' +
        'but only 1.00 GiB (1073741824 bytes) of its 3.00 GiB (3221225472 bytes) budget is available. ' +
        'Use a smaller model or a shorter maximum cache length, split the model across workers with tensor parallelism (`tp`), ' +
        'or use another device (`cpu`, or `tensorflow` with @tensorflow/tfjs-node installed).',
    });
    expect(ledger.reservedBytes()).toBe(2 ** 31);
    model.release();
    model.release();
    expect(ledger.reservedBytes()).toBe(0);
  });

  it('refuses nothing without a budget', () => {
    const ledger = new HeapLedger('cpu', undefined);
    expect(ledger.availableBytes()).toBe(Infinity);
    expect(ledger.reserve('the model', { weights: 2 ** 40 }).bytes).toBe(2 ** 40);
  });
});
