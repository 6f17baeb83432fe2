import { describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import { caught, caughtAsync } from '../../../../../test/support/index.js';
import { useDevice } from '../devices/DeviceRegistry.js';
import { ModelNotLoadedError, ParameterShapeMismatchError, StateKeyMismatchError } from '../errors.js';
import { randomState } from '../randomState.js';
import type { TransformerDecoderConfig } from '../TransformerDecoderConfig.js';
import { TransformerDecoderModel } from '../TransformerDecoderModel.js';
import { AdamW } from './AdamW.js';
import { clipGradientNorm } from './clipGradientNorm.js';
import { TrainableDecoder } from './TrainableDecoder.js';
import { sequenceNll } from './trainingOps.js';

const BASE: TransformerDecoderConfig = { vocabSize: 40, modelDim: 16, numLayers: 2, numHeads: 4, ffnInnerDim: 24, maxSeqLen: 32 };

const VARIANTS: [string, TransformerDecoderConfig][] = [
  ['llama-like', BASE],
  ['grouped queries, tied embeddings, llama3 rope scaling', { ...BASE, numKvHeads: 2, tiedEmbeddings: true, ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 16 } }],
  ['qwen2-like (q/k/v biases)', { ...BASE, qkvBias: true, ropeTheta: 1e6 }],
  ['qwen3-like (q/k norms, head width not modelDim / heads)', { ...BASE, qkNorm: true, headDim: 8, normEps: 1e-6 }],
  ['mistral-like (sliding window)', { ...BASE, numKvHeads: 1, slidingWindow: 3 }],
];

const IDS = [[3, 17, 5, 39, 0, 8, 8, 21], [1, 2, 3, 4, 5, 6, 7, 9]];

describe.each(['wasm', 'cpu'] as const)('TrainableDecoder on %s', (deviceName) => {
  it.each(VARIANTS)('computes the logits of TransformerDecoderModel with the same state (%s)', async (_name, config) => {
    const device = await useDevice(deviceName);
    const reference = new TransformerDecoderModel(config, { device });
    const trainable = new TrainableDecoder(config, { device });
    expect([...trainable.parameterShapes()]).toEqual([...reference.parameterShapes()]);
    await reference.loadState(randomState(reference.parameterShapes(), { seed: 5, std: 0.3 }));
    await trainable.loadState(randomState(reference.parameterShapes(), { seed: 5, std: 0.3 }));

    const expected = tf.tidy(() => tf.reshape(reference.forward(IDS), [16, 40]));
    const got = tf.tidy(() => trainable.forward(Int32Array.from(IDS.flat()), 2, 8));
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(got, expected))).dataSync()[0] as number);
    expect(diff).toBeLessThan(1e-4);
    tf.dispose([expected, got]);
    reference.dispose();
    trainable.dispose();
  });

  it('gives back the state it was given, and learns a sequence with AdamW without leaking tensors', async () => {
    const device = await useDevice(deviceName);
    const model = new TrainableDecoder(BASE, { device });
    const state = [...randomState(model.parameterShapes(), { seed: 1 })];
    await model.loadState(state);
    expect([...model.stateEntries()]).toEqual(state);

    const optimizer = new AdamW(model.variables(), { lr: 0.01, weightDecay: 0.1 });
    const ids = Int32Array.from(IDS.flat());
    const targets = Int32Array.from(IDS.flatMap((row) => [...row.slice(1), 0]));
    const weights = Float32Array.from(IDS.flatMap((row) => row.map((_, i) => (i < row.length - 1 ? 1 : 0))));
    const names = new Map([...model.variables()].map(([name, v]) => [v.name, name]));
    const losses: number[] = [];
    const before = tf.memory().numTensors;
    for (let step = 0; step < 30; step++) {
      const { value, grads } = tf.variableGrads(() => sequenceNll(model.forward(ids, 2, 8), targets, weights));
      losses.push((value.dataSync()[0] as number) / 14);
      const byName = new Map(Object.entries(grads).map(([key, g]) => [names.get(key) as string, g]));
      const clipped = clipGradientNorm(byName, 1);
      optimizer.step(clipped.gradients);
      tf.dispose([value, ...Object.values(grads), ...clipped.gradients.values()]);
    }
    // The moments are allocated on the first step: 2 per parameter, and nothing else.
    expect(tf.memory().numTensors).toBe(before + 2 * model.variables().size);
    expect(losses[0]).toBeGreaterThan(3.5); // ~ln(40) = 3.69 for random weights.
    expect(losses[29]).toBeLessThan(0.5);
    optimizer.dispose();
    model.dispose();
  });
});

describe('TrainableDecoder errors', () => {
  it('refuses states that do not fit, and use before loading or after disposal', async () => {
    const device = await useDevice('cpu');
    const model = new TrainableDecoder(BASE, { device });
    expect(caught(() => model.forward(Int32Array.from([1]), 1, 1))).toBeInstanceOf(ModelNotLoadedError);

    const shapes = model.parameterShapes();
    const state = [...randomState(shapes)];
    const wrongShape = state.map((e) => (e.name === 'final_proj.weight' ? { ...e, shape: [40, 16] } : e));
    const shape = await caughtAsync(() => model.loadState(wrongShape));
    expect(shape).toBeInstanceOf(ParameterShapeMismatchError);
    expect(shape.message).toBe('The parameter `final_proj.weight` is expected to have the shape [16, 40], but the state has the shape [40, 16] instead.');

    const keys = await caughtAsync(() => model.loadState([...state.slice(1), { ...state[1]!, name: 'extra.weight' }]));
    expect(keys).toBeInstanceOf(StateKeyMismatchError);
    expect(keys.message).toContain('decoder_frontend.embed.weight');
    expect(model.isLoaded).toBe(false);

    await model.loadState(state);
    const outside = caught(() => model.forward(Int32Array.from([1, 40]), 1, 2));
    expect(outside.message).toBe('The token id 40 at index 1 is outside the vocabulary [0, 40).');
    expect(caught(() => model.forward(Int32Array.from([1, 2, 3]), 1, 2)).message).toBe('The batch holds 3 token ids, not 1 x 2.');
    model.dispose();
    expect(caught(() => model.variables())).toBeInstanceOf(ModelNotLoadedError);
  });
});
