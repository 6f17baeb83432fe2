import { createServiceIdentifier, type ServiceIdentifier } from '../../runtime/ServiceIdentifier.js';

/** What a task counts: bytes (shown as KiB, MiB, ...) or plain items (files, tensors, layers). */
export type ProgressUnit = 'bytes' | 'items';

/** Options of {@link ProgressReporter.startTask}. */
export interface ProgressTaskOptions {
  /** What the task does, shown before its bar: "Downloading llama3_8b". */
  readonly description: string;
  /** The amount that completes the task. Default: unknown (no percentage, no bar). */
  readonly total?: number;
  /** What the amounts count. Default: `items`. */
  readonly unit?: ProgressUnit;
  /** What one item is, in messages: `tensors` gives "(39 tensors)". Default: none (a bare count). */
  readonly itemName?: string;
  /** The amount already done when the task starts (a resumed download). Default: `0`. */
  readonly completed?: number;
}

/** A running task of a {@link ProgressReporter}. */
export interface ProgressTask {
  /** Adds `amount` to the amount done. */
  advance(amount: number): void;
  /** Sets the amount done (a download that restarted from zero). */
  update(completed: number): void;
  /** Ends the task: its bar is completed and removed, or its final line printed. Idempotent. */
  finish(): void;
  /** Ends the task without the completion line (an error). Idempotent. */
  abort(): void;
}

/**
 * Reports the progress of long tasks (downloads, extraction, model loading): fairseq2's
 * `ProgressReporter`. The standard one draws bars on stderr when it is a terminal and prints a
 * line now and then otherwise; `FAIRSEQ2_NO_PROGRESS` or `initFairseq2({ noProgress: true })`
 * turns tasks off.
 */
export interface ProgressReporter {
  /** Whether tasks are shown at all. */
  readonly enabled: boolean;
  /** Starts a task. When the reporter is disabled the task does nothing. */
  startTask(options: ProgressTaskOptions): ProgressTask;
  /**
   * Prints a line that is not a task ("waiting for another process ..."), above any bars. Printed
   * even when tasks are off: it says why nothing seems to happen.
   */
  message(text: string): void;
}

export const ProgressReporter: ServiceIdentifier<ProgressReporter> = createServiceIdentifier('ProgressReporter');

const NOOP_TASK: ProgressTask = {
  advance: () => undefined,
  update: () => undefined,
  finish: () => undefined,
  abort: () => undefined,
};

/** A {@link ProgressReporter} that shows nothing and drops messages: for tests and embedding. */
export class NoopProgressReporter implements ProgressReporter {
  readonly enabled = false;

  startTask(): ProgressTask {
    return NOOP_TASK;
  }

  message(): void {}
}
