import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { runCli } from '@fs2/cli';
import { DatasetFamily, Recipe, createFairseq2, writeByteLevelTokenizer } from '@fs2/core';

import { isolatedEnv, makeTempDir, type TempDir } from '../../../test/support/index.js';
import { getQaTsvDatasetHub } from './dataset.js';

const QA = ['2 + 2?\tfour', 'capital of France?\tParis', 'opposite of up?\tdown', 'color of the sky?\tblue'];

describe('the recipe extension', () => {
  // Trains a 40k-parameter llama for 40 steps: seconds on an idle core.
  jest.setTimeout(300_000);

  let dir: TempDir;
  let env: Record<string, string>;
  const fs2 = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
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
    dir.write('qa/train.tsv', `# question\tanswer\n${Array.from({ length: 10 }, () => QA.join('\n')).join('\n')}\n`);
    dir.write('qa/valid.tsv', `${QA.slice(0, 2).join('\n')}\n`);
    dir.write('system/qa.yaml', 'name: toy_qa\ndataset_family: qa_tsv\ndata: ../qa\ndataset_config: {prompt_template: "{question} => "}\n');
    await writeByteLevelTokenizer(join(dir.path, 'byte'), {
      specialTokens: ['<|begin_of_text|>', '<|end_of_text|>'],
      bosToken: '<|begin_of_text|>',
      eosToken: '<|end_of_text|>',
      addBosToken: true,
    });
  });
  afterAll(() => dir.cleanup());

  it('is found by initFairseq2() and registers its dataset family and recipe', async () => {
    const resolver = await createFairseq2({ env, cwd: dir.path });
    expect(resolver.lookup(DatasetFamily).get('qa_tsv').origin).toBe('@fs2-examples/recipe-extension');
    expect(resolver.lookup(Recipe).has('dataset_stats')).toBe(true);
    const dataset = await getQaTsvDatasetHub(resolver).openDataset('toy_qa');
    expect(dataset.splits()).toEqual(['train', 'valid']);
    expect((await dataset.readPrompts('valid'))[0]).toEqual({ id: `${join(dir.path, 'qa/valid.tsv')}:1`, prompt: '2 + 2? => ', reference: 'four' });
  });

  it('runs its recipe from the command line', async () => {
    const { code, stderr } = await fs2(['recipe', 'dataset_stats', 'stats', '-c', 'dataset.name=toy_qa', '-c', 'tokenizer.path=byte']);
    expect(code).toBe(0);
    expect(stderr).toBe('toy_qa (train): 40 rows, 930 tokens, 210 of them targets.\n');
    expect(JSON.parse(readFileSync(join(dir.path, 'stats/stats.json'), 'utf8'))).toEqual({
      dataset: 'toy_qa',
      split: 'train',
      batches: 1,
      rows: 40,
      // Per pair: <|begin_of_text|>, the prompt, the answer, <|end_of_text|>; rows read all but the
      // last token and predict all but the first; the answer and <|end_of_text|> are targets.
      tokens: 930,
      target_tokens: 210,
      target_fraction: 210 / 930,
    });
  });

  it('names the file and line of a malformed record', async () => {
    dir.write('broken/train.tsv', 'fine?\tyes\nno tab here\n');
    const { code, stderr } = await fs2(['recipe', 'dataset_stats', 'stats', '-c', 'dataset.path=broken', '-c', 'dataset.family=qa_tsv', '-c', 'tokenizer.path=byte']);
    expect(code).toBe(1);
    expect(stderr).toBe(
      `fs2: The line has 1 tab-separated fields, not 2 non-empty ones (question, answer). (${join(dir.path, 'broken/train.tsv')}:2)\n`,
    );
  });

  it('trains with the built-in train recipe on its dataset: only the answers are targets', async () => {
    const { code, stderr } = await fs2([
      'recipe',
      'train',
      'run',
      '-c',
      'model.family=llama',
      '-c',
      'model.arch=llama3_8b',
      '-c',
      'model.config_overrides={model_dim: 32, num_layers: 2, num_attn_heads: 4, num_key_value_heads: 2, ffn_inner_dim: 64, ffn_inner_dim_scale: 1.0, ffn_inner_dim_multiple_of: 8, ffn_inner_dim_multiplier: 1.0, vocab_size: 258, pad_idx: null, max_seq_len: 64, rope_theta: 10000.0}',
      '-c',
      'tokenizer.path=byte',
      '-c',
      'dataset.name=toy_qa',
      '-c',
      'dataset.batch_size=4',
      '-c',
      'dataset.max_seq_len=32',
      '-c',
      'optimizer.config.lr=0.01',
      '-c',
      'lr_scheduler.config.num_warmup_steps=4',
      '-c',
      'regime.num_steps=40',
      '-c',
      'regime.publish_metrics_every_n_steps=20',
      '-c',
      'regime.validate_every_n_steps=40',
      '-c',
      'regime.checkpoint_every_n_steps=40',
    ]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/\nFinished at step 40 in /);
    const [first, last] = readFileSync(join(dir.path, 'run/metrics/train.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { nll: number; num_elements: number; num_target_elements: number });
    // Prompts are read but not predicted: each pair's answer and end-of-sequence token are the targets.
    expect((last?.num_target_elements as number) / (last?.num_elements as number)).toBeLessThan(0.25);
    expect(last?.nll).toBeLessThan((first?.nll as number) / 2);
  });
});
