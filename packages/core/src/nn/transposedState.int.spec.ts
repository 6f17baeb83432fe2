import { describe, expect, it } from '@jest/globals';

import { FIXTURE_TOKENS, readExpectedLogits } from '../../../../test/support/fixtures.js';
import { loadHfFixtureModel, readHfFixtureConfig } from '../../../../test/support/hf-fixture-model.js';
import { InvalidArgumentError } from '../errors/Fs2Error.js';
import { useDevice } from './devices/DeviceRegistry.js';
import { TransformerDecoderModel } from './TransformerDecoderModel.js';

function maxAbsDiff(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number {
  let max = 0;
  a.forEach((row, i) => row.forEach((v, j) => (max = Math.max(max, Math.abs(v - (b[i]?.[j] ?? NaN))))));
  return Number.isNaN(max) ? Infinity : max;
}

describe('state entries marked transposed (linear weights as PyTorch stores them)', () => {
  it.each(['llama3', 'qwen2'] as const)('are transposed by the loader for TF.js modules (%s on cpu)', async (name) => {
    const device = await useDevice('cpu');
    const model = await loadHfFixtureModel(name, device, { transposedLinears: true });
    const logits = model.forward(FIXTURE_TOKENS);
    const rows = (logits.arraySync() as number[][][])[0]!;
    logits.dispose();
    model.dispose();
    expect(maxAbsDiff(rows, readExpectedLogits(name).logits)).toBeLessThan(1e-4);
  });

  it('must be 2-D', async () => {
    const device = await useDevice('cpu');
    const model = new TransformerDecoderModel(await readHfFixtureConfig('llama3'), { device });
    const source = [{ name: 'decoder.layer_norm.weight', data: new Float32Array(64), shape: [64], transposed: true }];
    await expect(model.loadState(source)).rejects.toThrow(InvalidArgumentError);
    await expect(model.loadState(source)).rejects.toThrow('The state entry `decoder.layer_norm.weight` is marked transposed, but is not 2-D ([64]).');
    model.dispose();
  });
});
