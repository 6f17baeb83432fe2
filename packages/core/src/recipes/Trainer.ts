import * as tf from '@tensorflow/tfjs';

import type { DataReader, DataReaderState } from '../datasets/DataReader.js';
import { InvalidArgumentError } from '../errors/Fs2Error.js';
import type { AdamW } from '../nn/training/AdamW.js';
import { clipGradientNorm } from '../nn/training/clipGradientNorm.js';
import type { CheckpointManager } from './CheckpointManager.js';
import { TrainingDivergedError } from './errors.js';
import type { Evaluator } from './Evaluator.js';
import { MetricBag, type MetricBagState } from './MetricBag.js';
import type { MetricRecorder } from './MetricRecorder.js';
import type { TrainingProgress } from './TrainingProgress.js';
import type { TrainUnit } from './TrainUnit.js';

/** Validation during training. */
export interface TrainerValidation {
  readonly evaluator: Evaluator<unknown>;
  /** Validate after every N steps (and after the last). */
  readonly everyNSteps: number;
  /** The metric whose value scores a checkpoint (`nll`). */
  readonly scoreMetric: string;
  /** Whether a lower value of the metric is better (true for a loss): the score is then its negation. */
  readonly lowerIsBetter: boolean;
}

/** Options of {@link Trainer}. */
export interface TrainerOptions<TBatch> {
  readonly unit: TrainUnit<TBatch>;
  readonly dataReader: DataReader<TBatch>;
  /** The optimizer of `unit.variables`; its learning rate is set before every step. */
  readonly optimizer: AdamW;
  /** The learning rate of step `s` (1-based). */
  readonly lrSchedule: (step: number) => number;
  /** Stop after this many steps. */
  readonly numSteps: number;
  /** Stop after this many passes over the data, if that comes first. Default: no limit. */
  readonly numDataEpochs?: number;
  /** Batches whose gradients are summed into one step. Default: `1`. */
  readonly gradAccumulation?: number;
  /** Clip the gradients' global L2 norm to this. Default: no clipping. */
  readonly maxGradNorm?: number;
  readonly validation?: TrainerValidation;
  /** Save a checkpoint after every N steps (and after the last, and when stopped). */
  readonly checkpoints?: { readonly manager: CheckpointManager; readonly everyNSteps: number };
  /** Publish the training metrics after every N steps. Default: `10`. */
  readonly publishMetricsEveryNSteps?: number;
  readonly recorders?: readonly MetricRecorder[];
  readonly progress?: TrainingProgress;
  /** Stops the run after the current step (a checkpoint is saved first). */
  readonly signal?: AbortSignal;
  /** Milliseconds, for throughput. Default: `performance.now`. */
  readonly clock?: () => number;
}

/** Why a {@link Trainer} stopped. */
export type TrainerStopReason = 'num_steps' | 'num_data_epochs' | 'aborted';

/** What {@link Trainer.run} returns. */
export interface TrainResult {
  /** Steps done in total (the resumed ones included). */
  readonly step: number;
  /** The step the run resumed from, or `0`. */
  readonly resumedFrom: number;
  readonly stopReason: TrainerStopReason;
  /** The last published training metrics. */
  readonly lastMetrics: Readonly<Record<string, number>>;
  /** The last validation metrics, if the run validated. */
  readonly lastValidMetrics: Readonly<Record<string, number>> | undefined;
}

/** What a checkpoint's `trainer/state.json` holds for the trainer. */
interface TrainerCheckpointState {
  readonly data_reader: DataReaderState;
  readonly unit_metrics: MetricBagState;
  readonly trainer_metrics: MetricBagState;
  readonly elements: number;
}

/**
 * The training loop of fairseq2's `Trainer`: reads batches, sums the gradients of
 * `gradAccumulation` of them, averages them over their targets, clips their norm, lets the
 * optimizer step with the scheduled learning rate; publishes metrics, validates and saves
 * checkpoints at their intervals. A run whose checkpoint folder already holds checkpoints resumes
 * from the newest: weights, optimizer moments, data position and pending metrics are restored,
 * so it continues with exactly the updates it would have made (TF.js on one backend is
 * deterministic).
 */
