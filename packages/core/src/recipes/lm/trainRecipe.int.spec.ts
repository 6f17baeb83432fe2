import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { parse as parseYaml } from 'yaml';

import {
  caughtAsync,
  isolatedEnv,
  makeTempDir,
  registerTestDecoderFamily,
  testDecoderTiny,
  type TempDir,
} from '../../../../../test/support/index.js';
import { AssetStore } from '../../assets/AssetStore.js';
import { registerCheckpointModels } from '../../composition/recipes.js';
import { GlobalModelLoader } from '../../models/GlobalModelLoader.js';
import { TransformerDecoderModel } from '../../nn/TransformerDecoderModel.js';
import type { DependencyContainer } from '../../runtime/DependencyContainer.js';
import { createFairseq2 } from '../../runtime/init.js';
import { writeByteLevelTokenizer } from '../../tokenizers/buildByteLevelTokenizerJson.js';
import { loadTokenizer } from '../../tokenizers/GlobalTokenizerLoader.js';
import { RecipeConfigError, RecipeError } from '../errors.js';
import type { RecipeConfigSource } from '../loadRecipeConfig.js';
import { runRecipe } from '../runRecipe.js';
import { evalRecipe } from './evalRecipe.js';
import { generateRecipe } from './generateRecipe.js';
import { trainRecipe } from './trainRecipe.js';

const SENTENCES = [
  'the cat sat on the mat.',
  'the dog sat on the log.',
  'a cat and a dog sat on a mat.',
  'the mat was on the floor.',
];

const CARDS = `name: byte_tok
tokenizer: ./byte
tokenizer_family: hf
---
name: corpus
dataset_family: text
data: ./corpus
dataset_config: {unit: line}
---
name: prompts
dataset_family: generic_instruction
data: ./prompts.jsonl
`;

/** Overrides, as `--config key=value` would give them. */
function overrides(values: Readonly<Record<string, unknown>>): RecipeConfigSource[] {
  return Object.entries(values).map(([key, value]) => ({ kind: 'override', key, value, text: `${key}=${JSON.stringify(value)}` }));
}

const TRAIN = {
  'model.family': 'test_decoder',
  'model.arch': 'decoder_tiny',
  'tokenizer.name': 'byte_tok',
  'dataset.name': 'corpus',
  'dataset.max_seq_len': 32,
  'dataset.batch_size': 4,
  'optimizer.config.lr': 0.01,
  'lr_scheduler.name': 'constant',
  'lr_scheduler.config.num_warmup_steps': 2,
  'regime.num_steps': 60,
  'regime.validate_every_n_steps': 20,
  'regime.checkpoint_every_n_steps': 20,
  'regime.publish_metrics_every_n_steps': 10,
} as const;

function readJsonl(file: string): Record<string, number>[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, number>);
}

