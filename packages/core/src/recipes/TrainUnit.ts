import type * as tf from '@tensorflow/tfjs';

import type { MetricBag } from './MetricBag.js';

/** The loss of one batch, for the trainer. */
export interface UnitLoss {
  /**
   * The loss summed over the batch's targets (a scalar): not averaged, because the trainer
   * averages the gradients of all the batches of a step over their total number of targets
   * (fairseq2 normalizes the same way, so gradient accumulation does not weigh short batches more).
   */
  readonly loss: tf.Scalar;
  /** The number of targets the loss is summed over. */
  readonly numTargets: number;
}

/**
 * What a {@link Trainer} trains (fairseq2's `TrainUnit`): a model's variables, and how a batch
 * becomes `(loss, numTargets)`. The unit records its own metrics (`nll`, counts) in its bag; the
 * trainer adds the step's (`grad_norm`, `lr`, throughput) and publishes them together.
 *
 * ```ts
 * class MyTrainUnit implements TrainUnit<SequenceBatch> {
 *   readonly metricBag = new MetricBag();
 *   constructor(private readonly model: TrainableDecoder) {}
 *   get variables() { return this.model.variables(); }
 *   computeLoss(batch: SequenceBatch): UnitLoss {
 *     const loss = sequenceNll(this.model.forward(batch.inputs, batch.batchSize, batch.seqLen), batch.targets, batch.targetMask);
 *     this.metricBag.updateMean('nll', loss.dataSync()[0] / batch.numTargets, batch.numTargets);
 *     return { loss, numTargets: batch.numTargets };
 *   }
 *   numElements(batch: SequenceBatch) { return batch.numElements; }
 * }
 * ```
 */
export interface TrainUnit<TBatch> {
  /** The trainable variables by name (the optimizer updates them; checkpoints save them). */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  /** The unit's metrics. */
  readonly metricBag: MetricBag;
  /**
   * The loss of `batch`. Called inside the trainer's gradient scope: build the loss from
   * {@link variables} with TF.js ops; intermediate tensors are freed by the trainer. Reading the
   * loss's value (`dataSync`) to record metrics is allowed.
   */
  computeLoss(batch: TBatch): UnitLoss;
  /** The input tokens (or other elements) of `batch`, for throughput. */
  numElements(batch: TBatch): number;
}

/**
 * What an {@link Evaluator} runs (fairseq2's `EvalUnit`): a batch in, metrics recorded in the
 * unit's bag, nothing trained.
 */
export interface EvalUnit<TBatch> {
  /** The unit's metrics; the evaluator resets it before a pass and reads it after. */
  readonly metricBag: MetricBag;
  /** Records the metrics of `batch`. Called inside `tf.tidy`. */
  evaluate(batch: TBatch): void;
}
