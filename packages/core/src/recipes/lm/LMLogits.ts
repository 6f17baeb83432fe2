import * as tf from '@tensorflow/tfjs';

import type { TrainableDecoder } from '../../nn/training/TrainableDecoder.js';
import type { TransformerDecoderModel } from '../../nn/TransformerDecoderModel.js';

/**
 * A causal language model as the LM units see it: logits `[batchSize * seqLen, vocab]` for a
 * batch of token rows (row-major). The trainable decoder and the inference model both are one.
 */
export interface LMLogits {
  logits(inputs: Int32Array, batchSize: number, seqLen: number): tf.Tensor2D;
}

/** The {@link LMLogits} of a trainable decoder (differentiable). */
export function trainableLMLogits(model: TrainableDecoder): LMLogits {
  return { logits: (inputs, batchSize, seqLen) => model.forward(inputs, batchSize, seqLen) };
}

/** The {@link LMLogits} of an inference model (evaluation only). */
export function decoderLMLogits(model: TransformerDecoderModel): LMLogits {
  return {
    logits: (inputs, batchSize, seqLen) => {
      const rows = Array.from({ length: batchSize }, (_, b) => inputs.subarray(b * seqLen, (b + 1) * seqLen));
      const logits = model.forward(rows);
      return tf.reshape(logits, [batchSize * seqLen, model.config.vocabSize]);
    },
  };
}
