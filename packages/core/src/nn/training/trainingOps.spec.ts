import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';

import { attentionMask } from '../attentionMask.js';
import { useDevice } from '../devices/DeviceRegistry.js';
import { causalAttention, embeddingLookup, linear, sequenceNll } from './trainingOps.js';

/** Normal(0, 1) values from a seeded generator. */
function randn(shape: number[], seed: string): tf.Tensor {
  const random = seedrandom(seed);
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
  return tf.tensor(data, shape);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

/** Gradients of `Σ f(inputs) ⊙ r` for a fixed random `r`, so every output element matters. */
function gradients(f: (...inputs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], seed: string): tf.Tensor[] {
  return tf.tidy(() => {
    const probe = randn(f(...inputs).shape, seed);
    return tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), probe)))(inputs);
  });
}

// The cpu backend has every built-in gradient, so the custom ones are checked against them there.
describe('training ops against TF.js built-in gradients (cpu)', () => {
  beforeAll(async () => {
    await useDevice('cpu');
  });

  it('linear: values and gradients of x W', () => {
    const x = randn([5, 3], 'x');
    const w = randn([3, 4], 'w');
    expect(maxAbsDiff(linear(x as tf.Tensor2D, w as tf.Tensor2D), tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D))).toBe(0);
    const [dx, dw] = gradients((a, b) => linear(a as tf.Tensor2D, b as tf.Tensor2D), [x, w], 'r') as [tf.Tensor, tf.Tensor];
    const [ex, ew] = gradients((a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), [x, w], 'r') as [tf.Tensor, tf.Tensor];
    expect(maxAbsDiff(dx, ex)).toBeLessThan(1e-5);
    expect(maxAbsDiff(dw, ew)).toBeLessThan(1e-5);
  });

  it('embeddingLookup: rows of the table, and the gradient of gather (repeated ids add up)', () => {
    const table = randn([7, 3], 'table');
    const ids = Int32Array.from([2, 5, 2, 0, 6, 2]);
    const ref = (w: tf.Tensor): tf.Tensor => tf.gather(w, tf.tensor1d(ids, 'int32'));
    expect(maxAbsDiff(embeddingLookup(table as tf.Tensor2D, ids), ref(table))).toBe(0);
    const [got] = gradients((w) => embeddingLookup(w as tf.Tensor2D, ids), [table], 'r') as [tf.Tensor];
    const [expected] = gradients(ref, [table], 'r') as [tf.Tensor];
    expect(maxAbsDiff(got, expected)).toBeLessThan(1e-6);
  });

  it.each([
    ['full causal, one query head per key/value head', 1, undefined],
    ['grouped queries (2 per key/value head) and a sliding window of 2', 2, 2],
  ] as const)('causalAttention (%s): values and gradients of softmax(q kᵀ s + mask) v', (_name, group, window) => {
    const [b, kv, t, d] = [2, 2, 4, 3];
    const h = kv * group;
    const q = randn([b * h, t, d], 'q');
    const k = randn([b * kv, t, d], 'k');
    const v = randn([b * kv, t, d], 'v');
    const maskValues = attentionMask(0, t, 0, window);
    const scale = 1 / Math.sqrt(d);
    const reference = (qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor): tf.Tensor => {
      // Repeat each key/value head for its group, then batched attention.
      const expand = (x: tf.Tensor): tf.Tensor =>
        tf.reshape(tf.tile(tf.reshape(x, [b * kv, 1, t, d]), [1, group, 1, 1]), [b * h, t, d]);
      let scores = tf.mul(tf.matMul(qi as tf.Tensor3D, expand(ki) as tf.Tensor3D, false, true), scale);
      if (maskValues !== undefined) {
        scores = tf.add(scores, tf.tensor2d(maskValues, [t, t]));
      }
      return tf.matMul(tf.softmax(scores), expand(vi) as tf.Tensor3D);
    };
    const custom = (qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor): tf.Tensor =>
      causalAttention(qi as tf.Tensor3D, ki as tf.Tensor3D, vi as tf.Tensor3D, { group, scale, mask: maskValues });

    expect(maxAbsDiff(custom(q, k, v), reference(q, k, v))).toBeLessThan(1e-5);
    const got = gradients(custom, [q, k, v], 'r');
    const expected = gradients(reference, [q, k, v], 'r');
    got.forEach((g, i) => expect(maxAbsDiff(g, expected[i] as tf.Tensor)).toBeLessThan(1e-5));
  });

  it('sequenceNll: the weighted sum of -log p(target), and its gradient', () => {
    const logits = randn([4, 6], 'logits');
    const targets = Int32Array.from([1, 5, 0, 3]);
    const weights = Float32Array.from([1, 0, 1, 1]);
    const reference = (x: tf.Tensor): tf.Tensor =>
      tf.neg(tf.sum(tf.mul(tf.sum(tf.mul(tf.logSoftmax(x), tf.oneHot(tf.tensor1d(targets, 'int32'), 6)), 1), tf.tensor1d(weights))));
    const custom = (x: tf.Tensor): tf.Tensor => sequenceNll(x as tf.Tensor2D, targets, weights);

    expect(Math.abs((custom(logits).dataSync()[0] as number) - (reference(logits).dataSync()[0] as number))).toBeLessThan(1e-5);
    const [got] = tf.grads((x: tf.Tensor) => custom(x))([logits]) as [tf.Tensor];
    const [expected] = tf.grads((x: tf.Tensor) => reference(x))([logits]) as [tf.Tensor];
    expect(maxAbsDiff(got, expected)).toBeLessThan(1e-6);
  });

  it('leaves no tensors behind inside tidy, forward and backward', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = randn([6, 4], 'x');
      gradients((a) => linear(a as tf.Tensor2D, randn([4, 4], 'w') as tf.Tensor2D), [x], 'r');
      gradients((a) => causalAttention(a as tf.Tensor3D, a as tf.Tensor3D, a as tf.Tensor3D, { group: 1, scale: 0.5, mask: attentionMask(0, 2, 0, undefined) }), [tf.reshape(x, [3, 2, 4])], 'r');
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
