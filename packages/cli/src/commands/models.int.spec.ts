import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import {
  FIXTURE_TOKENS,
  LOGITS_TOLERANCE,
  argmaxRows,
  fixturePath,
  isolatedEnv,
  liveTensors,
  makeTempDir,
  maxAbsDiff,
  readExpectedLogits,
  type FixtureName,
  type TempDir,
} from '../../../../test/support/index.js';
import { ThreadGangHost } from '@fs2/core';

import { runCli } from '../main.js';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const FIXTURES: readonly FixtureName[] = ['llama3', 'llama3_bf16_sharded', 'llama3_meta', 'qwen2', 'qwen3', 'mistral'];

/** `--family` for the folders that need it (Meta's params.json does not name its family). */
const FAMILY_FLAGS: Partial<Record<FixtureName, string[]>> = { llama3_meta: ['--family', 'llama'] };

describe('fs2 logits and fs2 generate', () => {
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
    // The qwen3 fixture as a card: its shape as overrides of the qwen3_8b architecture.
    writeFileSync(
      join(env['FAIRSEQ2_USER_ASSET_DIR'] as string, 'fixtures.yaml'),
      [
        'name: fixture_qwen3',
        'model_family: qwen',
        'model_arch: qwen3_8b',
        `checkpoint: ${fixturePath('qwen3')}`,
        'model_config: {model_dim: 64, num_layers: 2, num_attn_heads: 4, num_key_value_heads: 2, head_dim: 32, vocab_size: 512, ffn_inner_dim: 96, max_seq_len: 1024}',
        '',
      ].join('\n'),
    );
  });
  afterAll(() => dir.cleanup());

  describe.each(['cpu', 'wasm'])('on the %s device', (device) => {
    describe.each(FIXTURES)('with the %s folder', (name) => {
      const expected = readExpectedLogits(name);
      const target = [fixturePath(name), ...(FAMILY_FLAGS[name] ?? []), '--device', device];

      it('prints the logits after each prefix as JSON, within the tolerance, with the reference argmaxes', async () => {
        const before = liveTensors();
        const { code, stdout, stderr } = await fs2(['logits', ...target, '--tokens', FIXTURE_TOKENS.join(',')]);

        expect([code, stderr]).toEqual([0, '']);
        const printed = JSON.parse(stdout) as { tokens: number[]; logits: number[][] };
        expect(printed.tokens).toEqual(FIXTURE_TOKENS);
        expect(maxAbsDiff(printed.logits, expected.logits)).toBeLessThan(LOGITS_TOLERANCE);
        expect(argmaxRows(printed.logits)).toEqual(expected.argmax);
        expect(liveTensors()).toBe(before);
      });

      it('generates the reference greedy continuation, streamed and as JSON', async () => {
        const before = liveTensors();
        const args = ['generate', ...target, '--tokens', FIXTURE_TOKENS.join(','), '--max-new-tokens', '8'];

        expect(await fs2(args)).toEqual({ code: 0, stdout: `${expected.greedy_next_tokens.join(' ')}\n`, stderr: '' });
        expect(await fs2([...args, '--json'])).toEqual({
          code: 0,
          stdout: `${JSON.stringify({ tokens: expected.greedy_next_tokens, text: null })}\n`,
          stderr: '',
        });
        expect(liveTensors()).toBe(before);
      });
    });

    it('loads a model by card name', async () => {
      const { code, stdout } = await fs2(['logits', 'fixture_qwen3', '--device', device, '--tokens', FIXTURE_TOKENS.join(',')]);

      expect(code).toBe(0);
      expect(maxAbsDiff((JSON.parse(stdout) as { logits: number[][] }).logits, readExpectedLogits('qwen3').logits)).toBeLessThan(LOGITS_TOLERANCE);
    });
  });

  describe('with a tokenizer (the tiny built-in models)', () => {
    it.each(['tiny_llama', 'tiny_qwen', 'tiny_mistral'])('%s: encodes --prompt and streams the decoded text', async (name) => {
      const args = ['generate', name, '--device', 'cpu', '--prompt', 'Hello', '--max-new-tokens', '16'];
      const json = await fs2([...args, '--json']);
      const streamed = await fs2(args);

      expect([json.code, json.stderr]).toEqual([0, '']);
      const { tokens, text } = JSON.parse(json.stdout) as { tokens: number[]; text: string };
      expect(tokens).toHaveLength(16);
      expect(text.length).toBeGreaterThan(0);
      expect(streamed).toEqual({ code: 0, stdout: `${text}\n`, stderr: '' });
    });

    it("encodes the prompt as the family's tokenizer does: Llama 3 starts with <|begin_of_text|>", async () => {
      const byPrompt = await fs2(['generate', 'tiny_llama', '--device', 'cpu', '--prompt', 'Hello', '--max-new-tokens', '4', '--json']);
      // <|begin_of_text|> is 256 in tiny_llama's vocabulary, then the bytes of "Hello".
      const byTokens = await fs2(['generate', 'tiny_llama', '--device', 'cpu', '--tokens', '256,72,101,108,108,111', '--max-new-tokens', '4', '--json']);

      expect(byPrompt.stdout).toBe(byTokens.stdout);
    });

    it('refuses --prompt for a folder without tokenizer.json', async () => {
      expect(await fs2(['generate', fixturePath('qwen3'), '--prompt', 'Hello'])).toEqual({
        code: 1,
        stdout: '',
        stderr: `fs2: ${fixturePath('qwen3')} has no tokenizer.json, so \`--prompt\` cannot be encoded; give the prompt as token ids with \`--tokens\`.\n`,
      });
    });
  });

  describe('sampling', () => {
    const args = ['generate', fixturePath('mistral'), '--device', 'cpu', '--tokens', '1,17,250', '--max-new-tokens', '6', '--json'];

    it('reproduces a sampled generation with the same seed', async () => {
      const first = await fs2([...args, '--temperature', '1.5', '--top-k', '50', '--seed', '7']);
      const second = await fs2([...args, '--temperature', '1.5', '--top-k', '50', '--seed', '7']);

      expect(first.code).toBe(0);
      expect(second.stdout).toBe(first.stdout);
      expect((JSON.parse(first.stdout) as { tokens: number[] }).tokens).toHaveLength(6);
    });

    it('refuses --greedy together with sampling options', async () => {
      expect(await fs2([...args, '--greedy', '--temperature', '0.7'])).toEqual({
        code: 1,
        stdout: '',
        stderr: 'fs2: `--greedy` cannot be combined with `--temperature`, `--top-k` or `--top-p`.\n',
      });
    });
  });

  describe('split over tensor-parallel ranks (--tp, worker threads running the compiled dist/)', () => {
    it('prints the logits of the whole model, and generates its greedy continuation', async () => {
      const expected = readExpectedLogits('llama3');
      const logits = await fs2(['logits', fixturePath('llama3'), '--tp', '2', '--tokens', FIXTURE_TOKENS.join(',')]);
      expect([logits.code, logits.stderr]).toEqual([0, '']);
      expect(maxAbsDiff((JSON.parse(logits.stdout) as { logits: number[][] }).logits, expected.logits)).toBeLessThan(LOGITS_TOLERANCE);

      const args = ['generate', 'fixture_qwen3', '--tp', '2', '--tokens', FIXTURE_TOKENS.join(','), '--max-new-tokens', '8'];
      expect(await fs2(args)).toEqual({ code: 0, stdout: `${readExpectedLogits('qwen3').greedy_next_tokens.join(' ')}\n`, stderr: '' });
      expect(ThreadGangHost.liveWorkersInProcess).toBe(0);
    }, 60_000);

    it('refuses a split the model cannot take, and a --tp that is not a positive integer', async () => {
      expect(await fs2(['logits', fixturePath('llama3'), '--tp', '3', '--tokens', '1'])).toEqual({
        code: 1,
        stdout: '',
        stderr:
          'fs2: The llama model cannot be split over 3 tensor-parallel ranks: `num_attn_heads` (4) is not a multiple of 3; `num_key_value_heads` (2) is not a multiple of 3; the feed-forward width (160) is not a multiple of 3; `model_dim` (64) is not a multiple of 3; `vocab_size` (512) is not a multiple of 3.\n',
      });
      expect(await fs2(['logits', fixturePath('llama3'), '--tp', '0', '--tokens', '1'])).toEqual({
        code: 1,
        stdout: '',
        stderr: "fs2: error: option '--tp <n>' argument '0' is invalid. expected a positive integer.\n",
      });
    });
  });

  describe('errors: one clean line', () => {
    it('exits 2 for a model that is neither a card nor a folder', async () => {
      expect(await fs2(['logits', 'no_such_model', '--tokens', '1'])).toEqual({ code: 2, stdout: '', stderr: 'fs2: no_such_model is not a known model.\n' });
    });

    it('exits 2 for a path that does not exist', async () => {
      expect(await fs2(['generate', './missing', '--tokens', '1'])).toEqual({
        code: 2,
        stdout: '',
        stderr: `fs2: ${dir.path}/missing does not exist.\n`,
      });
    });

    it('asks for --family on a Meta folder', async () => {
      expect(await fs2(['logits', fixturePath('llama3_meta'), '--tokens', '1'])).toEqual({
        code: 1,
        stdout: '',
        stderr: `fs2: The model family of ${fixturePath('llama3_meta')} cannot be determined: a Meta reference folder (\`params.json\`) does not name its family: pass one (\`--family llama\`) or write a card.\n`,
      });
    });

    it('refuses a --family that contradicts the card', async () => {
      expect(await fs2(['logits', 'fixture_qwen3', '--family', 'llama', '--tokens', '1'])).toEqual({
        code: 1,
        stdout: '',
        stderr: 'fs2: `--family llama` does not match the model family of the `fixture_qwen3` asset card, qwen.\n',
      });
    });

    it('refuses token ids outside the vocabulary', async () => {
      expect(await fs2(['logits', fixturePath('qwen3'), '--device', 'cpu', '--tokens', '1,512'])).toEqual({
        code: 1,
        stdout: '',
        stderr: 'fs2: The token id 512 at position 1 of sequence 0 is outside the vocabulary [0, 512).\n',
      });
    });

    it('refuses malformed token ids as a usage error', async () => {
      expect(await fs2(['logits', fixturePath('qwen3'), '--tokens', '1,x'])).toEqual({
        code: 1,
        stdout: '',
        stderr: "fs2: error: option '--tokens <ids>' argument '1,x' is invalid. expected comma-separated token ids (integers >= 0), e.g. 1,2,3.\n",
      });
    });

    it('takes at most one of --prompt and --tokens, and needs a tokenizer to start without either', async () => {
      expect(await fs2(['generate', fixturePath('qwen3'), '--prompt', 'x', '--tokens', '1'])).toEqual({
        code: 1,
        stdout: '',
        stderr: 'fs2: Give the prompt either as text (`--prompt`) or as token ids (`--tokens`), not both.\n',
      });
      expect(await fs2(['generate', fixturePath('qwen3')])).toEqual({
        code: 1,
        stdout: '',
        stderr: `fs2: ${fixturePath('qwen3')} has no tokenizer.json, so \`--prompt\` cannot be encoded; give the prompt as token ids with \`--tokens\`.\n`,
      });
    });
  });
});
