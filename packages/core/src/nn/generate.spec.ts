import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import { InvalidArgumentError } from '../errors/Fs2Error.js';
import { useDevice } from './devices/DeviceRegistry.js';
import type { GeneratedToken } from './generate.js';
import { randomState } from './randomState.js';
import type { TransformerDecoderConfig } from './TransformerDecoderConfig.js';
import { TransformerDecoderModel } from './TransformerDecoderModel.js';

const CONFIG: TransformerDecoderConfig = {
  vocabSize: 64,
  modelDim: 16,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  ffnInnerDim: 32,
  maxSeqLen: 64,
};
const PROMPT = [1, 5, 9, 33];

describe('generate', () => {
  let model: TransformerDecoderModel;
  let greedy: number[];
  beforeAll(async () => {
    const device = await useDevice('cpu');
    model = new TransformerDecoderModel(CONFIG, { device });
    await model.loadState(randomState(model.parameterShapes(), { seed: 1, std: 0.5 }));
    greedy = (await model.generateAll(PROMPT, { maxNewTokens: 12 })).tokens;
  });
  afterAll(() => model.dispose());

  it('is greedy by default and equals the argmax of a full forward at each step', async () => {
    expect(greedy).toHaveLength(12);
    const sequence = [...PROMPT, ...greedy];
    const logits = model.forward(sequence, { logits: 'all' });
    const argmax = (tf.argMax(logits, -1).arraySync() as number[][])[0]!;
    expect(argmax.slice(PROMPT.length - 1, -1)).toEqual(greedy);
    logits.dispose();
  });

  it('streams each token through the iterator and the callback, in order', async () => {
    const fromCallback: GeneratedToken[] = [];
    const fromIterator: GeneratedToken[] = [];
    const run = model.generate(PROMPT, { maxNewTokens: 5, onToken: (t) => fromCallback.push(t) });
    let step = await run.next();
    while (step.done !== true) {
      fromIterator.push(step.value);
      // The callback has seen exactly the tokens yielded so far.
      expect(fromCallback).toHaveLength(fromIterator.length);
      step = await run.next();
    }
    expect(fromIterator.map((t) => t.token)).toEqual(greedy.slice(0, 5));
    expect(fromIterator.map((t) => t.index)).toEqual([0, 1, 2, 3, 4]);
    expect(step.value).toEqual({ tokens: greedy.slice(0, 5), stopReason: 'max_new_tokens' });
  });

  it('reproduces a sampled generation from its seed', async () => {
    const options = { maxNewTokens: 10, temperature: 1.3, topP: 0.95, seed: 42 };
    const first = await model.generateAll(PROMPT, options);
    const second = await model.generateAll(PROMPT, options);
    expect(second).toEqual(first);
    const others = await Promise.all([1, 2, 3].map((seed) => model.generateAll(PROMPT, { ...options, seed })));
    expect(others.some((o) => JSON.stringify(o.tokens) !== JSON.stringify(first.tokens))).toBe(true);
  });

  it('equals greedy with topK = 1 at any temperature', async () => {
    const result = await model.generateAll(PROMPT, { maxNewTokens: 12, temperature: 2, topK: 1, seed: 9 });
    expect(result.tokens).toEqual(greedy);
  });

  it('stops at the first of several stop tokens, which it includes', async () => {
    const stops = [greedy[6]!, greedy[3]!];
    const at = Math.min(greedy.indexOf(stops[0]!), greedy.indexOf(stops[1]!));
    const result = await model.generateAll(PROMPT, { maxNewTokens: 12, stopTokens: stops });
    expect(result).toEqual({ tokens: greedy.slice(0, at + 1), stopReason: 'stop_token' });
  });

  it('stops when the cache is full', async () => {
    const small = new TransformerDecoderModel(CONFIG, { device: model.device!, maxCacheLength: 6 });
    await small.loadState(randomState(small.parameterShapes(), { seed: 1, std: 0.5 }));
    // 4 prompt positions + 2 fed tokens fill 6 positions; the third token is not fed back.
    expect(await small.generateAll(PROMPT, { maxNewTokens: 12 })).toEqual({ tokens: greedy.slice(0, 3), stopReason: 'max_length' });
    small.dispose();
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    const result = await model.generateAll(PROMPT, {
      maxNewTokens: 12,
      signal: controller.signal,
      onToken: (t) => {
        if (t.index === 1) controller.abort();
      },
    });
    expect(result).toEqual({ tokens: greedy.slice(0, 2), stopReason: 'aborted' });
  });

  it('frees every tensor, also when the consumer stops early', async () => {
    const before = tf.memory().numTensors;
    await model.generateAll(PROMPT, { maxNewTokens: 4, temperature: 0.8, seed: 1 });
    for await (const token of model.generate(PROMPT, { maxNewTokens: 10 })) {
      if (token.index === 2) break;
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects prompts and limits it cannot serve', async () => {
    await expect(model.generateAll([], {})).rejects.toThrow(new InvalidArgumentError('prompt', 'The prompt must hold at least one token.'));
    await expect(model.generateAll(PROMPT, { maxNewTokens: 0 })).rejects.toThrow(
      '`maxNewTokens` must be a positive integer, but is 0.',
    );
    await expect(model.generateAll(new Array(65).fill(1), {})).rejects.toThrow(
      "The prompt of 65 tokens does not fit: the model's KV cache holds at most 64 positions.",
    );
    await expect(model.generateAll([64], {})).rejects.toThrow('The token id 64 at position 0 of sequence 0 is outside the vocabulary [0, 64).');
  });
});
