import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { GlobalModelLoader, createFairseq2, useDevice, type DependencyResolver, type TransformerDecoderModel } from '@fs2/core';

import { isolatedEnv, liveTensors, makeTempDir, promptLogits, type TempDir } from './support/index.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const TINY = join(REPO, 'cards', 'tiny');
const MODELS = ['tiny_llama', 'tiny_qwen', 'tiny_mistral'] as const;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => statSync(join(dir, file)).isFile())
    .sort();
}

describe('the tiny offline models (cards/tiny)', () => {
  let dir: TempDir;
  let resolver: DependencyResolver;
  beforeAll(async () => {
    dir = makeTempDir();
    // The built-in cards and the installed family packages, as a user gets them.
    resolver = await createFairseq2({ env: isolatedEnv(dir.path), cwd: dir.path, log: () => undefined });
    await useDevice('cpu');
  });
  afterAll(() => dir.cleanup());

  it('are exactly what scripts/make-tiny-models.mjs writes (deterministic)', () => {
    const out = join(dir.path, 'regenerated');
    const result = spawnSync(process.execPath, [join(REPO, 'scripts', 'make-tiny-models.mjs'), '--out', out], { encoding: 'utf8' });

    expect(result.status).toBe(0);
    expect(filesUnder(out)).toEqual(filesUnder(TINY));
    for (const file of filesUnder(TINY)) {
      expect([file, readFileSync(join(out, file)).equals(readFileSync(join(TINY, file)))]).toEqual([file, true]);
    }
  });

  it('work offline out of the box: `fs2 generate tiny_llama --prompt "Hello" --max-new-tokens 16` prints text (compiled CLI)', () => {
    const result = spawnSync(
      process.execPath,
      [join(REPO, 'packages/cli/bin/fs2.js'), 'generate', 'tiny_llama', '--prompt', 'Hello', '--max-new-tokens', '16'],
      { cwd: REPO, env: isolatedEnv(join(dir.path, 'cli')), encoding: 'utf8' },
    );

    expect([result.status, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toMatch(/^.+\n$/s);
  });

  describe.each(MODELS)('%s', (name) => {
    it('is under 5 MB, with config.json, safetensors weights and a tokenizer.json', () => {
      const files = filesUnder(join(TINY, name));
      const bytes = files.reduce((total, file) => total + statSync(join(TINY, name, file)).size, 0);

      expect(files).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
      expect(bytes).toBeLessThan(5 * 1024 * 1024);
    });

    it('loads by its built-in card exactly as from its folder (the card describes the same model as config.json)', async () => {
      const loader = resolver.resolve(GlobalModelLoader);
      const before = liveTensors();
      const byCard = (await loader.load(name, { device: 'cpu', progress: false })) as TransformerDecoderModel;
      const byFolder = (await loader.loadFromPath(join(TINY, name), { device: 'cpu', progress: false })) as TransformerDecoderModel;
      try {
        expect(byCard.config).toEqual(byFolder.config);
        const tokens = [72, 101, 108, 108, 111];
        expect(promptLogits(byCard, tokens)).toEqual(promptLogits(byFolder, tokens));
        const { tokens: generated } = await byCard.generateAll(tokens, { maxNewTokens: 16 });
        expect(generated).toHaveLength(16);
      } finally {
        byCard.dispose();
        byFolder.dispose();
      }
      expect(liveTensors()).toBe(before);
    });
  });
});
