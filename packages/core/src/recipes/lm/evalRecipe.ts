import { join } from 'node:path';

import { isLanguageModelDataset } from '../../datasets/LanguageModelDataset.js';
import { TransformerDecoderModel } from '../../nn/TransformerDecoderModel.js';
import type { DependencyResolver } from '../../runtime/DependencyContainer.js';
import { RecipeError } from '../errors.js';
import { Evaluator } from '../Evaluator.js';
import { JsonlMetricRecorder, LogMetricRecorder } from '../MetricRecorder.js';
import type { Recipe, RecipeContext } from '../Recipe.js';
import { decoderLMLogits } from './LMLogits.js';
import { EvalRecipeConfigSchema, defaultEvalRecipeConfig, type EvalRecipeConfig } from './configSections.js';
import { openSectionDataset, resolveModel, resolveTokenizer } from './lmAssets.js';
import { LMEvalUnit } from './LMUnits.js';
import { recipeProgress } from './recipeProgress.js';
import { registerCommonAssets } from './registerCommonAssets.js';

/** The name of the built-in evaluation recipe. */
export const EVAL_RECIPE = 'eval';

/**
 * `fs2 recipe eval OUTPUT_DIR`: the perplexity of a model card (`model.name`, e.g.
 * `last_checkpoint` with `common.assets.checkpoint_dir`) on a dataset split, written to
 * `OUTPUT_DIR/metrics/eval.jsonl` (`nll`, `perplexity`, counts) and the log.
 */
export const evalRecipe: Recipe<EvalRecipeConfig> = {
  name: EVAL_RECIPE,
  description: "evaluate a model card's perplexity on a dataset split",
  configSchema: EvalRecipeConfigSchema,
  defaultConfig: defaultEvalRecipeConfig,
  register: (container, config) => registerCommonAssets(container, config.common),
  run: runEvalRecipe,
};

async function runEvalRecipe(resolver: DependencyResolver, config: EvalRecipeConfig, context: RecipeContext): Promise<void> {
  if (config.model.name === null) {
    throw new RecipeError(EVAL_RECIPE, 'set `model.name` to the card of the model to evaluate.');
  }
  const model = await resolveModel(resolver, EVAL_RECIPE, config.model);
  const tokenizer = await resolveTokenizer(resolver, EVAL_RECIPE, config.tokenizer, model.card);
  if (config.dataset.max_seq_len > model.decoder.maxSeqLen) {
    throw new RecipeError(EVAL_RECIPE, `\`dataset.max_seq_len\` (${config.dataset.max_seq_len}) exceeds the model's longest sequence (${model.decoder.maxSeqLen}).`);
  }
  const dataset = await openSectionDataset(resolver, EVAL_RECIPE, config.dataset);
  if (!isLanguageModelDataset(dataset)) {
    throw new RecipeError(EVAL_RECIPE, 'the dataset does not read token batches (it has no `createReader`), so a language model cannot be evaluated on it.');
  }
  const reader = await dataset.createReader(config.dataset.split, tokenizer.tokenizer, {
    batchSize: config.dataset.batch_size,
    maxSeqLen: config.dataset.max_seq_len,
    shuffle: false,
    ...(config.dataset.packing === null ? {} : { packing: config.dataset.packing }),
  });
  const loaded = await model.family.loadModel(model.card as NonNullable<typeof model.card>, {
    config: model.config,
    device: config.device,
    progress: context.progress,
  });
  try {
    if (!(loaded instanceof TransformerDecoderModel)) {
      throw new RecipeError(EVAL_RECIPE, `the ${model.family.name} model family builds models that are not \`TransformerDecoderModel\`s.`);
    }
    const progress = recipeProgress(context);
    const evaluator = new Evaluator({
      unit: new LMEvalUnit(decoderLMLogits(loaded)),
      dataReader: reader,
      ...(config.dataset.max_num_batches === null ? {} : { maxNumBatches: config.dataset.max_num_batches }),
      onBatch: (done) => progress.update(done),
    });
    progress.start('Evaluating', evaluator.numBatches, 0);
    let values: Record<string, number>;
    try {
      values = evaluator.run();
    } finally {
      progress.stop();
    }
    for (const recorder of [new JsonlMetricRecorder(join(context.outputDir, 'metrics')), new LogMetricRecorder(context.log)]) {
      await recorder.record('eval', 0, values);
    }
  } finally {
    loaded.dispose();
  }
}
