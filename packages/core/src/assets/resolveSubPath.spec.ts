import { symlinkSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from '@jest/globals';

import { caughtAsync, makeTempDir, yamlStore } from '../../../../test/support/index.js';
import { AssetCardError } from './errors.js';
import { resolveSubPath } from './resolveSubPath.js';

const dir = makeTempDir();
const download = dir.mkdir('download');
dir.write('download/mistral/consolidated.00.pth', 'x');
dir.write('outside/secret', 'x');
symlinkSync(join(dir.path, 'outside'), join(download, 'escape'));
symlinkSync(join(download, 'mistral'), join(download, 'inside'));

const FILE = '/cards/m.yaml';
const card = yamlStore({ s: { [FILE]: 'name: m\ncheckpoint_path: ../x\n' } }).retrieveCard('m');

afterAll(() => dir.cleanup());

describe(resolveSubPath, () => {
  it('joins a path inside the download folder', async () => {
    expect(await resolveSubPath(download, 'mistral/consolidated.00.pth', card, 'checkpoint_path')).toBe(
      join(download, 'mistral/consolidated.00.pth'),
    );
    expect(await resolveSubPath(download, 'mistral/../mistral/not-yet-there.pth', card, 'checkpoint_path')).toBe(
      join(download, 'mistral/not-yet-there.pth'),
    );
    expect(await resolveSubPath(download, 'inside/consolidated.00.pth', card, 'checkpoint_path')).toBe(
      join(download, 'inside/consolidated.00.pth'),
    );
  });

  it.each([['../outside/secret'], ['/etc/passwd'], ['mistral/../../outside'], ['escape/secret'], ['escape/new-file']])(
    'refuses %s, which leaves the folder',
    async (subPath) => {
      const error = await caughtAsync(() => resolveSubPath(download, subPath, card, 'checkpoint_path'));

      expect(error).toBeInstanceOf(AssetCardError);
      expect(error.message).toBe(
        `\`checkpoint_path\` field of the \`m\` asset card points to a path that is not relative to the download directory. (${FILE}:2:18)`,
      );
    },
  );

  it('names the field it was given, without a location when the card lacks it', async () => {
    expect((await caughtAsync(() => resolveSubPath(download, '..', card, 'tokenizer_path'))).message).toBe(
      '`tokenizer_path` field of the `m` asset card points to a path that is not relative to the download directory.',
    );
  });
});
