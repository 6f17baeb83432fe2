import { resolve as resolvePath, join } from 'node:path';

import { isLanguageModelDataset } from '../../datasets/LanguageModelDataset.js';
import { useDevice } from '../../nn/devices/DeviceRegistry.js';
import { randomState } from '../../nn/randomState.js';
import { AdamW } from '../../nn/training/AdamW.js';
import { TrainableDecoder } from '../../nn/training/TrainableDecoder.js';
import type { DependencyResolver } from '../../runtime/DependencyContainer.js';
import { CheckpointManager } from '../CheckpointManager.js';
import { RecipeError } from '../errors.js';
import { Evaluator } from '../Evaluator.js';
import { createLrSchedule } from '../lrSchedule.js';
import { JsonlMetricRecorder, LogMetricRecorder } from '../MetricRecorder.js';
import type { Recipe, RecipeContext } from '../Recipe.js';
import { Trainer } from '../Trainer.js';
import { trainableLMLogits } from './LMLogits.js';
import { TrainRecipeConfigSchema, defaultTrainRecipeConfig, type TrainRecipeConfig } from './configSections.js';
import { copyTokenizerFiles, modelCheckpointPath, openSectionDataset, resolveModel, resolveTokenizer } from './lmAssets.js';
import { LMEvalUnit, LMTrainUnit } from './LMUnits.js';
import { formatCount, formatDuration, recipeProgress } from './recipeProgress.js';
import { registerCommonAssets } from './registerCommonAssets.js';

/** The name of the built-in training recipe. */
export const TRAIN_RECIPE = 'train';

/**
 * `fs2 recipe train OUTPUT_DIR`: causal language model pretraining or fine-tuning (fairseq2's
 * `lm` recipes) on the {@link Trainer}. The model is a card to fine-tune (`model.name`) or a
 * family architecture to train from scratch (`model.family`, `model.arch`); the dataset any whose
 * family reads token batches (`text` packs documents, `generic_instruction` trains on answers).
 *
 * It writes `OUTPUT_DIR/checkpoints/` (fairseq2's layout: `model.yaml`, `step_N/model/` in fs2
 * safetensors, the tokenizer's files, optimizer and data state) and `OUTPUT_DIR/metrics/{train,valid}.jsonl`.
 * Running it again on the same folder resumes from the newest checkpoint, with the same results
 * as a run that was never interrupted. `registerCheckpointModels(container, 'OUTPUT_DIR/checkpoints')`
 * (or `common.assets.checkpoint_dir` in another recipe) then names the result `last_checkpoint`.
 */
export const trainRecipe: Recipe<TrainRecipeConfig> = {
  name: TRAIN_RECIPE,
  description: 'train a causal language model from scratch or from a card (checkpoints, validation, resume)',
  configSchema: TrainRecipeConfigSchema,
  defaultConfig: defaultTrainRecipeConfig,
  register: (container, config) => registerCommonAssets(container, config.common),
  run: runTrainRecipe,
};

