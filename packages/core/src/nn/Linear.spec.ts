import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import type { Device } from './devices/Device.js';
import { useDevice } from './devices/DeviceRegistry.js';
import { Embedding } from './Embedding.js';
import { Linear } from './Linear.js';
import { loadModuleState } from './loadModuleState.js';
import { RMSNorm } from './RMSNorm.js';

describe('building blocks', () => {
  let device: Device;
  beforeAll(async () => {
    device = await useDevice('cpu');
  });

  it('Linear computes x W + b with W stored [in, out]', async () => {
    const linear = new Linear('p', 2, 3, { bias: true });
    await loadModuleState(
      linear,
      [
        { name: 'p.weight', data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] },
        { name: 'p.bias', data: Float32Array.from([10, 20, 30]), shape: [3] },
      ],
      device,
    );
    const x = tf.tensor2d([[1, 1]]);
    expect(linear.apply(x).arraySync()).toEqual([[15, 27, 39]]);
    linear.unload();
    x.dispose();
  });

  it('Linear fuses several projections (parts in any order, one scaled) and splits them back', async () => {
    const linear = new Linear('fused', 2, 3, {
      bias: true,
      outputs: [
        { name: 'a', dim: 1, scale: 0.5 },
        { name: 'b', dim: 2 },
      ],
    });
    const source = [
      { name: 'b.weight', data: Float32Array.from([2, 3, 5, 6]), shape: [2, 2] },
      { name: 'a.bias', data: Float32Array.from([10]), shape: [1] },
      { name: 'a.weight', data: Float32Array.from([1, 4]), shape: [2, 1] },
      { name: 'b.bias', data: Float32Array.from([20, 30]), shape: [2] },
    ];
    await loadModuleState(linear, source, device);
    const x = tf.tensor2d([[1, 1]]);
    const parts = linear.applySplit(x);
    expect(parts.map((p) => p.arraySync())).toEqual([[[7.5]], [[27, 39]]]);
    tf.dispose([x, ...parts]);
    linear.unload();
  });

  it('RMSNorm divides by sqrt(mean(x²) + eps) and multiplies by the gain', async () => {
    const norm = new RMSNorm('n', 4, 0.5);
    await loadModuleState(norm, [{ name: 'n.weight', data: Float32Array.from([1, 2, 1, 2]), shape: [4] }], device);
    const x = tf.tensor2d([[1, 2, 3, 4]]);
    // mean square 7.5, + eps 0.5 = 8
    const expected = [1, 4, 3, 8].map((v) => v / Math.sqrt(8));
    (norm.apply(x).arraySync() as number[][])[0]!.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    norm.unload();
    x.dispose();
  });

  it('Embedding looks rows up, and as a tied projection multiplies by its transpose', async () => {
    const weight = Float32Array.from([1, 2, 3, 4, 5, 6]); // [vocab 3, dim 2]
    for (const tiedProjection of [false, true]) {
      const embed = new Embedding('e', 3, 2, { tiedProjection });
      await loadModuleState(embed, [{ name: 'e.weight', data: weight, shape: [3, 2] }], device);
      const ids = tf.tensor1d([2, 0], 'int32');
      expect(embed.apply(ids).arraySync()).toEqual([
        [5, 6],
        [1, 2],
      ]);
      if (tiedProjection) {
        const x = tf.tensor2d([[1, 10]]);
        expect(embed.project(x).arraySync()).toEqual([[21, 43, 65]]);
        x.dispose();
      } else {
        expect(() => embed.project(tf.zeros([1, 2]) as tf.Tensor2D)).toThrow('The embedding e is not tied to the output projection.');
      }
      ids.dispose();
      embed.unload();
    }
  });
});
