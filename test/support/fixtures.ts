import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of the tiny reference checkpoints (copied from the harness; see test/fixtures/README.md).
 * A bundled child process (which no longer sits in test/support) is told where it is by
 * `FS2_TEST_FIXTURES_DIR`.
 */
export const FIXTURES_DIR = process.env['FS2_TEST_FIXTURES_DIR'] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** The fixture variants with expected logits. */
export type FixtureName = 'llama3' | 'llama3_bf16_sharded' | 'llama3_meta' | 'qwen2' | 'qwen3' | 'mistral';

export function fixturePath(name: FixtureName, file = ''): string {
  return join(FIXTURES_DIR, name, file);
}

/** The reference forward pass's output for a fixture (float64 compute, see the harness README). */
export interface ExpectedLogits {
  readonly variant: string;
  readonly tokens: readonly number[];
  readonly shape: readonly [number, number];
  readonly argmax: readonly number[];
  readonly greedy_next_tokens: readonly number[];
  readonly logits: readonly (readonly number[])[];
}

export function readExpectedLogits(name: FixtureName, file = 'expected_logits.json'): ExpectedLogits {
  return JSON.parse(readFileSync(fixturePath(name, file), 'utf8')) as ExpectedLogits;
}

/** The fixed prompt every fixture's expected logits were computed on. */
export const FIXTURE_TOKENS: readonly number[] = [1, 17, 250, 311, 42, 5, 399, 128, 77, 300, 3, 260];