describe('the train, eval and generate recipes', () => {
  // Training a ~30k-parameter model for 60 steps takes a few seconds on an idle core.
  jest.setTimeout(300_000);

  let dir: TempDir;
  let env: Record<string, string>;
  let logs: string[];
  const run = (recipe: Parameters<typeof runRecipe>[0], outputDir: string, values: Readonly<Record<string, unknown>>, signal?: AbortSignal) =>
    runRecipe(recipe, {
      outputDir,
      config: overrides(values),
      env,
      cwd: dir.path,
      extensions: false,
      extras: (container: DependencyContainer) => registerTestDecoderFamily(container),
      progress: false,
      log: (line) => logs.push(line),
      ...(signal === undefined ? {} : { signal }),
    });

  beforeAll(async () => {
    dir = makeTempDir();
    env = isolatedEnv(dir.path);
    logs = [];
    dir.write('system/cards.yaml', CARDS);
    await writeByteLevelTokenizer(join(dir.path, 'system/byte'), {
      specialTokens: ['<s>', '</s>', '<pad>'],
      bosToken: '<s>',
      eosToken: '</s>',
      padToken: '<pad>',
      addBosToken: true,
    });
    dir.write('system/corpus/train.txt', Array.from({ length: 40 }, (_, i) => SENTENCES[i % SENTENCES.length]).join('\n'));
    dir.write('system/corpus/valid.txt', SENTENCES.join('\n'));
    dir.write('system/prompts.jsonl', '{"src": "the cat", "tgt": " sat on the mat."}\n{"src": "the dog", "tgt": " sat on the log."}\n');
    await run(trainRecipe, 'run', TRAIN);
  });
  afterAll(() => dir.cleanup());

  it('trains: the loss falls, metrics go to JSONL files and the log', () => {
    const train = readJsonl(join(dir.path, 'run/metrics/train.jsonl'));
    expect(train.map((m) => m['step'])).toEqual([10, 20, 30, 40, 50, 60]);
    const first = train[0]?.['nll'] as number;
    const last = train[5]?.['nll'] as number;
    expect(first).toBeGreaterThan(3.5); // ~ln(259) = 5.56 at random initialization.
    expect(last).toBeLessThan(first - 1.5);
    expect(Object.keys(train[0] ?? {}).sort()).toEqual([
      'data_epoch',
      'elements_per_second',
      'grad_norm',
      'lr',
      'nll',
      'num_elements',
      'num_examples',
      'num_target_elements',
      'perplexity',
      'step',
    ]);
    const valid = readJsonl(join(dir.path, 'run/metrics/valid.jsonl'));
    expect(valid.map((m) => m['step'])).toEqual([20, 40, 60]);
    expect(valid[2]?.['nll']).toBeLessThan(valid[0]?.['nll'] as number);
    expect(logs[0]).toMatch(/^Training a test_decoder model of [0-9,]+ parameters on wasm: [0-9,]+ batches of 4 x 32 tokens per epoch of corpus, 60 steps\.$/);
    expect(logs.some((line) => line.startsWith('[train] step 60 | nll '))).toBe(true);
    expect(logs[logs.length - 1]).toMatch(new RegExp(`^Finished at step 60 in .*; checkpoints in ${dir.path}/run/checkpoints\\.$`));
    expect(parseYaml(readFileSync(join(dir.path, 'run/config.yaml'), 'utf8'))).toMatchObject({ regime: { num_steps: 60 } });
  });

  it('writes checkpoints in fairseq2\'s layout, with the tokenizer and a model.yaml card', () => {
    const checkpoints = join(dir.path, 'run/checkpoints');
    expect(readdirSync(checkpoints).sort()).toEqual(['model.yaml', 'scores', 'step_20', 'step_40', 'step_60', 'tokenizer']);
    expect(parseYaml(readFileSync(join(checkpoints, 'model.yaml'), 'utf8'))).toEqual({
      model_family: 'test_decoder',
      model_config: testDecoderTiny(),
      tokenizer: 'tokenizer',
      tokenizer_family: 'hf',
      tokenizer_config: {},
      name: 'checkpoint',
    });
    expect(readdirSync(join(checkpoints, 'step_60/model')).sort()).toEqual(['model.safetensors', 'model.yaml']);
    expect(readdirSync(join(checkpoints, 'step_60/trainer')).sort()).toEqual(['optimizer.safetensors', 'state.json']);
    expect(readdirSync(join(checkpoints, 'tokenizer')).sort()).toEqual(['tokenizer.json', 'tokenizer_config.json']);
    const score = Number(readFileSync(join(checkpoints, 'scores/step_60.txt'), 'utf8'));
    expect(score).toBeCloseTo(-(readJsonl(join(dir.path, 'run/metrics/valid.jsonl'))[2]?.['nll'] as number), 10);
  });

  it('names the checkpoints as cards: checkpoint_step_N, last_checkpoint, best_checkpoint', async () => {
    const resolver = await createFairseq2({
      env,
      cwd: dir.path,
      extensions: false,
      extras: (container) => {
        registerTestDecoderFamily(container);
        registerCheckpointModels(container, 'run/checkpoints');
      },
    });
    const store = resolver.resolve(AssetStore);
    const names = store.assetNames.filter((n) => n.includes('checkpoint')).sort();
    expect(names).toEqual([
      'best_checkpoint@',
      'best_checkpoint_0@',
      'best_checkpoint_1@',
      'best_checkpoint_2@',
      'checkpoint@',
      'checkpoint_step_20@',
      'checkpoint_step_40@',
      'checkpoint_step_60@',
      'last_checkpoint@',
    ]);
    expect(store.retrieveCard('last_checkpoint').field('checkpoint').asString()).toBe(join(dir.path, 'run/checkpoints/step_60/model'));
    expect(store.retrieveCard('best_checkpoint').field('checkpoint').asString()).toBe(join(dir.path, 'run/checkpoints/step_60/model'));

    // The round trip: the inference model and the tokenizer load by card and continue a sentence.
    const model = (await resolver.resolve(GlobalModelLoader).load('last_checkpoint', { device: 'wasm', progress: false })) as TransformerDecoderModel;
    const tokenizer = await loadTokenizer('last_checkpoint', { resolver });
    expect(model).toBeInstanceOf(TransformerDecoderModel);
    const result = await model.generateAll(tokenizer.encode('the cat sat on'), { maxNewTokens: 8 });
    expect(tokenizer.decode(result.tokens)).toMatch(/^ (the|a) (mat|log|floor)/);
    model.dispose();
  });

  it('evaluates a checkpoint card with the eval recipe, as validation did', async () => {
    await run(evalRecipe, 'eval', {
      'model.name': 'last_checkpoint',
      'common.assets.checkpoint_dir': 'run/checkpoints',
      'dataset.name': 'corpus',
      'dataset.max_seq_len': 32,
      'dataset.batch_size': 4,
    });
    const [evaluated] = readJsonl(join(dir.path, 'eval/metrics/eval.jsonl'));
    const validated = readJsonl(join(dir.path, 'run/metrics/valid.jsonl'))[2];
    expect(evaluated?.['num_target_elements']).toBe(validated?.['num_target_elements']);
    expect(Math.abs((evaluated?.['nll'] as number) - (validated?.['nll'] as number))).toBeLessThan(1e-4);
  });

  it('completes a dataset\'s prompts with the generate recipe, into JSONL', async () => {
    await run(generateRecipe, 'gen', {
      'model.name': 'last_checkpoint',
      'common.assets.checkpoint_dir': 'run/checkpoints',
      'dataset.name': 'prompts',
      'dataset.split': 'default',
      'generator.max_new_tokens': 6,
    });
    const lines = readFileSync(join(dir.path, 'gen/generations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l['id'], l['prompt'], l['reference'], l['num_prompt_tokens'], l['num_output_tokens']])).toEqual([
      [`${join(dir.path, 'system/prompts.jsonl')}:1`, 'the cat', ' sat on the mat.', 8, 6],
      [`${join(dir.path, 'system/prompts.jsonl')}:2`, 'the dog', ' sat on the log.', 8, 6],
    ]);
    expect(typeof lines[0]?.['output']).toBe('string');
    expect(logs[logs.length - 1]).toMatch(/^Generated 12 tokens for 2 prompts in .* \([0-9,]+ tok\/s\) into .*\/gen\/generations\.jsonl\.$/);
  });

  it('resumes an interrupted or killed run from its last checkpoint with the results of an uninterrupted one', async () => {
    const short = { ...TRAIN, 'regime.num_steps': 6, 'regime.checkpoint_every_n_steps': 2, 'regime.validate_every_n_steps': 3 };
    await run(trainRecipe, 'straight', short);

    // Stop after step 3: the trainer saves a checkpoint of step 3, which the next run resumes from.
    const controller = new AbortController();
    const before = logs.length;
    const watcher = setInterval(() => {
      if (existsSync(join(dir.path, 'interrupted/checkpoints/step_2'))) {
        controller.abort();
      }
    }, 1);
    try {
      await run(trainRecipe, 'interrupted', short, controller.signal);
    } finally {
      clearInterval(watcher);
    }
    const stoppedAt = Number(/^Stopped at step ([0-9]+)/.exec(logs[logs.length - 1] ?? '')?.[1]);
    expect(stoppedAt).toBeGreaterThanOrEqual(2);
    expect(stoppedAt).toBeLessThan(6);
    expect(logs.length).toBeGreaterThan(before);

    await run(trainRecipe, 'interrupted', short);
    expect(logs.some((l) => l === `Resuming from the checkpoint of step ${stoppedAt} in ${join(dir.path, 'interrupted/checkpoints')}.`)).toBe(true);
    const weights = (name: string): Buffer => readFileSync(join(dir.path, name, 'checkpoints/step_6/model/model.safetensors'));
    expect(weights('interrupted').equals(weights('straight'))).toBe(true);
    const metrics = (name: string): unknown[] => readJsonl(join(dir.path, name, 'metrics/valid.jsonl'));
    expect(metrics('interrupted').slice(-1)).toEqual(metrics('straight').slice(-1));

    // A run killed after step 5 (no checkpoint saved since step 2) redoes steps 3 to 6 identically.
    cpSync(join(dir.path, 'straight'), join(dir.path, 'killed'), { recursive: true });
    for (const step of [4, 6]) {
      rmSync(join(dir.path, 'killed', 'checkpoints', `step_${step}`), { recursive: true });
    }
    await run(trainRecipe, 'killed', short);
    expect(logs).toContain(`Resuming from the checkpoint of step 2 in ${join(dir.path, 'killed/checkpoints')}.`);
    expect(weights('killed').equals(weights('straight'))).toBe(true);
  });

  it('names what is wrong with a configuration, and where', async () => {
    const file = dir.write('bad.yaml', 'regime:\n  num_steps: many\noptimizer:\n  config:\n    lrr: 0.1\n');
    const error = await caughtAsync(() =>
      runRecipe(trainRecipe, {
        outputDir: 'bad',
        config: [{ kind: 'file', path: file }, ...overrides({ 'dataset.batch_size': 0 })],
        env,
        cwd: dir.path,
        extensions: false,
      }),
    );
    expect(error).toBeInstanceOf(RecipeConfigError);
    expect(error.message).toBe(
      'The configuration of the train recipe is not valid:\n' +
        '  `dataset.batch_size` must be >= 1, but is 0. (--config dataset.batch_size=0)\n' +
        `  \`optimizer.config.lrr\` is not a known key. (${file}:5:5)\n` +
        `  \`regime.num_steps\` is expected to be of type integer, but is of type string instead. (${file}:2:14)`,
    );

    const noModel = await caughtAsync(() => run(trainRecipe, 'none', { 'tokenizer.name': 'byte_tok', 'dataset.name': 'corpus' }));
    expect(noModel).toBeInstanceOf(RecipeError);
    expect(noModel.message).toBe(
      'The train recipe cannot run: the `model` section names no model: set `model.name` (a card), or `model.family` and `model.arch` to train one from scratch.',
    );
    const small = await caughtAsync(() => run(trainRecipe, 'small', { ...TRAIN, 'model.config_overrides': { vocab_size: 100 } }));
    expect(small.message).toBe(
      "The train recipe cannot run: the tokenizer has 259 tokens, more than the model's vocabulary of 100: give the model a vocabulary of at least 259 (`model.config_overrides`).",
    );
  });
});
