// Not re-exported by index.ts, like gang.ts: import it as `test/support/tensorParallel.js`.
import { expect } from '@jest/globals';

import { ThreadGangHost, type CausalLM, type Logits, type TransformerDecoderModel } from '@fs2/core';

import { LOGITS_TOLERANCE, maxAbsDiff, promptLogits } from './decoder-fixtures.js';
import { FIXTURE_TOKENS, type ExpectedLogits } from './fixtures.js';

/** `[length, vocab]` rows of one sequence's logits. */
export function logitRows(logits: Logits): number[][] {
  const vocab = logits.shape[logits.shape.length - 1] as number;
  const rows = logits.data.length / vocab;
  return Array.from({ length: rows }, (_, r) => Array.from(logits.data.subarray(r * vocab, (r + 1) * vocab)));
}

/**
 * The checks of a fixture model split over tensor-parallel ranks: its logits against the same model
 * whole (`local`, one thread) within the 1e-4 tolerance, and against the float64 reference; the
 * reference greedy continuation; the same sampled tokens as the whole model for a seed (the ranks
 * sample together); and no tensor left alive on any rank.
 */
export async function expectTensorParallelFixture(model: CausalLM & { liveTensors(): Promise<number[]> }, local: TransformerDecoderModel, expected: ExpectedLogits): Promise<void> {
  const before = await model.liveTensors();
  const split = logitRows(await model.logits(FIXTURE_TOKENS));
  const whole = promptLogits(local);
  expect(maxAbsDiff(split, whole)).toBeLessThan(LOGITS_TOLERANCE);
  expect(maxAbsDiff(split, expected.logits)).toBeLessThan(LOGITS_TOLERANCE);

  const last = await model.logits(FIXTURE_TOKENS, { logits: 'last' });
  expect(last.shape).toEqual([1, local.config.vocabSize]);
  expect(maxAbsDiff(logitRows(last), [whole[whole.length - 1] as number[]])).toBeLessThan(LOGITS_TOLERANCE);

  const greedy = await model.generateAll(FIXTURE_TOKENS, { maxNewTokens: expected.greedy_next_tokens.length });
  expect(greedy).toEqual({ tokens: expected.greedy_next_tokens, stopReason: 'max_new_tokens' });

  const sampling = { maxNewTokens: 6, temperature: 0.9, topK: 40, seed: 'tp' };
  expect(await model.generateAll(FIXTURE_TOKENS, sampling)).toEqual(await local.generateAll(FIXTURE_TOKENS, sampling));

  // A generation left early (break) or aborted frees its KV cache on every rank.
  const streamed: number[] = [];
  for await (const { token } of model.generate(FIXTURE_TOKENS, { maxNewTokens: 8 })) {
    streamed.push(token);
    if (streamed.length === 2) {
      break;
    }
  }
  expect(streamed).toEqual(expected.greedy_next_tokens.slice(0, 2));
  const abort = new AbortController();
  const aborted = await model.generateAll(FIXTURE_TOKENS, { maxNewTokens: 8, signal: abort.signal, onToken: () => abort.abort() });
  expect(aborted).toEqual({ tokens: expected.greedy_next_tokens.slice(0, 1), stopReason: 'aborted' });

  // A bad input is refused here, and the model goes on working.
  await expect(model.logits([1, model.vocabSize])).rejects.toThrow(
    `The token id ${model.vocabSize} at position 1 of sequence 0 is outside the vocabulary [0, ${model.vocabSize}).`,
  );
  await expect(model.generateAll([1], { temperature: -1 })).rejects.toThrow('`temperature` must be a finite number >= 0, but is -1.');
  expect(await model.liveTensors()).toEqual(before);
}

/** Checks that no thread gang worker of this process is alive. */
export function expectNoWorkers(): void {
  expect(ThreadGangHost.liveWorkersInProcess).toBe(0);
}
