import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { isolatedEnv, makeTempDir, sha256Hex, startTestHttpServer, type TempDir, type TestHttpServer } from '../../../test/support/index.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(REPO, 'packages/cli/bin/fs2.js');

const TOKEN = 'hf_CliSecretToken0042';
const PASSWORD = 'cli-Secret-pw-77';

describe('the fs2 binary on a failed download (compiled CLI)', () => {
  let server: TestHttpServer;
  let dir: TempDir;

  beforeAll(async () => {
    server = await startTestHttpServer();
    server.hubRepo({ id: 'acme/private', commit: 'c0ffee'.padEnd(40, '0'), token: 'hf_TheRightToken', files: { 'model.safetensors': 'x' } });
    server.file('/private/model.safetensors', { body: '', status: 404 });
    server.file('/private/changed.safetensors', { body: 'not the expected bytes' });
    dir = makeTempDir();
    dir.write(
      'user/cards.yaml',
      [
        'name: private_hub',
        'model_family: llama',
        'model_arch: llama3_2_1b',
        'checkpoint: hg://acme/private',
        'tokenizer: hg://acme/private',
        'tokenizer_family: llama',
        '---',
        'name: private_url',
        'model_family: llama',
        'model_arch: llama3_2_1b',
        `checkpoint: ${server.url.replace('://', `://alice:${PASSWORD}@`)}/private/model.safetensors`,
        `tokenizer: ${server.url.replace('://', `://alice:${PASSWORD}@`)}/private/tokenizer.model`,
        'tokenizer_family: llama',
        '---',
        'name: private_changed',
        'base: private_url',
        `checkpoint: ${server.url.replace('://', `://alice:${PASSWORD}@`)}/private/changed.safetensors`,
        `checksum: sha256:${'0'.repeat(64)}`,
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await server.close();
    dir.cleanup();
  });

  async function fs2(args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
    const env = isolatedEnv(dir.path, { HF_ENDPOINT: server.url, HF_TOKEN: TOKEN });
    // Online, with progress lines: they are part of what must not leak.
    delete env['FAIRSEQ2_NO_PROGRESS'];
    delete env['HF_HUB_OFFLINE'];
    // Exactly this environment: none of the runner's own variables (a real HF_TOKEN, FAIRSEQ2_NO_PROGRESS).
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise<number | string>((resolve) => child.on('close', (status, signal) => resolve(status ?? signal ?? -1)));
    return { code, stdout, stderr };
  }

  it.each([
    ['private_hub', `fs2: Download of hg://acme/private failed. The Hugging Face Hub did not accept the token in HF_TOKEN for the model repository acme/private (HTTP 401): check that it is valid and can read the repository. To use local files instead, add a \`@user\` card with a local \`checkpoint\` (in ~/.config/fairseq2/assets).`],
    ['private_url', `fs2: Download of {url}/private/model.safetensors failed. Server returned HTTP error code 404 for {url}/private/model.safetensors.`],
    // Progress lines first (the body arrives), then the checksum error.
    [
      'private_changed',
      `fs2: Download of {url}/private/changed.safetensors failed. The downloaded file has the checksum sha256:${sha256Hex('not the expected bytes')}, but sha256:${'0'.repeat(64)} is expected; it was deleted. If the file on the server changed on purpose, update the checksum of the card.`,
    ],
  ])('%s: neither HF_TOKEN nor a URL password appears on stderr, even with --verbose', async (card, firstLine) => {
    const { code, stdout, stderr } = await fs2(['--verbose', 'generate', card, '--prompt', 'Hi', '--max-new-tokens', '1']);

    expect([code, stdout]).toEqual([card === 'private_url' ? 2 : 1, '']);
    const lines = stderr.split('\n');
    const shownUrl = server.url.replace('://', '://alice:***@');
    expect(lines.find((line) => line.startsWith('fs2: '))).toBe(firstLine.replaceAll('{url}', shownUrl));
    if (card === 'private_changed') {
      expect(lines[0]).toBe(`Downloading private_changed: started (22 B)`);
    }
    expect(stderr).toMatch(/\n {4}at /); // --verbose: the stack is there
    expect(stderr).not.toContain(TOKEN);
    expect(stderr).not.toContain(PASSWORD);
  }, 60_000);
});
