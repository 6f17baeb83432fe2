import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { writeByteLevelTokenizer } from '@fs2/core';

import { isolatedEnv, makeTempDir, type TempDir } from '../../../../test/support/index.js';
import { runCli } from '../main.js';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A llama of about 40k parameters over a byte-level tokenizer with Llama 3's special tokens. */
const CONFIG = `model:
  family: llama
  arch: llama3_8b
  config_overrides:
    model_dim: 32
    num_layers: 2
    num_attn_heads: 4
    num_key_value_heads: 2
    ffn_inner_dim: 64
    ffn_inner_dim_scale: 1.0
    ffn_inner_dim_multiplier: 1.0
    ffn_inner_dim_multiple_of: 8
    vocab_size: 272
    pad_idx: 260
    max_seq_len: 128
    rope_theta: 10000.0
tokenizer:
  path: tokenizer
  family: llama
dataset:
  path: corpus
  max_seq_len: 32
  batch_size: 4
optimizer:
  config: {lr: 0.01}
lr_scheduler:
  name: constant
  config: {num_warmup_steps: 5}
regime:
  num_steps: 60
  validate_every_n_steps: 30
  checkpoint_every_n_steps: 30
  publish_metrics_every_n_steps: 30
`;

const LLAMA3_SPECIALS = [
  '<|begin_of_text|>',
  '<|end_of_text|>',
  '<|reserved_special_token_0|>',
  '<|reserved_special_token_1|>',
  '<|finetune_right_pad_id|>',
  '<|reserved_special_token_2|>',
  '<|start_header_id|>',
  '<|end_header_id|>',
  '<|eom_id|>',
  '<|eot_id|>',
  '<|python_tag|>',
];

describe('fs2 recipe', () => {
  // A 40k-parameter llama trains 60 steps in a few seconds on an idle core.
  jest.setTimeout(300_000);

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

  beforeAll(async () => {
    dir = makeTempDir();
    env = isolatedEnv(dir.path);
    dir.write('train.yaml', CONFIG);
    dir.write('corpus/train.txt', Array.from({ length: 30 }, () => 'export const answer = 42;\n').join(''));
    dir.write('corpus/valid.txt', 'export const answer = 42;\n');
    await writeByteLevelTokenizer(join(dir.path, 'tokenizer'), {
      specialTokens: LLAMA3_SPECIALS,
      bosToken: '<|begin_of_text|>',
      eosToken: '<|end_of_text|>',
      padToken: '<|finetune_right_pad_id|>',
      addBosToken: true,
    });
  });
  afterAll(() => dir.cleanup());

  it('lists the recipes, those of installed extensions included', async () => {
    const { code, stdout } = await fs2(['recipe']);
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        '  dataset_stats  count the rows, tokens and target tokens of a dataset split (an example extension recipe)',
        "  eval           evaluate a model card's perplexity on a dataset split",
        "  generate       complete a dataset's prompts with a model card, into a JSONL file",
        '  train          train a causal language model from scratch or from a card (checkpoints, validation, resume)',
        '',
      ].join('\n'),
    );
  });

  it('prints the configuration files and overrides make, in order', async () => {
    const { code, stdout, stderr } = await fs2([
      'recipe',
      'train',
      '--config',
      'regime.num_steps=7',
      '--config-file',
      'train.yaml',
      '-c',
      'optimizer.config.betas=[0.9, 0.9]',
      '--dump-config',
    ]);
    expect([code, stderr]).toEqual([0, '']);
    // The file comes after `regime.num_steps=7`, so its 60 wins; the last override applies.
    expect(stdout).toContain('regime:\n  num_steps: 60\n');
    expect(stdout).toContain('    betas:\n      - 0.9\n      - 0.9\n');
  });

  it('trains, then generates with the result by card name (--checkpoint-dir), and evaluates it', async () => {
    const trained = await fs2(['recipe', 'train', 'run', '--config', 'train.yaml']);
    expect(trained.code).toBe(0);
    expect(trained.stderr).toMatch(/^Training a llama model of [0-9,]+ parameters on wasm: /);
    expect(trained.stderr).toMatch(/\nFinished at step 60 in .*; checkpoints in .*\/run\/checkpoints\.\n$/);
    const metrics = readFileSync(join(dir.path, 'run/metrics/train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { nll: number });
    expect(metrics[1]?.nll).toBeLessThan((metrics[0]?.nll as number) / 2);

    const generated = await fs2(['--checkpoint-dir', 'run/checkpoints', 'generate', 'last_checkpoint', '--prompt', 'export const', '--max-new-tokens', '12']);
    expect([generated.code, generated.stderr]).toEqual([0, '']);
    expect(generated.stdout).toBe(' answer = 42\n');

    const evaluated = await fs2(['recipe', 'eval', 'eval', '-c', 'model.name=best_checkpoint', '-c', 'common.assets.checkpoint_dir=run/checkpoints', '-c', 'dataset.path=corpus', '-c', 'dataset.max_seq_len=32']);
    expect(evaluated.code).toBe(0);
    expect(evaluated.stderr).toMatch(/^\[eval\] step 0 \| nll [0-9.]+ \| num_elements 27 \| num_examples 1 \| num_target_elements 27 \| ppl [0-9.]+\n$/);
  });

  it('prints one line for an unknown recipe (exit 2), a bad configuration and a missing output folder (exit 1)', async () => {
    expect(await fs2(['recipe', 'pretrain', 'out'])).toEqual({ code: 2, stdout: '', stderr: 'fs2: pretrain is not a known recipe. Registered recipes: dataset_stats, eval, generate, train.\n' });
    expect(await fs2(['recipe', 'train', 'out', '--config', 'regime.num_step=3'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'fs2: The configuration of the train recipe is not valid: `regime.num_step` is not a known key. (--config regime.num_step=3)\n',
    });
    expect(await fs2(['recipe', 'train'])).toEqual({ code: 1, stdout: '', stderr: 'fs2: The train recipe needs an output folder: `fs2 recipe train OUTPUT_DIR`.\n' });
  });
});
