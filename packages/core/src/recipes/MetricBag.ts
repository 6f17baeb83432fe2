import { InvalidArgumentError } from '../errors/Fs2Error.js';

/** How a metric combines what is recorded between two publications. */
type MetricKind = 'mean' | 'sum' | 'last';

interface MetricValue {
  readonly kind: MetricKind;
  total: number;
  weight: number;
}

/** What {@link MetricBag.state} saves: each metric's kind, total and weight. */
export type MetricBagState = Readonly<Record<string, { readonly kind: MetricKind; readonly total: number; readonly weight: number }>>;

/**
 * The metrics a unit or a trainer records between two publications (fairseq2's `MetricBag`):
 * weighted means (`nll`, weighted by targets), sums (`num_elements`) and last values (`lr`), plus
 * metrics derived from them when read (`perplexity` from `nll`). Values are plain numbers, read
 * from the device by whoever records them.
 */
export class MetricBag {
  private readonly metrics = new Map<string, MetricValue>();
  private readonly derived = new Map<string, (values: Readonly<Record<string, number>>) => number | undefined>();

  /** Adds `value` with `weight` to the weighted mean `name`. */
  updateMean(name: string, value: number, weight = 1): void {
    const metric = this.metric(name, 'mean');
    metric.total += value * weight;
    metric.weight += weight;
  }

  /** Adds `value` to the sum `name`. */
  updateSum(name: string, value: number): void {
    const metric = this.metric(name, 'sum');
    metric.total += value;
    metric.weight = 1;
  }

  /** Sets `name` to `value` (the last one recorded is read). */
  set(name: string, value: number): void {
    const metric = this.metric(name, 'last');
    metric.total = value;
    metric.weight = 1;
  }

  /**
   * A metric computed from the others when they are read, e.g. `perplexity` from `nll`; left out
   * when `compute` returns `undefined` (what it needs was not recorded).
   */
  derive(name: string, compute: (values: Readonly<Record<string, number>>) => number | undefined): void {
    this.derived.set(name, compute);
  }

  /** Whether nothing was recorded since the last reset. */
  get isEmpty(): boolean {
    return [...this.metrics.values()].every((m) => m.weight === 0);
  }

  /** The current values, sorted by name: means divided by their weight, derived metrics added. */
  values(): Record<string, number> {
    const values: Record<string, number> = {};
    for (const [name, metric] of this.metrics) {
      if (metric.weight > 0) {
        values[name] = metric.kind === 'mean' ? metric.total / metric.weight : metric.total;
      }
    }
    for (const [name, compute] of this.derived) {
      const value = compute(values);
      if (value !== undefined) {
        values[name] = value;
      }
    }
    return Object.fromEntries(Object.entries(values).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** Forgets what was recorded (the derived metrics stay). */
  reset(): void {
    this.metrics.clear();
  }

  /** What was recorded, for a checkpoint. */
  state(): MetricBagState {
    return Object.fromEntries([...this.metrics].map(([name, m]) => [name, { kind: m.kind, total: m.total, weight: m.weight }]));
  }

  /** Restores what {@link state} returned. */
  restoreState(state: MetricBagState): void {
    this.metrics.clear();
    for (const [name, m] of Object.entries(state)) {
      this.metrics.set(name, { kind: m.kind, total: m.total, weight: m.weight });
    }
  }

  private metric(name: string, kind: MetricKind): MetricValue {
    let metric = this.metrics.get(name);
    if (metric === undefined) {
      metric = { kind, total: 0, weight: 0 };
      this.metrics.set(name, metric);
    } else if (metric.kind !== kind) {
      throw new InvalidArgumentError('name', `The metric \`${name}\` is a ${metric.kind} metric, not a ${kind} one.`);
    }
    return metric;
  }
}
