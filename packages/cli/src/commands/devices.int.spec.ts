import { describe, expect, it } from '@jest/globals';
import { Command } from 'commander';

import { CpuDeviceProvider, DeviceRegistry, DeviceUnavailableError, type DeviceProvider } from '@fs2/core';

import { createCommandContext } from '../context.js';
import { runCli } from '../main.js';
import { probeDevices, registerDevicesCommand } from './devices.js';

/** A cpu-backed device with details, and one whose backend cannot load. */
function registry(): DeviceRegistry {
  const cpu = new CpuDeviceProvider();
  const gpu: DeviceProvider = {
    ...cpu,
    name: 'gpu',
    description: 'a test GPU',
    load: () => cpu.load(),
    storageView: () => undefined,
    details: () => ({ adapter: 'test-adapter (driver 1.0)', maxStorageBufferBindingSize: 2147483644 }),
  };
  const broken: DeviceProvider = {
    ...cpu,
    name: 'broken',
    description: 'never loads',
    load: async () => {
      throw new DeviceUnavailableError('broken', 'The `broken` device needs the package broken-backend. Install it with `npm install broken-backend`.');
    },
    storageView: () => undefined,
  };
  return new DeviceRegistry([cpu, gpu, broken]);
}

async function run(args: string[], reg: DeviceRegistry): Promise<{ stdout: string; code: number }> {
  let stdout = '';
  let code = 0;
  const context = createCommandContext({ stdout: { write: (t: string) => (stdout += t) }, stderr: { write: () => undefined } }, (c) => (code = c));
  const program = new Command('fs2').exitOverride();
  registerDevicesCommand(program, context, reg);
  await program.parseAsync(args, { from: 'user' });
  return { stdout, code };
}

describe('fs2 devices', () => {
  it('lists every device, what works here with its facts, and what the others need', async () => {
    expect(await run(['devices'], registry())).toEqual({
      code: 0,
      stdout:
        'broken  unavailable  The `broken` device needs the package broken-backend. Install it with `npm install broken-backend`.\n' +
        'cpu     available    TF.js plain JavaScript backend (slow; no heap limit)\n' +
        'gpu     available    a test GPU\n' +
        '        adapter: test-adapter (driver 1.0)\n' +
        '        maxStorageBufferBindingSize: 2147483644\n',
    });
  });

  it('prints JSON, and leaves the device that was active before active', async () => {
    const reg = registry();
    await reg.use('gpu');
    const { stdout } = await run(['devices', '--json'], reg);
    expect(JSON.parse(stdout)).toEqual([
      { name: 'broken', available: false, description: 'never loads', reason: 'The `broken` device needs the package broken-backend. Install it with `npm install broken-backend`.' },
      { name: 'cpu', available: true, description: 'TF.js plain JavaScript backend (slow; no heap limit)' },
      { name: 'gpu', available: true, description: 'a test GPU', details: { adapter: 'test-adapter (driver 1.0)', maxStorageBufferBindingSize: 2147483644 } },
    ]);
    expect(reg.maybeActiveDevice()?.name).toBe('gpu');
  });

  it('lets other errors through', async () => {
    const reg = new DeviceRegistry([{ ...new CpuDeviceProvider(), name: 'bug', load: async () => Promise.reject(new TypeError('x is undefined')), storageView: () => undefined }]);
    await expect(probeDevices(reg)).rejects.toThrow('x is undefined');
  });

  it('is a command of the fs2 binary', async () => {
    let stdout = '';
    const code = await runCli(['devices', '--help'], { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: () => undefined } });
    expect(code).toBe(0);
    expect(stdout).toContain('list the devices models can run on here (and what the others need)');
  });
});
