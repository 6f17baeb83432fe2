import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import {
  AssetStore,
  GlobalModelLoader,
  createFairseq2,
  decoderLMLogits,
  loadTokenizer,
  sequenceNll,
  type DependencyResolver,
  type TransformerDecoderModel,
} from '@fs2/core';

import { isolatedEnv, makeTempDir, type TempDir } from './support/index.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const DEFAULT_DIR = join(REPO, 'cards', 'default', 'fs2_tiny');

describe('fs2_tiny, the default model (cards/default)', () => {
  jest.setTimeout(120_000);

  let dir: TempDir;
  let resolver: DependencyResolver;
  let model: TransformerDecoderModel;
  beforeAll(async () => {
    dir = makeTempDir();
    // The built-in cards and the installed family packages, as a user gets them.
    resolver = await createFairseq2({ env: isolatedEnv(dir.path), cwd: dir.path, log: () => undefined });
    model = (await resolver.resolve(GlobalModelLoader).load('fs2_tiny', { device: 'wasm', progress: false })) as TransformerDecoderModel;
  });
  afterAll(() => {
    model.dispose();
    dir.cleanup();
  });

  it('is a card of the llama family with its weights (under 10 MB) and tokenizer beside it', () => {
    const card = resolver.resolve(AssetStore).retrieveCard('fs2_tiny');
    expect([card.source, card.field('model_family').asString(), card.field('tokenizer_family').asString()]).toEqual(['package:@fs2/core', 'llama', 'llama']);
    const files = readdirSync(DEFAULT_DIR).sort();
    expect(files).toEqual(['model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const bytes = files.reduce((total, file) => total + statSync(join(DEFAULT_DIR, file)).size, 0);
    expect(bytes).toBeLessThan(10 * 1024 * 1024);
    expect(model.numParameters()).toBe(3_041_536);
  });

  it('has learned its training data: under 1.5 nats per byte on fs2\'s conventions, against 5.6 for a uniform guess', async () => {
    const tokenizer = await loadTokenizer('fs2_tiny', { resolver });
    const text = readFileSync(join(REPO, 'docs', 'CONVENTIONS.md'), 'utf8').slice(0, 1024);
    const ids = Int32Array.from(tokenizer.encode(text).slice(0, 257));
    const nll = tf.tidy(() => {
      const logits = decoderLMLogits(model).logits(ids.subarray(0, 256), 1, 256);
      return (sequenceNll(logits, ids.subarray(1), new Float32Array(256).fill(1)).dataSync()[0] as number) / 256;
    });
    expect(nll).toBeLessThan(1.5);
    expect(Math.log(tokenizer.vocabInfo.size)).toBeGreaterThan(5.5);
  });

  it('continues a prompt with text that reads like fs2\'s code: `npx fs2 generate fs2_tiny --prompt "export function "`', () => {
    const result = spawnSync(
      process.execPath,
      [join(REPO, 'packages/cli/bin/fs2.js'), 'generate', 'fs2_tiny', '--prompt', 'export function ', '--max-new-tokens', '60'],
      { cwd: REPO, env: isolatedEnv(join(dir.path, 'cli')), encoding: 'utf8' },
    );
    expect([result.status, result.stderr]).toEqual([0, '']);
    // Printable ASCII and newlines, with the punctuation of TypeScript.
    expect(result.stdout).toMatch(/^[\x20-\x7e\n]+$/);
    expect(result.stdout).toMatch(/[(){}:;=<>]/);
  });

  it('is what `npx fs2 generate` runs with no model and no prompt: text from its beginning-of-sequence token', () => {
    const result = spawnSync(process.execPath, [join(REPO, 'packages/cli/bin/fs2.js'), 'generate', '--max-new-tokens', '60'], {
      cwd: REPO,
      env: isolatedEnv(join(dir.path, 'cli-default')),
      encoding: 'utf8',
    });
    expect([result.status, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toMatch(/^[\x20-\x7e\n]+$/);
    expect(result.stdout.trim().length).toBeGreaterThan(20);
  });
});
