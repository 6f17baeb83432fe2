import { HeapBudgetExceededError, type MemoryBreakdown } from '../errors.js';

/** Bytes held against a {@link HeapLedger}; `release()` gives them back (twice is harmless). */
export interface HeapReservation {
  readonly what: string;
  readonly bytes: number;
  release(): void;
}

/**
 * The byte budget of one device, kept by hand because the wasm heap does not report running out:
 * past ~3.5 GiB `malloc` returns NULL and TF.js writes tensors over each other
 * (js-ecosystem.md §2.2; tensorflow/tfjs#4208). Models and KV caches reserve what they will need
 * before allocating anything, and are refused when it does not fit.
 *
 * A ledger without a budget (`cpu`, `tensorflow`: ordinary process memory) records reservations but
 * refuses nothing.
 */
export class HeapLedger {
  private reserved = 0;

  constructor(
    /** The device name, for messages. */
    readonly device: string,
    /** The budget in bytes, or `undefined` when the device has no fixed limit. */
    readonly budgetBytes: number | undefined,
  ) {}

  /** Bytes currently reserved. */
  reservedBytes(): number {
    return this.reserved;
  }

  /** Bytes still available (`Infinity` without a budget). */
  availableBytes(): number {
    return this.budgetBytes === undefined ? Infinity : Math.max(0, this.budgetBytes - this.reserved);
  }

  /**
   * Throws {@link HeapBudgetExceededError} when `breakdown` (summed) does not fit in what is available;
   * reserves nothing.
   */
  check(what: string, breakdown: Partial<MemoryBreakdown>): number {
    const needed = sum(breakdown);
    if (this.budgetBytes !== undefined && needed > this.availableBytes()) {
      throw new HeapBudgetExceededError(this.device, what, needed, this.availableBytes(), this.budgetBytes, breakdown);
    }
    return needed;
  }

  /** Like {@link HeapLedger.check}, then holds the bytes until the reservation is released. */
  reserve(what: string, breakdown: Partial<MemoryBreakdown>): HeapReservation {
    const bytes = this.check(what, breakdown);
    this.reserved += bytes;
    let released = false;
    return {
      what,
      bytes,
      release: () => {
        if (!released) {
          released = true;
          this.reserved -= bytes;
        }
      },
    };
  }
}

function sum(breakdown: Partial<MemoryBreakdown>): number {
  return Object.values(breakdown).reduce((total: number, v) => total + (v ?? 0), 0);
}
