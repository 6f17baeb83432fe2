import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { fixturePath, isolatedEnv, makeTempDir, type TempDir } from '../../../../test/support/index.js';
import { runCli } from '../main.js';
import { benchPrompt, type BenchResult } from './bench.js';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

// What `fs2 bench` reports, on the llama3 fixture folder and the tiny_llama card. No timing is
// asserted: only that each figure is there and what must hold whatever the machine.
describe('fs2 bench', () => {
  let dir: TempDir;
  let env: Record<string, string>;

  const fs2 = async (args: string[]): Promise<Run> => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(args, {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      env,
      cwd: dir.path,
    });
    return { code, stdout, stderr };
  };

  beforeAll(() => {
    dir = makeTempDir();
    env = isolatedEnv(dir.path);
  });
  afterAll(() => dir.cleanup());

  it.each([
    ['on the CPU kernels', ['--threads', '2'], 2],
    ["on TF.js's matMul", ['--no-kernels'], 0],
  ])('prints one JSON object with every figure, %s, leaving no tensor or memory behind', async (_, flags, threads) => {
    const run = await fs2(['bench', fixturePath('llama3'), '--json', '--prompt-tokens', '6', '--new-tokens', '5', '--warmup', '1', '--runs', '2', ...flags]);
    expect(run.stderr).not.toContain('fs2:');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0] as string) as BenchResult;
    expect(result).toMatchObject({
      engine: 'fs2',
      device: 'wasm',
      tp: 1,
      threads,
      prompt_tokens: 6,
      new_tokens: 5,
      warmup: 1,
      runs: 2,
      tensor_growth: 0,
      memory_growth_bytes: 0,
    });
    expect(result.weight_bytes).toBe(4 * result.parameters);
    for (const key of ['init_s', 'load_s', 'first_prefill_s', 'prefill_tok_s', 'decode_tok_s', 'peak_rss_bytes', 'load_average'] as const) {
      expect(Number.isFinite(result[key])).toBe(true);
    }
    expect(result.prefill_tok_s_runs).toHaveLength(2);
    expect(result.decode_tok_s_runs).toHaveLength(2);
    expect(result.peak_rss_bytes).toBeGreaterThan(result.weight_bytes);
    expect(result.tokens).toHaveLength(6);
    expect(result.profile).toBeUndefined();
  });

  it('gives the same greedy tokens with and without the CPU kernels', async () => {
    const args = ['bench', fixturePath('llama3'), '--json', '--prompt-tokens', '8', '--new-tokens', '8', '--warmup', '0', '--runs', '1'];
    const kernels = JSON.parse((await fs2(args)).stdout) as BenchResult;
    const tfjs = JSON.parse((await fs2([...args, '--no-kernels'])).stdout) as BenchResult;
    expect(kernels.tokens).toEqual(tfjs.tokens);
  });

  it('profiles the last run kernel by kernel, as JSON and as a table', async () => {
    const json = JSON.parse((await fs2(['bench', fixturePath('llama3'), '--json', '--prompt-tokens', '4', '--new-tokens', '3', '--runs', '1', '--profile'])).stdout) as BenchResult;
    const profile = json.profile;
    expect(profile).toBeDefined();
    // 3 layers: 4 products each, and the head once per prefill / per decode step.
    expect(profile?.prefill.kernels['attention']?.calls).toBe(3);
    expect(profile?.decode.kernels['attention_step']?.calls).toBe(9);
    expect(profile?.decode.kernels['matmul 64x512']?.calls).toBe(3);
    const table = await fs2(['bench', fixturePath('llama3'), '--prompt-tokens', '4', '--new-tokens', '3', '--runs', '1', '--profile']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^decode \(per step, 3 steps\): [0-9.]+ ms$/m);
    expect(table.stdout).toMatch(/^ {2}attention_step +[0-9.]+ ms +[0-9.]+ % {2}3 call\(s\)$/m);
    expect(table.stdout).toMatch(/^ {2}other \(JS, TF\.js\) +-?[0-9.]+ ms/m);
  });

  it('runs a card by name', async () => {
    const run = await fs2(['bench', 'tiny_llama', '--json', '--prompt-tokens', '3', '--new-tokens', '2', '--warmup', '0', '--runs', '1']);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as BenchResult).model).toBe('tiny_llama');
  });

  it('refuses more positions than the model holds', async () => {
    const long = await fs2(['bench', 'tiny_llama', '--prompt-tokens', '5000', '--new-tokens', '64']);
    expect(long.code).toBe(1);
    expect(long.stderr).toMatch(/^fs2: A prompt of 5000 tokens and 64 new tokens need 5064 positions, but the model holds at most [0-9]+\.\n$/);
  });

  it('measures a model split over two worker threads (--tp 2), with the greedy tokens of one thread', async () => {
    const args = ['bench', fixturePath('llama3'), '--json', '--prompt-tokens', '6', '--new-tokens', '5', '--warmup', '0', '--runs', '1'];
    const one = JSON.parse((await fs2(args)).stdout) as BenchResult;
    const run = await fs2([...args, '--tp', '2']);
    expect(run.stderr).not.toContain('fs2:');
    expect(run.code).toBe(0);
    const two = JSON.parse(run.stdout) as BenchResult;
    expect(two).toMatchObject({ engine: 'fs2', tp: 2, prompt_tokens: 6, new_tokens: 5, runs: 1 });
    expect(two.tokens).toEqual(one.tokens);
    expect(two.prefill_tok_s).toBeGreaterThan(0);
    expect(two.decode_tok_s).toBeGreaterThan(0);
  });

  it('feeds the reference prompt of bench/prompt.mjs (ids past the 259 special ones)', () => {
    expect(benchPrompt(4, 32000)).toEqual([13040, 21165, 19064, 25238]);
    expect(benchPrompt(5, 100).every((id) => id >= 0 && id < 100)).toBe(true);
  });
});
