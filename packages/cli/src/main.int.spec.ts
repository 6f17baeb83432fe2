import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { makeTempDir, type TempDir } from '../../../test/support/index.js';
import { runCli } from './main.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe('fs2 (in-process)', () => {
  let dir: TempDir;
  let env: Record<string, string>;

  const fs2 = async (args: string[], cwd = dir.path): Promise<Run> => {
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

  beforeEach(() => {
    dir = makeTempDir();
    dir.mkdir('home');
    dir.mkdir('system');
    dir.write(
      'user/mine.yaml',
      [
        'name: my_root',
        // Families fs2 ships, so that the card validators find them registered.
        'model_family: llama',
        'tokenizer_family: llama',
        'model_config: {num_layers: 2}',
        '---',
        'name: my_model',
        'base: my_root',
        'checkpoint: weights/my.safetensors',
        '---',
        'name: my_model@user',
        'model_config: {num_layers: 3}',
        '---',
        'name: my_data',
        'dataset_family: jsonl',
        '---',
        'name: my_misc',
        'note: no family',
        '',
      ].join('\n'),
    );
    env = {
      HOME: join(dir.path, 'home'),
      FAIRSEQ2_ASSET_DIR: join(dir.path, 'system'),
      FAIRSEQ2_USER_ASSET_DIR: join(dir.path, 'user'),
    };
  });

  afterEach(() => dir.cleanup());

  describe('assets list', () => {
    it('groups the cards by source, names in natural order, with their kinds', async () => {
      const { code, stdout, stderr } = await fs2(['assets', 'list']);

      expect(code).toBe(0);
      expect(stderr).toBe('');
      // Installed extensions with cards (the workspace's examples) add groups of their own.
      const groups = stdout.split('\n\n');
      const builtin = groups.find((group) => group.startsWith('package:@fs2/core\n'));
      const user = groups.find((group) => group.startsWith(`path:${dir.path}/user\n`));
      expect(builtin?.split('\n').slice(0, 4)).toEqual([
        'package:@fs2/core',
        '  fs2_tiny                 model, tokenizer',
        '  llama2                   model, tokenizer',
        '  llama2_7b                model, tokenizer',
      ]);
      expect(user).toBe(
        [
          `path:${dir.path}/user`,
          '  my_data                  dataset',
          '  my_misc                  other',
          '  my_model                 model, tokenizer',
          '  my_model@user            model, tokenizer',
          '  my_root                  model, tokenizer',
          '',
        ].join('\n'),
      );
    });

    it('filters by kind', async () => {
      const { code, stdout } = await fs2(['assets', 'list', '--kind', 'dataset']);

      expect(code).toBe(0);
      expect(stdout).toBe(`path:${dir.path}/user\n  my_data  dataset\n`);
    });

    it('says when no card is of the kind', async () => {
      dir.write('user/mine.yaml', 'name: x\n');

      expect((await fs2(['assets', 'list', '--kind', 'dataset'])).stdout).toBe('No dataset cards.\n');
    });

    it('refuses an unknown kind, as a usage error', async () => {
      const { code, stdout, stderr } = await fs2(['assets', 'list', '--kind', 'gpu']);

      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toBe(
        "fs2: error: option '--kind <kind>' argument 'gpu' is invalid. Allowed choices are model, tokenizer, dataset, all.\n",
      );
    });

    it('warns about a card that cannot be built and leaves it out', async () => {
      dir.write('user/broken.yaml', 'name: orphan\nbase: nowhere\nmodel_family: toy\n');
      const { code, stdout, stderr } = await fs2(['assets', 'list', '--kind', 'model']);

      expect(code).toBe(0);
      expect(stderr).toBe(
        `fs2: warning: \`nowhere\` base asset of the \`orphan\` asset card does not exist. (${dir.path}/user/broken.yaml:2:7) The orphan card is left out.\n`,
      );
      expect(stdout).not.toContain('orphan');
    });
  });

  describe('assets show', () => {
    it('prints the card, its overlays and its base cards, without the __x__ fields', async () => {
      const { code, stdout, stderr } = await fs2(['assets', 'show', 'my_model']);

      expect([code, stderr]).toEqual([0, '']);
      expect(stdout).toBe(
        [
          'my_model',
          `  source          : path:${dir.path}/user (${dir.path}/user/mine.yaml:6)`,
          '  overlays        : my_model@user',
          '  base            : "my_root"',
          '  checkpoint      : "weights/my.safetensors"',
          '  model_config    : {"num_layers":3}',
          '',
          'my_root (base of my_model)',
          `  source          : path:${dir.path}/user (${dir.path}/user/mine.yaml:1)`,
          '  model_family    : "llama"',
          '  tokenizer_family: "llama"',
          '  model_config    : {"num_layers":2}',
          '',
        ].join('\n'),
      );
    });

    it('prints one JSON object with --json', async () => {
      const { code, stdout } = await fs2(['assets', 'show', 'my_model@', '--json']);

      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toEqual({
        name: 'my_model',
        source: `path:${dir.path}/user`,
        file: `${dir.path}/user/mine.yaml`,
        line: 6,
        column: 7,
        overlays: [],
        fields: { base: 'my_root', checkpoint: 'weights/my.safetensors' },
        base: {
          name: 'my_root',
          source: `path:${dir.path}/user`,
          file: `${dir.path}/user/mine.yaml`,
          line: 1,
          column: 7,
          overlays: [],
          fields: { model_family: 'llama', tokenizer_family: 'llama', model_config: { num_layers: 2 } },
          base: null,
        },
      });
    });

    it('exits 2 with one clean line for a card that does not exist', async () => {
      expect(await fs2(['assets', 'show', 'nope'])).toEqual({ code: 2, stdout: '', stderr: 'fs2: nope asset is not found.\n' });
    });

    it('adds the stack with --verbose', async () => {
      const { code, stderr } = await fs2(['--verbose', 'assets', 'show', 'nope']);
      const lines = stderr.split('\n');

      expect(code).toBe(2);
      expect(lines[0]).toBe('fs2: nope asset is not found.');
      expect(lines[1]).toBe('AssetNotFoundError: nope asset is not found.');
      expect(lines[2]).toMatch(/^ {4}at /);
    });

    it('exits 1 for a broken card', async () => {
      dir.write('user/broken.yaml', 'name: a\nbase: a\n');

      expect(await fs2(['assets', 'show', 'a'])).toEqual({
        code: 1,
        stdout: '',
        stderr: `fs2: The \`a\` asset card has a cycle in its \`base\` chain: a -> a. (${dir.path}/user/broken.yaml:2:7)\n`,
      });
    });

    it('exits 1 when a card file is broken, before any command runs', async () => {
      dir.write('user/broken.yaml', 'name: a\nname: b\n');

      expect(await fs2(['assets', 'show', 'my_model'])).toEqual({
        code: 1,
        stdout: '',
        stderr: `fs2: \`name\` key is defined twice in the same mapping. (${dir.path}/user/broken.yaml:2:1)\n`,
      });
    });
  });

  describe('assets validate', () => {
    it('checks every registered source and says there is no problem', async () => {
      const { code, stdout } = await fs2(['assets', 'validate']);

      expect(code).toBe(0);
      expect(stdout).toMatch(/^Checked \d+ cards: no problems\.\n$/);
    });

    it('prints file:line:col: message per problem, relative to the working directory, and exits 1', async () => {
      dir.write('user/broken.yaml', 'name: orphan\nbase: nowhere\n---\nname: [x]\n---\nname: my_model\n');
      const { code, stdout, stderr } = await fs2(['assets', 'validate']);

      expect(stderr).toBe('');
      expect(code).toBe(1);
      expect(stdout.split('\n').slice(0, 3)).toEqual([
        'user/broken.yaml:2:7: `nowhere` base asset of the `orphan` asset card does not exist.',
        'user/broken.yaml:4:7: `name` field of the document at index 1 is expected to be of type string, but is of type list instead.',
        `user/mine.yaml:6:7: \`my_model\` asset is defined twice in path:${dir.path}/user, first at ${dir.path}/user/broken.yaml:6:7.`,
      ]);
      expect(stdout.split('\n')[3]).toMatch(/^Checked \d+ cards: 3 problems\.$/);
    });

    it('checks only the paths given, reading them with the registered sources', async () => {
      dir.write('draft/new.yaml', 'name: draft\nbase: my_root\n---\nname: draft2\nbase: llama9\n');
      const { code, stdout } = await fs2(['assets', 'validate', 'draft']);

      expect(code).toBe(1);
      expect(stdout).toBe(
        'draft/new.yaml:5:7: `llama9` base asset of the `draft2` asset card does not exist.\nChecked 2 cards: 1 problem.\n',
      );
    });

    it('runs the validators that extensions register', async () => {
      dir.write(
        'node_modules/toy-family/package.json',
        JSON.stringify({ name: 'toy-family', type: 'module', fs2: { extension: './extension.js' } }),
      );
      dir.write(
        'node_modules/toy-family/extension.js',
        `export default (container) => container.collection.registerInstance(Symbol.for('fs2.service:AssetCardValidator'), {
          name: 'toy model family',
          validate: (card) => card.maybeField('model_family')?.value === 'llama' && !card.hasField('model_arch')
            ? [card.field('model_family').error('The toy family needs a model_arch.')] : [],
        });`,
      );
      const { code, stdout } = await fs2(['assets', 'validate', 'user']);

      expect(code).toBe(1);
      expect(stdout).toBe(
        [
          'user/mine.yaml:2:15: The toy family needs a model_arch.',
          'Checked 5 cards: 1 problem.',
          '',
        ].join('\n'),
      );
    });

    it('passes on the built-in cards: fs2 assets validate cards/', async () => {
      expect(await fs2(['assets', 'validate', 'cards/'], REPO)).toMatchObject({ code: 0, stderr: '' });
      expect((await fs2(['assets', 'validate', 'cards/'], REPO)).stdout).toMatch(/^Checked \d{2} cards: no problems\.\n$/);
    });

    it('exits 2 for a path that does not exist', async () => {
      expect(await fs2(['assets', 'validate', 'nowhere'])).toEqual({
        code: 2,
        stdout: '',
        stderr: `fs2: path:${dir.path}/nowhere asset source is not found: ${dir.path}/nowhere does not exist.\n`,
      });
    });
  });

  describe('usage', () => {
    it('prints the version', async () => {
      expect(await fs2(['--version'])).toEqual({ code: 0, stdout: '0.1.0\n', stderr: '' });
    });

    it('suggests a command for a typo', async () => {
      expect(await fs2(['asets'])).toEqual({
        code: 1,
        stdout: '',
        stderr: "fs2: error: unknown command 'asets'\n(Did you mean assets?)\n",
      });
    });

    it('prints help for a command group', async () => {
      const { code, stdout } = await fs2(['assets', '--help']);

      expect(code).toBe(0);
      expect(stdout).toContain('list [options]');
      expect(stdout).toContain('validate [paths...]');
    });
  });
});

describe('the fs2 binary', () => {
  it('runs the compiled CLI (after `npm run build`)', () => {
    const bin = join(REPO, 'packages/cli/bin/fs2.js');
    expect(existsSync(join(REPO, 'packages/cli/dist/main.js'))).toBe(true);
    const dir = makeTempDir();
    try {
      const result = spawnSync(process.execPath, [bin, 'assets', 'show', 'qwen3_0.6b', '--json'], {
        cwd: REPO,
        env: { PATH: process.env['PATH'] ?? '', HOME: dir.path, FAIRSEQ2_ASSET_DIR: dir.path, FAIRSEQ2_USER_ASSET_DIR: dir.path },
        encoding: 'utf8',
      });

      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect((JSON.parse(result.stdout) as { fields: { checkpoint: string } }).fields.checkpoint).toBe('hg://Qwen/Qwen3-0.6B');
      expect(spawnSync(process.execPath, [bin, 'assets', 'show', 'nope'], { cwd: REPO, encoding: 'utf8' }).status).toBe(2);
    } finally {
      dir.cleanup();
    }
  });
});
