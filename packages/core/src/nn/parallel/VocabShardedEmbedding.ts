import * as tf from '@tensorflow/tfjs';

import type { Gang } from '../../gang/Gang.js';
import { allGatherTensor, allReduceTensor } from '../../gang/tensorCollectives.js';
import { Embedding, type EmbeddingOptions } from '../Embedding.js';
import { checkTensorParallelSplit } from './errors.js';

/**
 * An embedding table split along the vocabulary (fairseq2's `VocabShardedEmbedding`, LLaMA 3's and
 * Qwen's layout): rank `r` of `gang` holds the rows of tokens `[r * vocab / size, (r + 1) * vocab /
 * size)` (`<name>.weight` `[vocab / size, dim]`). A lookup gives zero rows for tokens held
 * elsewhere, and the ranks' rows are all-reduced: every rank gets every token's full embedding.
 *
 * With `tiedProjection`, the same rows also serve as a vocabulary-parallel output projection:
 * `project()` computes this rank's logits `[n, vocab / size]` and all-gathers them into the full
 * `[n, vocab]`. fairseq2 refuses tied embeddings under tensor parallelism; this is what makes them
 * work (Qwen 2.5 0.5B-3B, Llama 3.2 1B/3B tie them).
 *
 * `vocabSize` is this rank's row count; `fullVocabSize` the whole vocabulary. Shard dim: 0.
 */
export class VocabShardedEmbedding extends Embedding {
  readonly fullVocabSize: number;
  /** The first token id this rank holds. */
  readonly vocabStart: number;

  /**
   * @param vocabSize The full vocabulary.
   * @throws TensorParallelSplitError when the gang's size does not divide `vocabSize`.
   */
  constructor(
    name: string,
    vocabSize: number,
    dim: number,
    readonly gang: Gang,
    options: EmbeddingOptions = {},
  ) {
    checkTensorParallelSplit(`The embedding \`${name}\``, gang.size, [{ label: 'its vocabulary', value: vocabSize }]);
    super(name, vocabSize / gang.size, dim, options);
    this.fullVocabSize = vocabSize;
    this.vocabStart = gang.rank * this.vocabSize;
  }

  /** Token ids `[n]` (int32, of the full vocabulary) → embeddings `[n, dim]`. */
  override apply(ids: tf.Tensor1D): tf.Tensor2D {
    if (this.gang.size === 1) {
      return super.apply(ids);
    }
    return tf.tidy(() => {
      const local = tf.sub(ids, tf.scalar(this.vocabStart, 'int32'));
      const held = tf.logicalAnd(tf.greaterEqual(local, 0), tf.less(local, this.vocabSize));
      const rows = super.apply(tf.where(held, local, tf.zerosLike(local)) as tf.Tensor1D);
      const masked = tf.mul(rows, tf.expandDims(tf.cast(held, 'float32'), 1)) as tf.Tensor2D;
      return allReduceTensor(this.gang, masked) as tf.Tensor2D;
    });
  }

  /** Hidden states `[n, dim]` → the full logits `[n, fullVocabSize]` (tied only). */
  override project(x: tf.Tensor2D): tf.Tensor2D {
    if (this.gang.size === 1) {
      return super.project(x);
    }
    return tf.tidy(() => allGatherTensor(this.gang, super.project(x), -1) as tf.Tensor2D);
  }

  /** fs2 parameter name → shard dim. */
  shardDims(): Map<string, number> {
    return new Map([[`${this.name}.weight`, 0]]);
  }
}