async function runTrainRecipe(resolver: DependencyResolver, config: TrainRecipeConfig, context: RecipeContext): Promise<void> {
  const started = performance.now();
  const model = await resolveModel(resolver, TRAIN_RECIPE, config.model);
  const tokenizer = await resolveTokenizer(resolver, TRAIN_RECIPE, config.tokenizer, model.card);
  const vocab = tokenizer.tokenizer.vocabInfo.size;
  if (vocab > model.decoder.vocabSize) {
    throw new RecipeError(
      TRAIN_RECIPE,
      `the tokenizer has ${vocab} tokens, more than the model's vocabulary of ${model.decoder.vocabSize}: give the model a vocabulary of at least ${vocab} (\`model.config_overrides\`).`,
    );
  }
  if (config.dataset.max_seq_len > model.decoder.maxSeqLen) {
    throw new RecipeError(
      TRAIN_RECIPE,
      `\`dataset.max_seq_len\` (${config.dataset.max_seq_len}) exceeds the model's longest sequence (${model.decoder.maxSeqLen}).`,
    );
  }
  const dataset = await openSectionDataset(resolver, TRAIN_RECIPE, config.dataset);
  if (!isLanguageModelDataset(dataset)) {
    throw new RecipeError(TRAIN_RECIPE, 'the dataset does not read token batches (it has no `createReader`), so a language model cannot train on it.');
  }
  const device = await useDevice(config.trainer.device);
  const trainable = new TrainableDecoder(model.decoder, { device });
  let optimizer: AdamW | undefined;
  try {
    if (model.card === undefined) {
      await trainable.loadState(randomState(trainable.parameterShapes(), { seed: config.common.seed }));
    } else {
      await trainable.loadState(model.family.iterCheckpoint(await modelCheckpointPath(resolver, model.card), model.config));
    }
    const seed = config.common.seed;
    const batching = {
      batchSize: config.dataset.batch_size,
      maxSeqLen: config.dataset.max_seq_len,
      seed,
      ...(config.dataset.packing === null ? {} : { packing: config.dataset.packing }),
    };
    const trainReader = await dataset.createReader(config.dataset.train_split, tokenizer.tokenizer, { ...batching, shuffle: true });
    const validReader =
      config.dataset.valid_split === null
        ? undefined
        : await dataset.createReader(config.dataset.valid_split, tokenizer.tokenizer, { ...batching, shuffle: false });

    const checkpointDir = join(context.outputDir, 'checkpoints');
    const manager = new CheckpointManager(
      checkpointDir,
      {
        save: (dir, name) => model.family.saveModel(trainable, model.config, dir, { format: 'fs2', name }),
        load: (dir) => trainable.loadState(model.family.iterCheckpoint(dir, model.config)),
      },
      {
        ...(config.regime.keep_last_n_checkpoints === null ? {} : { keepLastN: config.regime.keep_last_n_checkpoints }),
        keepBestN: config.regime.keep_best_n_checkpoints,
      },
    );
    const tokenizerDir = join(checkpointDir, 'tokenizer');
    if (resolvePath(tokenizer.path) !== resolvePath(tokenizerDir)) {
      await copyTokenizerFiles(tokenizer.path, tokenizerDir);
    }
    await manager.writeMetadata({
      model_family: model.family.name,
      model_config: model.config,
      tokenizer: 'tokenizer',
      tokenizer_family: tokenizer.family,
      tokenizer_config: tokenizer.config,
    });

    const { lr, betas, eps, weight_decay: weightDecay } = config.optimizer.config;
    optimizer = new AdamW(trainable.variables(), { lr, betas, eps, weightDecay });
    const schedule = config.lr_scheduler;
    const lrSchedule = createLrSchedule(schedule.name, {
      baseLr: lr,
      numSteps: config.regime.num_steps,
      numWarmupSteps: schedule.config.num_warmup_steps,
      startLr: schedule.config.start_lr,
      finalLrScale: schedule.config.final_lr_scale,
    });
    const progress = recipeProgress(context);
    context.log(
      `Training a ${model.family.name} model of ${formatCount(trainable.numParameters())} parameters on ${device.name}: ` +
        `${formatCount(trainReader.batchesPerEpoch)} batches of ${config.dataset.batch_size} x ${config.dataset.max_seq_len} tokens per epoch of ${dataset.name}, ` +
        `${formatCount(config.regime.num_steps)} steps.`,
    );
    const regime = config.regime;
    const trainer = new Trainer({
      unit: new LMTrainUnit(trainable),
      dataReader: trainReader,
      optimizer,
      lrSchedule,
      numSteps: regime.num_steps,
      ...(regime.num_data_epochs === null ? {} : { numDataEpochs: regime.num_data_epochs }),
      gradAccumulation: config.trainer.grad_accumulation.num_batches,
      ...(config.trainer.max_grad_norm === null ? {} : { maxGradNorm: config.trainer.max_grad_norm }),
      ...(validReader === undefined
        ? {}
        : {
            validation: {
              evaluator: new Evaluator({
                unit: new LMEvalUnit(trainableLMLogits(trainable)),
                dataReader: validReader,
                ...(regime.max_num_valid_batches === null ? {} : { maxNumBatches: regime.max_num_valid_batches }),
              }),
              everyNSteps: regime.validate_every_n_steps,
              scoreMetric: 'nll',
              lowerIsBetter: true,
            },
          }),
      checkpoints: { manager, everyNSteps: regime.checkpoint_every_n_steps },
      publishMetricsEveryNSteps: regime.publish_metrics_every_n_steps,
      recorders: [new JsonlMetricRecorder(join(context.outputDir, 'metrics')), new LogMetricRecorder((line) => progress.log(line))],
      progress,
      ...(context.signal === undefined ? {} : { signal: context.signal }),
    });
    const result = await trainer.run();
    const stopped =
      result.stopReason === 'aborted' ? 'Stopped' : result.stopReason === 'num_data_epochs' ? 'Ran out of data epochs' : 'Finished';
    context.log(
      `${stopped} at step ${formatCount(result.step)} in ${formatDuration(performance.now() - started)}` +
        `${result.resumedFrom > 0 ? ` (resumed from step ${formatCount(result.resumedFrom)})` : ''}; checkpoints in ${checkpointDir}.`,
    );
  } finally {
    optimizer?.dispose();
    trainable.dispose();
  }
}
