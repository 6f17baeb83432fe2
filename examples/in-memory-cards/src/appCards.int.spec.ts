import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { AssetStore, GlobalModelLoader, type DependencyResolver } from '@fs2/core';

import { isolatedEnv, makeTempDir, spawnNode, type TempDir } from '../../../test/support/index.js';
import { completeAppPrompts, createAppFairseq2 } from './appCards.js';

const DIST_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');

describe('in-memory cards', () => {
  jest.setTimeout(120_000);

  let dir: TempDir;
  let env: Record<string, string>;
  let resolver: DependencyResolver;
  beforeAll(async () => {
    dir = makeTempDir();
    env = isolatedEnv(dir.path);
    resolver = await createAppFairseq2({ env, cwd: dir.path });
  });
  afterAll(() => dir.cleanup());

  it('sit next to the built-in cards, based on them', () => {
    const store = resolver.resolve(AssetStore);
    const writer = store.retrieveCard('app_writer');
    expect([writer.source, writer.base?.name, writer.base?.source]).toEqual(['app-settings', 'fs2_tiny', 'package:@fs2/core']);
    const config = resolver.resolve(GlobalModelLoader).familyOf(writer).getModelConfig(writer) as { max_seq_len: number; model_dim: number };
    expect([config.max_seq_len, config.model_dim]).toEqual([256, 256]);
  });

  it('load by name: the prompts of the dataset card, completed by the model card', async () => {
    const completions = await completeAppPrompts(resolver, 12);
    expect(completions.map((c) => c.prompt)).toEqual(['export function', 'import { Type } from', '/** The', 'const config =']);
    for (const { completion } of completions) {
      expect(completion).toMatch(/^[\x20-\x7e\n]{1,}$/);
    }
  });

  it('run as a compiled script', async () => {
    const child = spawnNode(DIST_MAIN, [], env);
    expect(await child.exited).toBe(0);
    expect(child.stdout().split('\n---\n')).toHaveLength(5);
  });
});
