import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Receives the metrics a trainer or evaluator publishes (fairseq2's `MetricRecorder`): one call
 * per section (`train`, `valid`, `eval`, ...) and step.
 */
export interface MetricRecorder {
  record(section: string, step: number, values: Readonly<Record<string, number>>): Promise<void>;
}

/**
 * Writes each section's metrics as JSON lines, `<dir>/<section>.jsonl`: `{"step": 10, "nll": 2.31,
 * ...}`, appended (a resumed run continues its files).
 */
export class JsonlMetricRecorder implements MetricRecorder {
  constructor(readonly dir: string) {}

  async record(section: string, step: number, values: Readonly<Record<string, number>>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await appendFile(join(this.dir, `${section}.jsonl`), `${JSON.stringify({ step, ...values })}\n`);
  }
}

/** Metric names shown by {@link LogMetricRecorder} under a shorter label. */
const LABELS: Readonly<Record<string, string>> = { elements_per_second: 'tok/s', perplexity: 'ppl' };

/** Formats a metric value for a log line: integers as is, others with 4 significant digits. */
export function formatMetric(value: number): string {
  if (Number.isInteger(value)) {
    return value.toLocaleString('en-US');
  }
  const magnitude = Math.abs(value);
  return magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e6) ? value.toExponential(3) : value.toPrecision(4);
}

/** Prints one line per publication: `[train] step 100 | grad_norm 0.812 | lr 3.000e-4 | nll 2.310 | ...`. */
export class LogMetricRecorder implements MetricRecorder {
  constructor(private readonly log: (line: string) => void) {}

  record(section: string, step: number, values: Readonly<Record<string, number>>): Promise<void> {
    const parts = Object.entries(values).map(([name, value]) => `${LABELS[name] ?? name} ${formatMetric(value)}`);
    this.log([`[${section}] step ${step}`, ...parts].join(' | '));
    return Promise.resolve();
  }
}
