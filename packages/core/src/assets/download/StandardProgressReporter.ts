import cliProgress from 'cli-progress';

import type { ProgressReporter, ProgressTask, ProgressTaskOptions, ProgressUnit } from './ProgressReporter.js';

/** Where a {@link StandardProgressReporter} writes: `process.stderr` or anything like it. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** Options of {@link StandardProgressReporter}. */
export interface StandardProgressReporterOptions {
  /** Show tasks. Messages are printed either way. Default: `true`. */
  readonly enabled?: boolean;
  /** Where bars and lines go. Default: `process.stderr`. */
  readonly stream?: ProgressStream;
  /**
   * Draw bars (`cli-progress`, redrawn in place) rather than print lines. Default: whether
   * `stream` is a terminal (`stream.isTTY`): `cli-progress` prints nothing to a pipe or a file.
   */
  readonly tty?: boolean;
  /**
   * Without a terminal, the longest time between two lines of a running task, in milliseconds;
   * a line is also printed at every 10 %. Default: `5000` (a CI log gets a line every few seconds,
   * never one per chunk).
   */
  readonly lineIntervalMs?: number;
  /**
   * Without a terminal, the 10 % lines start only once a task has run this long, in milliseconds,
   * so that a quick task (loading a tiny model) prints its start and end lines only. Default: `1000`.
   */
  readonly quietMs?: number;
  /** The clock of the line mode, in milliseconds. Default: `Date.now`. */
  readonly clock?: () => number;
}

/** Default of {@link StandardProgressReporterOptions.lineIntervalMs}. */
const DEFAULT_LINE_INTERVAL_MS = 5000;

/** Default of {@link StandardProgressReporterOptions.quietMs}. */
const DEFAULT_QUIET_MS = 1000;

/** Width of a bar in characters; cli-progress's own default is 40, which crowds 80 columns. */
const BAR_SIZE = 30;

/** `1.5 MiB`: binary units with one decimal (`512 B` below 1 KiB), or a plain count for items. */
export function formatAmount(value: number, unit: ProgressUnit, itemName?: string): string {
  if (unit === 'items') {
    return itemName === undefined ? String(value) : `${value} ${itemName}`;
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let amount = value;
  let index = 0;
  while (amount >= 1024 && index < units.length - 1) {
    amount /= 1024;
    index += 1;
  }
  return index === 0 ? `${value} B` : `${amount.toFixed(1)} ${units[index]}`;
}

/**
 * The standard {@link ProgressReporter}: `cli-progress` bars on stderr when it is a terminal, a
 * line per task at every 10 % (or every few seconds) when it is not, nothing when disabled.
 */
export class StandardProgressReporter implements ProgressReporter {
  readonly enabled: boolean;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly lineIntervalMs: number;
  private readonly quietMs: number;
  private readonly clock: () => number;
  private multiBar: cliProgress.MultiBar | undefined;
  private activeBars = 0;

  constructor(options: StandardProgressReporterOptions = {}) {
    this.enabled = options.enabled ?? true;
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? this.stream.isTTY === true;
    this.lineIntervalMs = options.lineIntervalMs ?? DEFAULT_LINE_INTERVAL_MS;
    this.quietMs = options.quietMs ?? DEFAULT_QUIET_MS;
    this.clock = options.clock ?? Date.now;
  }

  startTask(options: ProgressTaskOptions): ProgressTask {
    if (!this.enabled) {
      return { advance: () => undefined, update: () => undefined, finish: () => undefined, abort: () => undefined };
    }
    return this.tty ? this.startBar(options) : this.startLines(options);
  }

  message(text: string): void {
    if (this.multiBar !== undefined) {
      this.multiBar.log(`${text}\n`);
      // cli-progress prints logged lines on its next redraw; force one so the line is not lost.
      this.multiBar.update();
    } else {
      this.stream.write(`${text}\n`);
    }
  }

  private startBar(options: ProgressTaskOptions): ProgressTask {
    const unit = options.unit ?? 'items';
    const total = options.total;
    this.multiBar ??= new cliProgress.MultiBar(
      {
        stream: this.stream as NodeJS.WritableStream,
        barsize: BAR_SIZE,
        hideCursor: false,
        gracefulExit: false,
        clearOnComplete: false,
        autopadding: true,
        format: '{description} {bar} {percentage}% | {done} of {totalText} | ETA {eta_formatted}',
      },
      cliProgress.Presets.shades_classic,
    );
    const payload = (value: number): Record<string, string> => ({
      description: options.description,
      done: formatAmount(value, unit, options.itemName),
      totalText: total === undefined ? '?' : formatAmount(total, unit, options.itemName),
    });
    let value = options.completed ?? 0;
    const bar = this.multiBar.create(
      total ?? 0,
      value,
      payload(value),
      total === undefined ? { format: '{description} {done}' } : {},
    );
    this.activeBars += 1;
    let ended = false;
    const end = (complete: boolean): void => {
      if (ended) {
        return;
      }
      ended = true;
      if (complete && total !== undefined) {
        bar.update(total, payload(total));
      }
      bar.stop();
      this.activeBars -= 1;
      if (this.activeBars === 0 && this.multiBar !== undefined) {
        this.multiBar.stop();
        this.multiBar = undefined;
      }
    };
    return {
      advance: (amount) => {
        value += amount;
        bar.update(value, payload(value));
      },
      update: (completed) => {
        value = completed;
        bar.update(value, payload(value));
      },
      finish: () => end(true),
      abort: () => end(false),
    };
  }

  private startLines(options: ProgressTaskOptions): ProgressTask {
    const unit = options.unit ?? 'items';
    const total = options.total;
    let value = options.completed ?? 0;
    const startedAt = this.clock();
    let lastLineAt = startedAt;
    let lastDecile = total === undefined || total === 0 ? 0 : Math.floor((value * 10) / total);
    let ended = false;
    const describe = (): string => {
      if (total === undefined) {
        return `${options.description}: ${formatAmount(value, unit, options.itemName)}`;
      }
      const percent = total === 0 ? 100 : Math.floor((value * 100) / total);
      return `${options.description}: ${percent}% (${formatAmount(value, unit, options.itemName)} of ${formatAmount(total, unit, options.itemName)})`;
    };
    const maybePrint = (): void => {
      const now = this.clock();
      const decile = total === undefined || total === 0 ? lastDecile : Math.floor((value * 10) / total);
      const decileLine = decile > lastDecile && (total === undefined || value < total) && now - startedAt >= this.quietMs;
      if (decileLine || now - lastLineAt >= this.lineIntervalMs) {
        this.stream.write(`${describe()}\n`);
        lastLineAt = now;
      }
      lastDecile = Math.max(lastDecile, decile);
    };
    this.stream.write(
      value > 0
        ? `${options.description}: resuming at ${formatAmount(value, unit, options.itemName)}${total === undefined ? '' : ` of ${formatAmount(total, unit, options.itemName)}`}\n`
        : `${options.description}: started${total === undefined ? '' : ` (${formatAmount(total, unit, options.itemName)})`}\n`,
    );
    return {
      advance: (amount) => {
        if (!ended) {
          value += amount;
          maybePrint();
        }
      },
      update: (completed) => {
        if (!ended) {
          value = completed;
          lastDecile = total === undefined || total === 0 ? 0 : Math.floor((value * 10) / total);
        }
      },
      finish: () => {
        if (!ended) {
          ended = true;
          this.stream.write(`${options.description}: done (${formatAmount(total ?? value, unit, options.itemName)})\n`);
        }
      },
      abort: () => {
        ended = true;
      },
    };
  }
}