export class Trainer<TBatch> {
  private readonly gradAccumulation: number;
  private readonly publishEvery: number;
  private readonly clock: () => number;
  private readonly metrics = new MetricBag();
  private step = 0;
  private elementsSincePublish = 0;
  private publishStartedAt = 0;
  private lastMetrics: Record<string, number> = {};
  private lastValidMetrics: Record<string, number> | undefined;
  private lastScore: number | undefined;
  private validatedAt: number | undefined;

  constructor(private readonly options: TrainerOptions<TBatch>) {
    const positive = (name: string, value: number | undefined, fallback: number): number => {
      const v = value ?? fallback;
      if (!Number.isSafeInteger(v) || v <= 0) {
        throw new InvalidArgumentError(name, `\`${name}\` must be a positive integer, but is ${v}.`);
      }
      return v;
    };
    positive('numSteps', options.numSteps, 1);
    this.gradAccumulation = positive('gradAccumulation', options.gradAccumulation, 1);
    this.publishEvery = positive('publishMetricsEveryNSteps', options.publishMetricsEveryNSteps, 10);
    if (options.numDataEpochs !== undefined) {
      positive('numDataEpochs', options.numDataEpochs, 1);
    }
    this.clock = options.clock ?? (() => performance.now());
  }

  /** Trains until `numSteps`, the data epochs run out, or the signal stops it. */
  async run(): Promise<TrainResult> {
    const { numSteps, progress, checkpoints, signal } = this.options;
    const resumedFrom = await this.resume();
    progress?.start('Training', numSteps, this.step);
    this.publishStartedAt = this.clock();
    let stopReason: TrainerStopReason = 'num_steps';
    let savedStep = resumedFrom;
    try {
      while (this.step < numSteps) {
        if (signal?.aborted === true) {
          stopReason = 'aborted';
          break;
        }
        const trained = this.trainStep();
        if (!trained) {
          stopReason = 'num_data_epochs';
          break;
        }
        const last = this.step === numSteps;
        if (this.step % this.publishEvery === 0 || last) {
          await this.publish();
        }
        const validation = this.options.validation;
        if (validation !== undefined && (this.step % validation.everyNSteps === 0 || last)) {
          await this.validate(validation);
        }
        if (checkpoints !== undefined && (this.step % checkpoints.everyNSteps === 0 || last)) {
          await this.save(checkpoints.manager);
          savedStep = this.step;
        }
      }
      if (stopReason !== 'num_steps') {
        if (!this.metrics.isEmpty || !this.options.unit.metricBag.isEmpty) {
          await this.publish();
        }
        if (checkpoints !== undefined && savedStep !== this.step && this.step > 0) {
          await this.save(checkpoints.manager);
        }
      }
    } finally {
      progress?.stop();
    }
    return { step: this.step, resumedFrom, stopReason, lastMetrics: this.lastMetrics, lastValidMetrics: this.lastValidMetrics };
  }

  /** Restores the newest checkpoint, if any; returns its step (0 without one). */
  private async resume(): Promise<number> {
    const manager = this.options.checkpoints?.manager;
    const step = manager === undefined ? undefined : await manager.lastStep();
    if (manager === undefined || step === undefined) {
      return 0;
    }
    const state = (await manager.load(step, this.options.optimizer)) as unknown as TrainerCheckpointState & { step: number };
    this.options.dataReader.restoreState(state.data_reader);
    this.options.unit.metricBag.restoreState(state.unit_metrics);
    this.metrics.restoreState(state.trainer_metrics);
    this.elementsSincePublish = state.elements;
    this.step = state.step;
    this.options.progress?.log(`Resuming from the checkpoint of step ${step} in ${manager.dir}.`);
    return step;
  }

