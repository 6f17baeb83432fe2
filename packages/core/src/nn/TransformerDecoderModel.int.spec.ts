import { describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import { FIXTURE_TOKENS, readExpectedLogits } from '../../../../test/support/fixtures.js';
import { loadHfFixtureModel } from '../../../../test/support/hf-fixture-model.js';
import { useDevice } from './devices/DeviceRegistry.js';

describe('smoke', () => {
  it('llama3 cpu', async () => {
    const device = await useDevice('cpu');
    for (const name of ['llama3', 'qwen2', 'qwen3', 'mistral'] as const) {
      const model = await loadHfFixtureModel(name, device);
      const expected = readExpectedLogits(name);
      const logits = model.forward(FIXTURE_TOKENS);
      const got = logits.arraySync() as number[][][];
      let max = 0;
      got[0]!.forEach((row, i) => row.forEach((v, j) => (max = Math.max(max, Math.abs(v - expected.logits[i]![j]!)))));
      console.log(name, max);
      logits.dispose();
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(0);
  });
});
