import { InvalidArgumentError } from '../../errors/Fs2Error.js';
import type { Device } from '../devices/Device.js';
import { HeapLedger } from '../devices/HeapLedger.js';
import { CPU_KERNELS_MEMORY_NAME, CpuKernels, KERNEL_MEMORY_MAX_BYTES } from './CpuKernels.js';

/**
 * The budget of the CPU kernels' memory (its own wasm32 space, beside TF.js's heap), which models
 * reserve their linear weights and KV caches from before allocating.
 */
export const cpuKernelsLedger: HeapLedger = new HeapLedger(CPU_KERNELS_MEMORY_NAME, KERNEL_MEMORY_MAX_BYTES - 2 ** 26);

/** Options of {@link configureCpuKernels}. */
export interface CpuKernelsConfig {
  /**
   * Whether models on the `wasm` device run their linear layers on fs2's CPU kernels (weights held
   * once, in panels, products on several threads) instead of TF.js's matMul. Default: `true`.
   */
  readonly enabled?: boolean;
  /**
   * Threads of the kernels (this one and `threads - 1` workers). Takes effect when the kernels
   * start (the first model loaded with them). Default: `min(availableParallelism(), 4)`.
   */
  readonly threads?: number;
}

let enabled = true;
let threads: number | undefined;
let kernels: CpuKernels | undefined;

/**
 * Turns fs2's CPU kernels on or off for models loaded from now on, and sets their thread count
 * (before they start).
 *
 * @throws InvalidArgumentError when `threads` is not a positive integer, or differs from that of kernels already started. `fs2 bench --no-kernels` compares with TF.js's own matMul this way.
 */
export function configureCpuKernels(config: CpuKernelsConfig): void {
  if (config.enabled !== undefined) {
    enabled = config.enabled;
  }
  if (config.threads !== undefined) {
    if (!Number.isSafeInteger(config.threads) || config.threads < 1) {
      throw new InvalidArgumentError('threads', `The CPU kernels need a positive whole number of threads, not ${config.threads}.`);
    }
    if (kernels !== undefined && kernels.threads !== config.threads) {
      throw new InvalidArgumentError(
        'threads',
        `The CPU kernels already run on ${kernels.threads} thread(s); set \`threads\` before the first model is loaded.`,
      );
    }
    threads = config.threads;
  }
}

/** The process's CPU kernels (started on first use). */
export function getCpuKernels(): CpuKernels {
  kernels ??= CpuKernels.create(threads === undefined ? {} : { threads });
  return kernels;
}

/** Whether modules on `device` run on the CPU kernels: the `wasm` device, while enabled. Starts nothing. */
export function cpuKernelsEnabledFor(device: Device): boolean {
  return enabled && device.backendName === 'wasm';
}

/** The CPU kernels a module on `device` should use (started on first use), or none (see {@link cpuKernelsEnabledFor}). */
export function cpuKernelsFor(device: Device): CpuKernels | undefined {
  return cpuKernelsEnabledFor(device) ? getCpuKernels() : undefined;
}

/** The size of the CPU kernels' memory (0 before they start): weights, scratch and the control block. */
export function kernelMemoryBytes(): number {
  return kernels?.memoryBytes ?? 0;
}
