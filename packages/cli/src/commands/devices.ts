import { DeviceUnavailableError, defaultDeviceRegistry, type DeviceRegistry } from '@fs2/core';
import type { Command } from 'commander';

import type { CommandContext } from '../context.js';

/** One line of `fs2 devices`: a device, whether it works here, and its facts or the reason it does not. */
export interface DeviceReport {
  readonly name: string;
  readonly available: boolean;
  readonly description: string;
  /** The loaded device's facts (the `webgpu` adapter's name and limits). */
  readonly details?: Readonly<Record<string, string | number | boolean>>;
  /** Why it is unavailable: the error's message, which says what to install. */
  readonly reason?: string;
}

/**
 * `fs2 devices`: tries every registered device (`wasm`, `cpu`, `tensorflow`, `webgpu`, and any an
 * extension added) and lists which work here, the `webgpu` adapter's name, and for the others what
 * is missing. Exits 0 either way: a missing optional device is not an error.
 */
export function registerDevicesCommand(program: Command, context: CommandContext, registry: DeviceRegistry = defaultDeviceRegistry): void {
  program
    .command('devices')
    .description('list the devices models can run on here (and what the others need)')
    .option('--json', 'print one JSON array')
    .action(async (options: { json?: boolean }) => {
      const reports = await probeDevices(registry);
      const { stdout } = context.options;
      if (options.json === true) {
        stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
        return;
      }
      const width = Math.max(...reports.map((r) => r.name.length));
      for (const r of reports) {
        stdout.write(`${r.name.padEnd(width)}  ${r.available ? 'available  ' : 'unavailable'}  ${r.available ? r.description : (r.reason as string)}\n`);
        for (const [key, value] of Object.entries(r.details ?? {}).filter(([, v]) => v !== '')) {
          stdout.write(`${''.padEnd(width)}  ${key}: ${value}\n`);
        }
      }
    });
}

/**
 * Loads and activates each device of `registry` in name order, recording what it reports; the
 * device active before (if any) is active again afterwards. Errors other than a device being
 * unavailable propagate.
 */
export async function probeDevices(registry: DeviceRegistry): Promise<DeviceReport[]> {
  const previous = registry.maybeActiveDevice()?.name;
  const reports: DeviceReport[] = [];
  for (const name of registry.names()) {
    const provider = registry.provider(name);
    try {
      await registry.use(name);
      const details = provider.details?.();
      reports.push({ name, available: true, description: provider.description, ...(details === undefined ? {} : { details }) });
    } catch (error) {
      if (!(error instanceof DeviceUnavailableError)) {
        throw error;
      }
      reports.push({ name, available: false, description: provider.description, reason: error.message });
    }
  }
  if (previous !== undefined) {
    await registry.use(previous);
  }
  return reports;
}
