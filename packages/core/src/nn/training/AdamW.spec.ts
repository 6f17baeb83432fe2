import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import { caught } from '../../../../../test/support/index.js';
import { useDevice } from '../devices/DeviceRegistry.js';
import { StateKeyMismatchError } from '../errors.js';
import { AdamW } from './AdamW.js';
import { clipGradientNorm } from './clipGradientNorm.js';

/** PyTorch's AdamW (non-AMSGrad), in float64, for one parameter. */
function reference(p: number[], grads: number[][], lr: number, [b1, b2]: [number, number], eps: number, wd: number): number[] {
  let m = p.map(() => 0);
  let v = p.map(() => 0);
  let x = [...p];
  grads.forEach((g, index) => {
    const t = index + 1;
    x = x.map((xi) => xi * (1 - lr * wd));
    m = m.map((mi, i) => b1 * mi + (1 - b1) * (g[i] as number));
    v = v.map((vi, i) => b2 * vi + (1 - b2) * (g[i] as number) ** 2);
    const stepSize = lr / (1 - b1 ** t);
    const bias2 = Math.sqrt(1 - b2 ** t);
    x = x.map((xi, i) => xi - (stepSize * (m[i] as number)) / (Math.sqrt(v[i] as number) / bias2 + eps));
  });
  return x;
}

describe('AdamW', () => {
  beforeAll(async () => {
    await useDevice('cpu');
  });

  it('updates as PyTorch does, decaying matrices but not vectors', () => {
    const matrix = tf.variable(tf.tensor2d([[1, -2], [0.5, 3]]));
    const vector = tf.variable(tf.tensor1d([1, -1]));
    const optimizer = new AdamW(new Map<string, tf.Variable>([['w', matrix], ['g', vector]]), { lr: 0.1, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0.5 });
    const grads = [
      [0.1, -0.2, 0.3, 0.4],
      [-0.5, 0.25, 0.0, 1.0],
    ];
    for (const g of grads) {
      optimizer.step(new Map<string, tf.Tensor>([['w', tf.tensor2d(g, [2, 2])], ['g', tf.tensor1d(g.slice(0, 2))]]));
    }
    expect(optimizer.stepCount).toBe(2);
    const w = Array.from(matrix.dataSync());
    reference([1, -2, 0.5, 3], grads, 0.1, [0.9, 0.99], 1e-8, 0.5).forEach((value, i) => expect(w[i]).toBeCloseTo(value, 5));
    const g = Array.from(vector.dataSync());
    reference([1, -1], grads.map((r) => r.slice(0, 2)), 0.1, [0.9, 0.99], 1e-8, 0).forEach((value, i) => expect(g[i]).toBeCloseTo(value, 5));
  });

  it('saves its moments by parameter name and continues identically after a restore', () => {
    const make = () => tf.variable(tf.tensor1d([0.5, -0.5, 2]));
    const a = make();
    const first = new AdamW(new Map([['p', a]]), { lr: 0.01 });
    first.step(new Map([['p', tf.tensor1d([1, 2, 3])]]));
    const saved = [...first.stateEntries()];
    expect(saved.map((e) => e.name)).toEqual(['p.exp_avg', 'p.exp_avg_sq']);

    const b = tf.variable(a.clone());
    const second = new AdamW(new Map([['p', b]]), { lr: 0.01 });
    second.loadState(saved, first.stepCount);
    first.step(new Map([['p', tf.tensor1d([-1, 0, 1])]]));
    second.step(new Map([['p', tf.tensor1d([-1, 0, 1])]]));
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));

    const wrong = caught(() => second.loadState([{ name: 'q.exp_avg', shape: [3], data: new Float32Array(3) }], 1));
    expect(wrong).toBeInstanceOf(StateKeyMismatchError);
    expect(caught(() => new AdamW(new Map(), { betas: [0.9, 1] })).message).toBe('`betas` of AdamW must be in [0, 1), but are [0.9, 1].');
  });
});

describe('clipGradientNorm', () => {
  it('returns the global norm and scales the gradients down to the maximum, as PyTorch', () => {
    const grads = new Map([['a', tf.tensor1d([3, 0])], ['b', tf.tensor1d([0, 4])]]);
    const clipped = clipGradientNorm(grads, 1);
    expect(clipped.norm).toBeCloseTo(5, 6);
    expect(Array.from(clipped.gradients.get('a')?.dataSync() ?? [])[0]).toBeCloseTo(3 / (5 + 1e-6), 6);
    const kept = clipGradientNorm(grads, 10);
    expect(Array.from(kept.gradients.get('b')?.dataSync() ?? [])).toEqual([0, 4]);
  });
});
