import * as tf from '@tensorflow/tfjs';

import type { Gang } from '../../gang/Gang.js';
import { allGatherTensor, allReduceTensor } from '../../gang/tensorCollectives.js';
import { Embedding, type EmbeddingOptions } from '../Embedding.js';
import { checkTensorParallelSplit } from './errors.js';

/**
 * An embedding table split along the model dim (fairseq2's `ShardedEmbedding`, the LLaMA 1 and 2
 * layout, `shard_embed_dim`): rank `r` of `gang` holds columns `[r * dim / size, (r + 1) * dim /
 * size)` of every row (`<name>.weight` `[vocab, dim / size]`). A lookup all-gathers the ranks'
 * columns into the full `[n, dim]`.
 *
 * With `tiedProjection`, `project()` multiplies this rank's columns of the hidden states by its
 * columns of the table and all-reduces the partial logits into the full `[n, vocab]`.
 *
 * `dim` is this rank's width; `fullDim` the model dim. Shard dim: 1.
 */
export class ShardedEmbedding extends Embedding {
  readonly fullDim: number;

  /**
   * @param dim The full model dim.
   * @throws TensorParallelSplitError when the gang's size does not divide `dim`.
   */
  constructor(
    name: string,
    vocabSize: number,
    dim: number,
    readonly gang: Gang,
    options: EmbeddingOptions = {},
  ) {
    checkTensorParallelSplit(`The embedding \`${name}\``, gang.size, [{ label: 'its model dim', value: dim }]);
    super(name, vocabSize, dim / gang.size, options);
    this.fullDim = dim;
  }

  /** Token ids `[n]` (int32) → embeddings `[n, fullDim]`. */
  override apply(ids: tf.Tensor1D): tf.Tensor2D {
    if (this.gang.size === 1) {
      return super.apply(ids);
    }
    return tf.tidy(() => allGatherTensor(this.gang, super.apply(ids), -1) as tf.Tensor2D);
  }

  /** Hidden states `[n, fullDim]` → logits `[n, vocab]` (tied only). */
  override project(x: tf.Tensor2D): tf.Tensor2D {
    if (this.gang.size === 1) {
      return super.project(x);
    }
    return tf.tidy(() => {
      const columns = tf.slice(x, [0, this.gang.rank * this.dim], [x.shape[0], this.dim]);
      return allReduceTensor(this.gang, super.project(columns)) as tf.Tensor2D;
    });
  }

  /** fs2 parameter name → shard dim. */
  shardDims(): Map<string, number> {
    return new Map([[`${this.name}.weight`, 1]]);
  }
}
