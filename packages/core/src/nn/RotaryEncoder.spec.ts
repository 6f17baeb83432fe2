import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import type { Device } from './devices/Device.js';
import { useDevice } from './devices/DeviceRegistry.js';
import { RotaryEncoder, computeRotaryFrequencies, rotateHalfMatrix } from './RotaryEncoder.js';

describe(computeRotaryFrequencies, () => {
  it('gives theta^(-2j/d) without scaling', () => {
    // 10000^(-2j/8) = 10^-j
    const f = computeRotaryFrequencies(8, 10_000);
    [1, 0.1, 0.01, 0.001].forEach((v, j) => expect(f[j]).toBeCloseTo(v, 15));
  });

  it('applies llama3 scaling with its three branches, from the config values', () => {
    // Wavelengths 2π·[1, 10, 100, 1000]; original 1000, low 1, high 4: keep below 250, divide above 1000.
    const f = computeRotaryFrequencies(8, 10_000, {
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 1000,
    });
    const smooth = (1000 / (200 * Math.PI) - 1) / 3;
    expect(f[0]).toBeCloseTo(1, 15);
    expect(f[1]).toBeCloseTo(0.1, 15);
    expect(f[2]).toBeCloseTo(((1 - smooth) * 0.01) / 8 + smooth * 0.01, 15);
    expect(f[3]).toBeCloseTo(0.001 / 8, 15);
  });

  it('reads low_freq_factor and high_freq_factor instead of assuming 1 and 4', () => {
    const scaling = { type: 'llama3', factor: 8, lowFreqFactor: 2, highFreqFactor: 8, originalMaxPositionEmbeddings: 1000 } as const;
    const f = computeRotaryFrequencies(8, 10_000, scaling);
    // Thresholds 500 (low) and 125 (high): wavelength 2π·100 ≈ 628 > 500 is now divided by 8.
    expect(f[2]).toBeCloseTo(0.01 / 8, 15);
    const smooth = (1000 / (20 * Math.PI) - 2) / 6; // wavelength 2π·10 ≈ 62.8 < 125 stays
    expect(smooth).toBeGreaterThan(1);
    expect(f[1]).toBeCloseTo(0.1, 15);
  });

  it('applies linear scaling', () => {
    expect([...computeRotaryFrequencies(4, 100, { type: 'linear', factor: 4 })]).toEqual([0.25, 0.1 / 4]);
  });
});

describe(rotateHalfMatrix, () => {
  it('maps x to [-x[h:], x[:h]]', () => {
    const r = rotateHalfMatrix(4);
    const x = [1, 2, 3, 4];
    const out = [0, 1, 2, 3].map((j) => x.reduce((s, xi, i) => s + xi * (r[i * 4 + j] as number), 0));
    expect(out).toEqual([-3, -4, 1, 2]);
  });
});

describe(RotaryEncoder, () => {
  let device: Device;
  const encoder = new RotaryEncoder(4, 10_000);
  beforeAll(async () => {
    device = await useDevice('cpu');
    encoder.prepare(device);
  });
  afterAll(() => encoder.unload());

  it('rotates dimension j with j + headDim/2 (HF rotate-half), not adjacent pairs', () => {
    const x = [1, 2, 3, 4];
    const f = [1, 0.01];
    const tables = encoder.tables(0, 3);
    const input = tf.tensor4d([...x, ...x, ...x], [1, 3, 1, 4]);
    const out = encoder.apply(input, tables).arraySync()[0] as number[][][];
    for (let p = 0; p < 3; p++) {
      const [c0, s0, c1, s1] = [Math.cos(p * f[0]!), Math.sin(p * f[0]!), Math.cos(p * f[1]!), Math.sin(p * f[1]!)];
      const expected = [1 * c0 - 3 * s0, 2 * c1 - 4 * s1, 3 * c0 + 1 * s0, 4 * c1 + 2 * s1];
      out[p]![0]!.forEach((v, j) => expect(v).toBeCloseTo(expected[j]!, 6));
    }
    tf.dispose([input, tables.cos, tables.sin]);
  });

  it('builds tables for any start position', () => {
    const { cos, sin } = encoder.tableValues(7, 1);
    expect([...cos]).toEqual([Math.cos(7), Math.cos(0.07), Math.cos(7), Math.cos(0.07)].map(Math.fround));
    expect([...sin]).toEqual([Math.sin(7), Math.sin(0.07), Math.sin(7), Math.sin(0.07)].map(Math.fround));
  });
});
