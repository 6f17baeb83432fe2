import type * as tf from '@tensorflow/tfjs';

import type { SequenceBatch } from '../../datasets/SequenceBatch.js';
import { sequenceNll } from '../../nn/training/trainingOps.js';
import type { TrainableDecoder } from '../../nn/training/TrainableDecoder.js';
import { MetricBag } from '../MetricBag.js';
import type { EvalUnit, TrainUnit, UnitLoss } from '../TrainUnit.js';
import type { LMLogits } from './LMLogits.js';

/**
 * Adds the metrics of a language-model batch to `bag` (fairseq2's names): `nll` (nats per
 * target, weighted by targets), `num_examples`, `num_elements`, `num_target_elements`.
 */
export function recordLMBatch(bag: MetricBag, nllSum: number, batch: SequenceBatch): void {
  if (batch.numTargets > 0) {
    bag.updateMean('nll', nllSum / batch.numTargets, batch.numTargets);
  }
  bag.updateSum('num_examples', batch.batchSize);
  bag.updateSum('num_elements', batch.numElements);
  bag.updateSum('num_target_elements', batch.numTargets);
}

/** A bag that also reports `perplexity`, `exp(nll)`. */
export function createLMMetricBag(): MetricBag {
  const bag = new MetricBag();
  bag.derive('perplexity', (values) => (values['nll'] === undefined ? undefined : Math.exp(values['nll'])));
  return bag;
}

/** Trains a causal language model on {@link SequenceBatch}es with the summed next-token NLL. */
export class LMTrainUnit implements TrainUnit<SequenceBatch> {
  readonly metricBag = createLMMetricBag();

  constructor(readonly model: TrainableDecoder) {}

  get variables(): ReadonlyMap<string, tf.Variable> {
    return this.model.variables();
  }

  computeLoss(batch: SequenceBatch): UnitLoss {
    const logits = this.model.forward(batch.inputs, batch.batchSize, batch.seqLen);
    const loss = sequenceNll(logits, batch.targets, batch.targetMask);
    recordLMBatch(this.metricBag, loss.dataSync()[0] as number, batch);
    return { loss, numTargets: batch.numTargets };
  }

  numElements(batch: SequenceBatch): number {
    return batch.numElements;
  }
}

/** Evaluates a causal language model: NLL and perplexity over {@link SequenceBatch}es. */
export class LMEvalUnit implements EvalUnit<SequenceBatch> {
  readonly metricBag = createLMMetricBag();

  constructor(private readonly model: LMLogits) {}

  evaluate(batch: SequenceBatch): void {
    const loss = sequenceNll(this.model.logits(batch.inputs, batch.batchSize, batch.seqLen), batch.targets, batch.targetMask);
    recordLMBatch(this.metricBag, loss.dataSync()[0] as number, batch);
  }
}
