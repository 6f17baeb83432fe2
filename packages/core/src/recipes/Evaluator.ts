import * as tf from '@tensorflow/tfjs';

import type { DataReader } from '../datasets/DataReader.js';
import type { EvalUnit } from './TrainUnit.js';

/** Options of {@link Evaluator}. */
export interface EvaluatorOptions<TBatch> {
  readonly unit: EvalUnit<TBatch>;
  /** The batches, from the start of epoch 0 every pass (an evaluation reader should not shuffle). */
  readonly dataReader: DataReader<TBatch>;
  /** Evaluate at most this many batches per pass. Default: all of one epoch. */
  readonly maxNumBatches?: number;
  /** Called after each batch with the number done and the number in the pass. */
  readonly onBatch?: (done: number, total: number) => void;
}

/**
 * Runs an {@link EvalUnit} over one epoch of a reader and returns its metrics (fairseq2's
 * `Evaluator`); the trainer uses one for validation, the `eval` recipe on its own.
 */
export class Evaluator<TBatch> {
  constructor(private readonly options: EvaluatorOptions<TBatch>) {}

  /** The number of batches one pass evaluates. */
  get numBatches(): number {
    const all = this.options.dataReader.batchesPerEpoch;
    return this.options.maxNumBatches === undefined ? all : Math.min(all, this.options.maxNumBatches);
  }

  /** One pass from the start of the data: the unit's metrics over it. */
  run(): Record<string, number> {
    const { unit, dataReader, onBatch } = this.options;
    unit.metricBag.reset();
    dataReader.restoreState({ epoch: 0, position: 0 });
    const total = this.numBatches;
    for (let done = 0; done < total; done++) {
      const batch = dataReader.next();
      if (batch === undefined) {
        break;
      }
      tf.tidy(() => unit.evaluate(batch));
      onBatch?.(done + 1, total);
    }
    return unit.metricBag.values();
  }
}
