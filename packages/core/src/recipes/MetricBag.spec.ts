import { describe, expect, it } from '@jest/globals';

import { caught } from '../../../../test/support/index.js';
import { createLrSchedule } from './lrSchedule.js';
import { MetricBag } from './MetricBag.js';
import { formatMetric } from './MetricRecorder.js';

describe('MetricBag', () => {
  it('keeps weighted means, sums and last values, sorted, with derived metrics', () => {
    const bag = new MetricBag();
    bag.derive('perplexity', (v) => (v['nll'] === undefined ? undefined : Math.exp(v['nll'])));
    expect(bag.isEmpty).toBe(true);
    expect(bag.values()).toEqual({});
    bag.updateMean('nll', 2, 10);
    bag.updateMean('nll', 4, 30);
    bag.updateSum('num_elements', 10);
    bag.updateSum('num_elements', 30);
    bag.set('lr', 0.1);
    bag.set('lr', 0.2);
    expect(bag.values()).toEqual({ lr: 0.2, nll: 3.5, num_elements: 40, perplexity: Math.exp(3.5) });
    expect(Object.keys(bag.values())).toEqual(['lr', 'nll', 'num_elements', 'perplexity']);
  });

  it('saves and restores what it recorded, and refuses a metric of two kinds', () => {
    const bag = new MetricBag();
    bag.updateMean('nll', 2, 4);
    const copy = new MetricBag();
    copy.restoreState(JSON.parse(JSON.stringify(bag.state())) as ReturnType<MetricBag['state']>);
    copy.updateMean('nll', 1, 4);
    expect(copy.values()).toEqual({ nll: 1.5 });
    bag.reset();
    expect(bag.isEmpty).toBe(true);
    expect(caught(() => copy.updateSum('nll', 1)).message).toBe('The metric `nll` is a mean metric, not a sum one.');
  });
});

describe('createLrSchedule', () => {
  it('warms up linearly from the first step, then stays constant', () => {
    const lr = createLrSchedule('constant', { baseLr: 1, numSteps: 10, numWarmupSteps: 4 });
    expect([1, 2, 3, 4, 5, 10].map(lr)).toEqual([0.25, 0.5, 0.75, 1, 1, 1]);
  });

  it('anneals along a cosine to the final scale at the last step', () => {
    const lr = createLrSchedule('cosine_annealing', { baseLr: 1, numSteps: 12, numWarmupSteps: 2, startLr: 0.5, finalLrScale: 0.1 });
    expect(lr(1)).toBe(0.75);
    expect(lr(2)).toBe(1);
    expect(lr(7)).toBeCloseTo(0.55, 12); // halfway: (1 + 0.1) / 2
    expect(lr(12)).toBeCloseTo(0.1, 12);
    expect(lr(20)).toBeCloseTo(0.1, 12);
    expect(caught(() => createLrSchedule('constant', { baseLr: 1, numSteps: 1, numWarmupSteps: -1 })).message).toBe(
      '`numWarmupSteps` must be a non-negative integer, but is -1.',
    );
  });
});

describe('formatMetric', () => {
  it('shows integers whole and other values with four significant digits', () => {
    expect([1234567, 2.30258, 0.0003, 1e7 + 0.5, 0].map(formatMetric)).toEqual(['1,234,567', '2.303', '3.000e-4', '1.000e+7', '0']);
  });
});
