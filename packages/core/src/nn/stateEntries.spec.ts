import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import type { Device } from './devices/Device.js';
import { useDevice } from './devices/DeviceRegistry.js';
import { ModelNotLoadedError } from './errors.js';
import type { StateEntry } from './loadModuleState.js';
import { randomState } from './randomState.js';
import type { TransformerDecoderConfig } from './TransformerDecoderConfig.js';
import { TransformerDecoderModel } from './TransformerDecoderModel.js';

/** Every fused, scaled and transposed storage path: q/k/v biases, q/k norms, tied embeddings. */
const CONFIGS: Record<string, TransformerDecoderConfig> = {
  'q/k/v biases, tied embeddings (scale folded into q weight and bias, embedding stored transposed)': {
    vocabSize: 40,
    modelDim: 16,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    ffnInnerDim: 24,
    qkvBias: true,
    tiedEmbeddings: true,
  },
  'q/k norms and an explicit head dim (scale folded into the q norm gain), untied': {
    vocabSize: 30,
    modelDim: 16,
    numLayers: 1,
    numHeads: 2,
    numKvHeads: 1,
    headDim: 12,
    ffnInnerDim: 20,
    qkNorm: true,
  },
};

function copyState(entries: Iterable<StateEntry>): StateEntry[] {
  return [...entries].map((e) => ({ name: e.name, shape: [...e.shape], data: e.data.slice() }));
}

describe('TransformerDecoderModel.stateEntries', () => {
  let device: Device;
  beforeAll(async () => {
    device = await useDevice('cpu');
  });

  describe.each(Object.entries(CONFIGS))('with %s', (_label, config) => {
    it('reads back exactly what was loaded, in parameter order, and allocates nothing that survives', async () => {
      const model = new TransformerDecoderModel(config, { device });
      const loaded = copyState(randomState(model.parameterShapes(), { seed: 7, std: 0.5 }));
      // Give every norm and bias a non-trivial value, so a missed inverse would show.
      const state = loaded.map((e) => (e.name.includes('norm') || e.name.endsWith('.bias') ? { ...e, data: e.data.map((_, i) => 1 + i / 7) } : e));
      await model.loadState(state);
      const before = tf.memory().numTensors;

      const read = [...model.stateEntries()];

      expect(tf.memory().numTensors).toBe(before);
      expect(read.map((e) => e.name)).toEqual([...model.parameterShapes().keys()]);
      const byName = new Map(state.map((e) => [e.name, e]));
      for (const entry of read) {
        const original = byName.get(entry.name) as StateEntry;
        expect(entry.shape).toEqual(original.shape);
        const worst = entry.data.reduce((m, v, i) => Math.max(m, Math.abs(v - (original.data[i] as number))), 0);
        // The scale folded into q and divided out again: at most a rounding of float32.
        expect(worst).toBeLessThanOrEqual(1e-6 * Math.max(...original.data.map(Math.abs)));
      }
      model.dispose();
    });
  });

  it('refuses a model without weights', () => {
    const model = new TransformerDecoderModel(CONFIGS[Object.keys(CONFIGS)[0] as string] as TransformerDecoderConfig, { device });

    expect(() => [...model.stateEntries()]).toThrow(ModelNotLoadedError);
    model.dispose();
  });
});
