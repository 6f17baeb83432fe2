import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import { runCli } from '@fs2/cli';
import { AssetStore, ModelFamily, createFairseq2, type DependencyResolver } from '@fs2/core';

import { GPT2_CARDS_FILE, GPT2_EXAMPLE_DIR, isolatedEnv, makeTempDir, type TempDir } from '../../../test/support/index.js';
import { gpt2Archs } from './archs.js';
import { getGpt2ModelHub } from './hub.js';
import { Gpt2Model } from './model.js';

/**
 * The example as a user meets it: installed (a workspace link in node_modules), found by
 * `initFairseq2()`'s discovery through the `fs2.extension` field of its package.json, run from a
 * working directory that has nothing to do with it.
 */
describe('the @fs2-examples/custom-family extension', () => {
  let dir: TempDir;
  let env: Record<string, string>;
  const lines: string[] = [];

  beforeAll(() => {
    dir = makeTempDir();
    env = isolatedEnv(dir.path);
  });

  afterAll(() => dir.cleanup());

  describe('found by default extension discovery', () => {
    let resolver: DependencyResolver;

    beforeAll(async () => {
      resolver = await createFairseq2({ env: { ...env, FAIRSEQ2_EXTENSION_TRACE: '1' }, cwd: dir.path, log: (line) => lines.push(line) });
    });

    it('runs, and registers the gpt2 family attributed to the package', () => {
      expect(lines).toContain('fs2: extension @fs2-examples/custom-family registered.');
      expect(resolver.lookup(ModelFamily).get('gpt2').origin).toBe('@fs2-examples/custom-family');
    });

    it("adds the package's cards, as the source package:@fs2-examples/custom-family", () => {
      const card = resolver.resolve(AssetStore).retrieveCard('gpt2_tiny_random');

      expect(card.source).toBe('package:@fs2-examples/custom-family');
      expect(card.file).toBe(GPT2_CARDS_FILE);
    });

    it('loads the tiny model by card name through the typed hub, and runs it', async () => {
      // Begin-example: usage
      const hub = getGpt2ModelHub(resolver); // getGpt2ModelHub() after initFairseq2()
      const model = await hub.loadModel('gpt2_tiny_random', { device: 'cpu' });
      const logits = model.forward([1, 2, 3]); // [batch 1, 3 positions, vocab 96]
      const best = logits.argMax(-1);
      const next = best.arraySync() as number[][]; // the likeliest token after each position
      tf.dispose([logits, best]);
      // End-example: usage
      try {
        expect(model).toBeInstanceOf(Gpt2Model);
        expect(model.config).toEqual(gpt2Archs.gpt2_tiny());
        expect(logits.shape).toEqual([1, 3, 96]);
        expect(next[0]).toHaveLength(3);
      } finally {
        model.dispose();
      }
    });
  });

  describe('in the fs2 command line (in-process)', () => {
    const fs2 = async (args: string[], cwd = dir.path): Promise<{ code: number; stdout: string; stderr: string }> => {
      let stdout = '';
      let stderr = '';
      const code = await runCli(args, {
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: (text: string) => (stderr += text) },
        env,
        cwd,
      });
      return { code, stdout, stderr };
    };

    it('fs2 assets show gpt2_tiny_random shows the example card', async () => {
      const { code, stdout, stderr } = await fs2(['assets', 'show', 'gpt2_tiny_random']);

      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toBe(
        [
          'gpt2_tiny_random',
          `  source          : package:@fs2-examples/custom-family (${GPT2_CARDS_FILE}:39)`,
          '  model_family    : "gpt2"',
          '  model_arch      : "gpt2_tiny"',
          '  model_config    : {"dropout_p":0}',
          '  checkpoint      : "gpt2_tiny_random"',
          '',
        ].join('\n'),
      );
    });

    it('fs2 assets show --json gpt2_tiny_random gives the fields as JSON', async () => {
      const { code, stdout } = await fs2(['assets', 'show', 'gpt2_tiny_random', '--json']);

      expect(code).toBe(0);
      expect((JSON.parse(stdout) as { fields: unknown }).fields).toEqual({
        model_family: 'gpt2',
        model_arch: 'gpt2_tiny',
        model_config: { dropout_p: 0 },
        checkpoint: 'gpt2_tiny_random',
      });
    });

    it('fs2 assets list --kind model lists the example cards in their own group', async () => {
      const { code, stdout } = await fs2(['assets', 'list', '--kind', 'model']);

      expect(code).toBe(0);
      expect(stdout.split('\n\n')).toContain(
        [
          'package:@fs2-examples/custom-family',
          '  gpt2                     model',
          '  gpt2_gated_demo          model',
          '  gpt2_large               model',
          '  gpt2_medium              model',
          '  gpt2_tiny_random         model',
          '  gpt2_xl                  model',
        ].join('\n'),
      );
    });

    it('fs2 assets validate passes the example cards', async () => {
      expect(await fs2(['assets', 'validate', join(GPT2_EXAMPLE_DIR, 'cards')])).toEqual({
        code: 0,
        stdout: 'Checked 6 cards: no problems.\n',
        stderr: '',
      });
    });

    it('fs2 assets validate reports a bad model_arch of a user card at file:line:col', async () => {
      dir.write('user/mine.yaml', 'name: my_gpt2\nmodel_family: gpt2\nmodel_arch: gpt2_huge\n');
      const { code, stdout } = await fs2(['assets', 'validate', 'user']);

      expect(code).toBe(1);
      expect(stdout).toBe(
        [
          'user/mine.yaml:3:13: `model_arch` field of the `my_gpt2` asset card is expected to be a supported gpt2 model architecture, but is `gpt2_huge` instead.',
          'Checked 1 card: 1 problem.',
          '',
        ].join('\n'),
      );
    });
  });
});
