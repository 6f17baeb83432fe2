import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { isPromptDataset, type PromptExample } from '../../datasets/LanguageModelDataset.js';
import { TransformerDecoderModel } from '../../nn/TransformerDecoderModel.js';
import type { DependencyResolver } from '../../runtime/DependencyContainer.js';
import type { Tokenizer } from '../../tokenizers/Tokenizer.js';
import { RecipeError } from '../errors.js';
import type { Recipe, RecipeContext } from '../Recipe.js';
import { GenerateRecipeConfigSchema, defaultGenerateRecipeConfig, type GenerateRecipeConfig } from './configSections.js';
import { openSectionDataset, resolveModel, resolveTokenizer } from './lmAssets.js';
import { formatCount, formatDuration, recipeProgress } from './recipeProgress.js';
import { registerCommonAssets } from './registerCommonAssets.js';

/** The name of the built-in generation recipe. */
export const GENERATE_RECIPE = 'generate';

/**
 * `fs2 recipe generate OUTPUT_DIR`: completes every prompt of a dataset split with a model card
 * (one prompt at a time; greedy or sampled, seeded per prompt so the output does not depend on the
 * order) and writes one JSON line per prompt to `OUTPUT_DIR/generations.jsonl`: `id`, `prompt`,
 * `output`, `reference` (when the data has one), token counts and the stop reason.
 */
export const generateRecipe: Recipe<GenerateRecipeConfig> = {
  name: GENERATE_RECIPE,
  description: "complete a dataset's prompts with a model card, into a JSONL file",
  configSchema: GenerateRecipeConfigSchema,
  defaultConfig: defaultGenerateRecipeConfig,
  register: (container, config) => registerCommonAssets(container, config.common),
  run: runGenerateRecipe,
};

/** One line of the output file. */
interface GenerationRecord {
  readonly id: string;
  readonly prompt: PromptExample['prompt'];
  readonly output: string;
  readonly reference?: string;
  readonly num_prompt_tokens: number;
  readonly num_output_tokens: number;
  readonly stop_reason: string;
}

async function runGenerateRecipe(resolver: DependencyResolver, config: GenerateRecipeConfig, context: RecipeContext): Promise<void> {
  if (config.model.name === null) {
    throw new RecipeError(GENERATE_RECIPE, 'set `model.name` to the card of the model to generate with.');
  }
  const model = await resolveModel(resolver, GENERATE_RECIPE, config.model);
  const { tokenizer } = await resolveTokenizer(resolver, GENERATE_RECIPE, config.tokenizer, model.card);
  const dataset = await openSectionDataset(resolver, GENERATE_RECIPE, config.dataset);
  if (!isPromptDataset(dataset)) {
    throw new RecipeError(GENERATE_RECIPE, 'the dataset has no prompts (no `readPrompts`).');
  }
  const all = await dataset.readPrompts(config.dataset.split);
  const prompts = config.dataset.max_num_prompts === null ? all : all.slice(0, config.dataset.max_num_prompts);
  const loaded = await model.family.loadModel(model.card as NonNullable<typeof model.card>, {
    config: model.config,
    device: config.device,
    progress: context.progress,
  });
  const output = join(context.outputDir, config.output_file);
  try {
    if (!(loaded instanceof TransformerDecoderModel)) {
      throw new RecipeError(GENERATE_RECIPE, `the ${model.family.name} model family builds models that are not \`TransformerDecoderModel\`s.`);
    }
    const limit = Math.min(loaded.maxCacheLength, loaded.config.maxSeqLen);
    await mkdir(dirname(output), { recursive: true });
    await writeFile(output, '');
    const progress = recipeProgress(context);
    const started = performance.now();
    let generated = 0;
    progress.start('Generating', prompts.length, 0);
    try {
      for (const [index, example] of prompts.entries()) {
        if (context.signal?.aborted === true) {
          break;
        }
        const ids = encodePrompt(tokenizer, example, config.generator.chat);
        if (ids.length > limit) {
          throw new RecipeError(
            GENERATE_RECIPE,
            `the prompt ${example.id} has ${ids.length} tokens, more than the ${limit} positions the model holds.`,
          );
        }
        const { generator } = config;
        const result = await loaded.generateAll(ids, {
          maxNewTokens: Math.min(generator.max_new_tokens, limit - ids.length + 1),
          temperature: generator.temperature,
          topK: generator.top_k,
          topP: generator.top_p,
          seed: `${config.common.seed}/${index}`,
          stopTokens: tokenizer.vocabInfo.stopIds,
          ...(context.signal === undefined ? {} : { signal: context.signal }),
        });
        const kept = result.stopReason === 'stop_token' ? result.tokens.slice(0, -1) : result.tokens;
        const record: GenerationRecord = {
          id: example.id,
          prompt: example.prompt,
          output: tokenizer.decode(kept, { skipSpecialTokens: generator.skip_special_tokens }),
          ...(example.reference === undefined ? {} : { reference: example.reference }),
          num_prompt_tokens: ids.length,
          num_output_tokens: result.tokens.length,
          stop_reason: result.stopReason,
        };
        await appendFile(output, `${JSON.stringify(record)}\n`);
        generated += result.tokens.length;
        const seconds = (performance.now() - started) / 1000;
        progress.update(index + 1, seconds > 0 ? { tokensPerSecond: generated / seconds } : {});
      }
    } finally {
      progress.stop();
    }
    const elapsed = performance.now() - started;
    context.log(
      `Generated ${formatCount(generated)} tokens for ${formatCount(prompts.length)} prompts in ${formatDuration(elapsed)}` +
        ` (${formatCount(Math.round(generated / Math.max(elapsed / 1000, 1e-9)))} tok/s) into ${output}.`,
    );
  } finally {
    loaded.dispose();
  }
}

/** A prompt's tokens: a conversation (or, with `chat`, a text as a user message) through the chat template, else the text encoded. */
function encodePrompt(tokenizer: Tokenizer, example: PromptExample, chat: boolean): number[] {
  if (typeof example.prompt !== 'string') {
    return tokenizer.encodeChat(example.prompt, { addGenerationPrompt: true });
  }
  return chat ? tokenizer.encodeChat([{ role: 'user', content: example.prompt }], { addGenerationPrompt: true }) : tokenizer.encode(example.prompt);
}
