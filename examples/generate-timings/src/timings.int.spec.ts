import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createFairseq2, type DependencyResolver } from '@fs2/core';

import { isolatedEnv, makeTempDir, spawnNode, type TempDir } from '../../../test/support/index.js';
import { formatTimings, generateWithTimings } from './timings.js';

const DIST_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');

describe('generate-timings', () => {
  jest.setTimeout(120_000);

  let dir: TempDir;
  let env: Record<string, string>;
  let resolver: DependencyResolver;
  beforeAll(async () => {
    dir = makeTempDir();
    env = isolatedEnv(dir.path);
    resolver = await createFairseq2({ env, cwd: dir.path });
  });
  afterAll(() => dir.cleanup());

  it('loads the default model by card, generates, and measures each part', async () => {
    const timings = await generateWithTimings(resolver, { maxNewTokens: 24 });
    expect(timings).toMatchObject({ card: 'fs2_tiny', prompt: 'export function ', promptTokens: 17, generatedTokens: 24 });
    expect(timings.text).toMatch(/^[\x20-\x7e\n]+$/);
    expect(timings.loadMs).toBeGreaterThan(0);
    expect(timings.firstTokenMs).toBeGreaterThan(0);
    expect(timings.tokensPerSecond).toBeGreaterThan(0);
    const report = formatTimings(timings).split('\n');
    expect(report[0]).toBe(`export function ${timings.text}`.split('\n')[0]);
    expect(report.slice(-5)).toEqual([
      'model           fs2_tiny',
      expect.stringMatching(/^load            [0-9]+ ms$/),
      expect.stringMatching(/^prompt          17 tokens, first token after [0-9.]+ ms$/),
      expect.stringMatching(/^generation      24 tokens, [0-9.]+ tokens\/s$/),
      '',
    ]);
  });

  it('runs as a compiled script', async () => {
    const child = spawnNode(DIST_MAIN, ['fs2_tiny', 'import { ', '8'], env);
    expect(await child.exited).toBe(0);
    expect(child.stdout()).toMatch(/^import \{ [\s\S]*\n\nmodel           fs2_tiny\nload .*\nprompt          10 tokens, .*\ngeneration      8 tokens, .*\n$/);
  });
});
