import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import type { Device } from './devices/Device.js';
import { useDevice } from './devices/DeviceRegistry.js';
import { GroupedQueryAttention } from './GroupedQueryAttention.js';
import { loadModuleState, type StateEntry } from './loadModuleState.js';
import { RotaryEncoder } from './RotaryEncoder.js';

function eye(n: number): Float32Array {
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}

describe(GroupedQueryAttention, () => {
  let device: Device;
  const rotary = new RotaryEncoder(2, 10_000);
  beforeAll(async () => {
    device = await useDevice('cpu');
    rotary.prepare(device);
  });
  afterAll(() => rotary.unload());

  it('gives query head h the key/value head floor(h / (numHeads / numKvHeads))', async () => {
    // 4 query heads, 2 kv heads, head width 2, model width 8. q = k = 0, so every head averages the
    // values of its kv head; the input is e0 and v maps it to [1, 1] (kv head 0) and [2, 2] (kv head 1).
    const attention = new GroupedQueryAttention('attn', { modelDim: 8, numHeads: 4, numKvHeads: 2, headDim: 2, rotary });
    const v = new Float32Array(8 * 4);
    v.set([1, 1, 2, 2], 0);
    const state: StateEntry[] = [
      { name: 'attn.q_proj.weight', data: new Float32Array(8 * 8), shape: [8, 8] },
      { name: 'attn.k_proj.weight', data: new Float32Array(8 * 4), shape: [8, 4] },
      { name: 'attn.v_proj.weight', data: v, shape: [8, 4] },
      { name: 'attn.output_proj.weight', data: eye(8), shape: [8, 8] },
    ];
    await loadModuleState(attention, state, device);
    const x = tf.tensor2d([1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], [2, 8]);
    const tables = rotary.tables(0, 2);
    const out = attention.apply(x, { batchSize: 1, length: 2, start: 0, keyStart: 0, rotary: tables, mask: undefined, cache: undefined, layer: 0, device });
    // h // 2 -> kv heads [0, 0, 1, 1]; the wrong h % 2 would give [0, 1, 0, 1].
    expect(out.arraySync()).toEqual([
      [1, 1, 1, 1, 2, 2, 2, 2],
      [1, 1, 1, 1, 2, 2, 2, 2],
    ]);
    tf.dispose([x, out, tables.cos, tables.sin]);
    attention.unload();
  });

  it('lists its parameters in fs2 names, with biases and q/k norms when asked', () => {
    const attention = new GroupedQueryAttention('a', { modelDim: 8, numHeads: 2, numKvHeads: 1, headDim: 4, qkvBias: true, qkNorm: true, rotary });
    expect(Object.fromEntries(attention.parameterShapes())).toEqual({
      'a.q_proj.weight': [8, 8],
      'a.k_proj.weight': [8, 4],
      'a.v_proj.weight': [8, 4],
      'a.q_proj.bias': [8],
      'a.k_proj.bias': [4],
      'a.v_proj.bias': [4],
      'a.q_norm.weight': [4],
      'a.k_norm.weight': [4],
      'a.output_proj.weight': [8, 8],
    });
  });
});
