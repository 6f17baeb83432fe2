import cliProgress from 'cli-progress';

/** What a progress display shows about the latest step. */
export interface TrainingProgressUpdate {
  /** The loss of the step (nats per target). */
  readonly loss?: number;
  /** Input tokens per second since the previous update. */
  readonly tokensPerSecond?: number;
}

/** Shows how a training (or evaluation, generation) run advances. */
export interface TrainingProgress {
  /** Starts the display at `done` of `total` steps. */
  start(description: string, total: number, done: number): void;
  /** Moves to `done` steps. */
  update(done: number, values?: TrainingProgressUpdate): void;
  /** Prints a line above the display. */
  log(line: string): void;
  /** Ends the display. Idempotent. */
  stop(): void;
}

/** Shows nothing; lines go to `log`. */
export class LineTrainingProgress implements TrainingProgress {
  constructor(private readonly write: (line: string) => void) {}

  start(): void {}

  update(): void {}

  log(line: string): void {
    this.write(line);
  }

  stop(): void {}
}

/** Width of the bar in characters. */
const BAR_SIZE = 24;

/**
 * A `cli-progress` bar redrawn in place on a terminal: `Training |███░░| 120/1000 | loss 2.31 |
 * 1,204 tok/s | ETA 12m3s`, with log lines printed above it.
 */
export class BarTrainingProgress implements TrainingProgress {
  private bar: cliProgress.SingleBar | undefined;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  start(description: string, total: number, done: number): void {
    this.stop();
    this.bar = new cliProgress.SingleBar(
      {
        stream: this.stream,
        barsize: BAR_SIZE,
        hideCursor: false,
        gracefulExit: false,
        clearOnComplete: false,
        etaBuffer: 20,
        format: `${description} |{bar}| {value}/{total} | loss {loss} | {tps} tok/s | ETA {eta_formatted}`,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, done, { loss: '-', tps: '-' });
  }

  update(done: number, values: TrainingProgressUpdate = {}): void {
    this.bar?.update(done, {
      ...(values.loss === undefined ? {} : { loss: values.loss.toFixed(3) }),
      ...(values.tokensPerSecond === undefined ? {} : { tps: Math.round(values.tokensPerSecond).toLocaleString('en-US') }),
    });
  }

  log(line: string): void {
    if (this.bar === undefined) {
      this.stream.write(`${line}\n`);
      return;
    }
    // Clear the bar's line, print, and let the next update redraw it.
    this.stream.write(`\r\u001b[2K${line}\n`);
    this.bar.render();
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