  /** One optimizer step; `false` when the data ran out before it. */
  private trainStep(): boolean {
    const { unit, optimizer, lrSchedule, maxGradNorm, progress } = this.options;
    const variables = unit.variables;
    const nameOf = new Map([...variables].map(([name, v]) => [v.name, name]));
    const lr = lrSchedule(this.step + 1);
    optimizer.lr = lr;

    let summed: Map<string, tf.Tensor> | undefined;
    let numTargets = 0;
    let loss = 0;
    let elements = 0;
    try {
      for (let i = 0; i < this.gradAccumulation; i++) {
        const batch = this.nextBatch();
        if (batch === undefined) {
          if (i === 0) {
            return false;
          }
          break;
        }
        elements += unit.numElements(batch);
        const { value, grads } = tf.variableGrads(() => {
          const result = unit.computeLoss(batch);
          numTargets += result.numTargets;
          return result.loss;
        }, [...variables.values()]);
        loss += value.dataSync()[0] as number;
        value.dispose();
        summed = accumulate(summed, grads, nameOf);
      }
      if (!Number.isFinite(loss)) {
        throw new TrainingDivergedError(this.step + 1, 'loss');
      }
      const averaged = new Map<string, tf.Tensor>();
      for (const [name, gradient] of summed ?? []) {
        averaged.set(name, numTargets > 0 ? tf.div(gradient, numTargets) : tf.clone(gradient));
      }
      const clipped = clipGradientNorm(averaged, maxGradNorm);
      tf.dispose([...averaged.values()]);
      try {
        if (!Number.isFinite(clipped.norm)) {
          throw new TrainingDivergedError(this.step + 1, 'gradient norm');
        }
        optimizer.step(clipped.gradients);
      } finally {
        tf.dispose([...clipped.gradients.values()]);
      }
      this.step += 1;
      this.metrics.updateMean('grad_norm', clipped.norm);
      this.metrics.set('lr', lr);
      this.metrics.set('data_epoch', this.options.dataReader.epoch);
      this.elementsSincePublish += elements;
      progress?.update(this.step, {
        ...(numTargets > 0 ? { loss: loss / numTargets } : {}),
        tokensPerSecond: this.throughput(),
      });
      return true;
    } finally {
      tf.dispose([...(summed?.values() ?? [])]);
    }
  }

  private nextBatch(): TBatch | undefined {
    const reader = this.options.dataReader;
    let batch = reader.next();
    if (batch === undefined) {
      const limit = this.options.numDataEpochs;
      if (limit !== undefined && reader.epoch + 1 >= limit) {
        return undefined;
      }
      reader.nextEpoch();
      batch = reader.next();
      if (batch === undefined) {
        throw new InvalidArgumentError('dataReader', 'The training data reader has no batches: its split is empty or smaller than one batch.');
      }
    }
    return batch;
  }

  private throughput(): number {
    const seconds = (this.clock() - this.publishStartedAt) / 1000;
    return seconds > 0 ? this.elementsSincePublish / seconds : 0;
  }

  private async publish(): Promise<void> {
    const values = { ...this.options.unit.metricBag.values(), ...this.metrics.values(), elements_per_second: this.throughput() };
    this.lastMetrics = values;
    await this.record('train', values);
    this.options.unit.metricBag.reset();
    this.metrics.reset();
    this.elementsSincePublish = 0;
    this.publishStartedAt = this.clock();
  }

  private async validate(validation: TrainerValidation): Promise<void> {
    const values = validation.evaluator.run();
    this.lastValidMetrics = values;
    const metric = values[validation.scoreMetric];
    this.lastScore = metric === undefined ? undefined : validation.lowerIsBetter ? -metric : metric;
    this.validatedAt = this.step;
    await this.record('valid', values);
  }

  private async record(section: string, values: Readonly<Record<string, number>>): Promise<void> {
    for (const recorder of this.options.recorders ?? []) {
      await recorder.record(section, this.step, values);
    }
  }

  private async save(manager: CheckpointManager): Promise<void> {
    const state: TrainerCheckpointState = {
      data_reader: this.options.dataReader.state(),
      unit_metrics: this.options.unit.metricBag.state(),
      trainer_metrics: this.metrics.state(),
      elements: this.elementsSincePublish,
    };
    const score = this.validatedAt === this.step ? this.lastScore : undefined;
    await manager.save(this.step, this.options.optimizer, state as unknown as Readonly<Record<string, unknown>>, score);
  }
}

/** `summed + grads` by parameter name (the new gradients are disposed once added). */
function accumulate(
  summed: Map<string, tf.Tensor> | undefined,
  grads: tf.NamedTensorMap,
  nameOf: ReadonlyMap<string, string>,
): Map<string, tf.Tensor> {
  const result = summed ?? new Map<string, tf.Tensor>();
  for (const [variableName, gradient] of Object.entries(grads)) {
    const name = nameOf.get(variableName) ?? variableName;
    const current = result.get(name);
    if (current === undefined) {
      result.set(name, gradient);
    } else {
      result.set(name, tf.add(current, gradient));
      current.dispose();
      gradient.dispose();
    }
  }
  return result;
}
