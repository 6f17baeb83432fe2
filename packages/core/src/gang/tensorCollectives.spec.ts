import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import { InvalidArgumentError } from '../errors/Fs2Error.js';
import { FakeGang } from './FakeGang.js';
import { allGatherTensor, allReduceTensor, broadcastTensor } from './tensorCollectives.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  // The cpu backend's first write prints an "install tfjs-node" banner (js-ecosystem.md §11).
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
});

describe('tensor collectives', () => {
  it('all-reduces into a new tensor and leaves the input as it was (the cpu backend aliases dataSync)', () => {
    const input = tf.tensor([[1, 2], [3, 4]]);

    const result = allReduceTensor(new FakeGang({ size: 3 }), input);

    expect(result.shape).toEqual([2, 2]);
    expect(result.arraySync()).toEqual([[3, 6], [9, 12]]);
    expect(input.arraySync()).toEqual([[1, 2], [3, 4]]);
    tf.dispose([input, result]);
  });

  it.each([
    [0, [4, 2], [[1, 2], [3, 4], [1, 2], [3, 4]]],
    [1, [2, 4], [[1, 2, 1, 2], [3, 4, 3, 4]]],
    [-1, [2, 4], [[1, 2, 1, 2], [3, 4, 3, 4]]],
  ])('all-gathers along axis %i', (axis, shape, values) => {
    const input = tf.tensor([[1, 2], [3, 4]]);

    const result = allGatherTensor(new FakeGang({ size: 2 }), input, axis);

    expect(result.shape).toEqual(shape);
    expect(result.arraySync()).toEqual(values);
    tf.dispose([input, result]);
  });

  it('all-gathers a 3-d tensor along its middle axis, rank-major inside each outer block', () => {
    const input = tf.tensor3d([[[1], [2]], [[3], [4]]]);

    const result = allGatherTensor(new FakeGang({ size: 2 }), input, 1);

    expect(result.shape).toEqual([2, 4, 1]);
    expect(result.arraySync()).toEqual([[[1], [2], [1], [2]], [[3], [4], [3], [4]]]);
    tf.dispose([input, result]);
  });

  it('broadcasts into a new tensor', () => {
    const input = tf.tensor([5, 6]);

    const result = broadcastTensor(new FakeGang(), input);

    expect(result.arraySync()).toEqual([5, 6]);
    tf.dispose([input, result]);
  });

  it('runs inside tf.tidy without leaking tensors', () => {
    const before = tf.memory().numTensors;

    const sum = tf.tidy(() => {
      const x = tf.ones([3, 3]);
      const gathered = allGatherTensor(new FakeGang({ size: 2 }), x);
      return allReduceTensor(new FakeGang({ size: 2 }), gathered).sum().dataSync()[0];
    });

    expect(sum).toBe(36);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a tensor that is not float32', () => {
    const input = tf.tensor([1, 2], [2], 'int32');

    expect(() => allReduceTensor(new FakeGang(), input)).toThrow(
      new InvalidArgumentError('tensor', '`allReduceTensor` takes a float32 tensor, but the tensor is of dtype int32.'),
    );
    input.dispose();
  });

  it('rejects an axis out of range', () => {
    const input = tf.zeros([2, 3]);

    expect(() => allGatherTensor(new FakeGang(), input, 2)).toThrow(
      '`axis` must be an integer from -2 to 1 for a tensor of shape [2, 3], but is 2 instead.',
    );
    input.dispose();
  });
});
