import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import { createFairseq2, type DependencyContainer, type DependencyResolver, type TransformerDecoderModel } from '@fs2/core';

import { FIXTURE_TOKENS, type ExpectedLogits } from './fixtures.js';
import { isolatedEnv } from './env.js';
import { makeTempDir, type TempDir } from './tmp.js';

/**
 * Test support for the model families: the checks every fixture goes through (logits against the
 * float64 reference, argmaxes, the greedy continuation, incremental decoding) and an isolated fs2
 * world to load them in.
 */

/** Tolerance on logits against the float64 reference (harness README: 1e-4 is achievable in f32). */
export const LOGITS_TOLERANCE = 1e-4;

/** The largest absolute difference between two `[rows, vocab]` tables (Infinity when shapes differ). */
export function maxAbsDiff(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number {
  if (a.length !== b.length) {
    return Infinity;
  }
  let max = 0;
  a.forEach((row, i) => {
    const other = b[i] as readonly number[];
    if (row.length !== other.length) {
      max = Infinity;
      return;
    }
    row.forEach((v, j) => (max = Math.max(max, Math.abs(v - (other[j] as number)))));
  });
  return max;
}

/** The index of each row's largest value. */
export function argmaxRows(rows: readonly (readonly number[])[]): number[] {
  return rows.map((row) => row.indexOf(Math.max(...row)));
}

/** Full-forward logits of `tokens`, `[tokens, vocab]`. */
export function promptLogits(model: TransformerDecoderModel, tokens: readonly number[] = FIXTURE_TOKENS): number[][] {
  const logits = model.forward(tokens);
  const rows = (logits.arraySync() as number[][][])[0] as number[][];
  logits.dispose();
  return rows;
}

/** Logits of each position fed through a KV cache `chunk` positions at a time, `[tokens, vocab]`. */
export function incrementalLogits(model: TransformerDecoderModel, tokens: readonly number[], chunk: number): number[][] {
  const cache = model.createCache({ capacity: tokens.length });
  const rows: number[][] = [];
  try {
    for (let start = 0; start < tokens.length; start += chunk) {
      const logits = model.forward(tokens.slice(start, start + chunk), { cache });
      rows.push(...((logits.arraySync() as number[][][])[0] as number[][]));
      logits.dispose();
    }
  } finally {
    cache.dispose();
  }
  return rows;
}

/**
 * Every check of a loaded fixture model against its expected logits: the full forward within
 * {@link LOGITS_TOLERANCE}, the 12 argmaxes, the 8-token greedy continuation (generated with the KV
 * cache), and incremental decoding (one position at a time, and in chunks of 5) matching the full
 * forward within the tolerance.
 */
export async function expectFixtureModel(model: TransformerDecoderModel, expected: ExpectedLogits): Promise<void> {
  const full = promptLogits(model);
  expect(maxAbsDiff(full, expected.logits)).toBeLessThan(LOGITS_TOLERANCE);
  expect(argmaxRows(full)).toEqual(expected.argmax);

  const greedy = await model.generateAll(FIXTURE_TOKENS, { maxNewTokens: expected.greedy_next_tokens.length });
  expect(greedy.tokens).toEqual(expected.greedy_next_tokens);

  expect(maxAbsDiff(incrementalLogits(model, FIXTURE_TOKENS, 1), full)).toBeLessThan(LOGITS_TOLERANCE);
  expect(maxAbsDiff(incrementalLogits(model, FIXTURE_TOKENS, 5), full)).toBeLessThan(LOGITS_TOLERANCE);
}

/** An isolated fs2 world for family tests: its own HOME, card folders and cache in a temp folder. */
export interface FamilyTestWorld {
  readonly dir: TempDir;
  readonly resolver: DependencyResolver;
  /** The environment the world was built with (`isolatedEnv`: HOME, XDG_*, FAIRSEQ2_* inside `dir`). */
  readonly env: Record<string, string>;
  cleanup(): void;
}

/**
 * Builds an isolated fs2 world with the given registrations (a family's `registerXxxFamily`) and,
 * in its user card folder, `cards` (file name -> YAML).
 */
export async function createFamilyTestWorld(
  register: (container: DependencyContainer) => void,
  cards: Readonly<Record<string, string>> = {},
): Promise<FamilyTestWorld> {
  const dir = makeTempDir('fs2-family-');
  const env = isolatedEnv(dir.path, { FAIRSEQ2_OFFLINE: '1', HF_HUB_OFFLINE: '1' });
  for (const [file, text] of Object.entries(cards)) {
    writeFileSync(join(env['FAIRSEQ2_USER_ASSET_DIR'] as string, file), text);
  }
  const resolver = await createFairseq2({ env, cwd: dir.path, extensions: [{ name: 'test-family', setup: register }] });
  return { dir, resolver, env, cleanup: () => dir.cleanup() };
}

/** The number of live TF.js tensors (for leak checks). */
export function liveTensors(): number {
  return tf.memory().numTensors;
}
