import * as tf from '@tensorflow/tfjs';

import type { Gang } from '../../gang/Gang.js';
import { allReduceTensor } from '../../gang/tensorCollectives.js';
import { Linear } from '../Linear.js';
import { Module, Parameter, type ParameterSlot } from '../Module.js';
import { checkTensorParallelSplit } from './errors.js';

/** Options of {@link RowShardedLinear}. */
export interface RowShardedLinearOptions {
  /** Whether the projection has a bias (replicated, added once after the reduction). Default: `false`. */
  readonly bias?: boolean;
  /**
   * All-reduce the ranks' partial products into the full output (fairseq2's `reduce_output`).
   * Default: `true`.
   */
  readonly reduceOutput?: boolean;
}

/**
 * A row-parallel `y = x W (+ b)` (fairseq2's `RowShardedLinear` with `scatter_input=False`): the
 * input features are split among the ranks of `gang`, rank `r` holding the `r`-th equal part of
 * the weight's rows (`<name>.weight` `[inDim / size, outDim]` in fs2 layout) and taking the
 * matching part of the input, `[n, inDim / size]` (what a column-parallel projection before it
 * leaves on each rank). The partial products are all-reduced (summed in rank order, so every rank
 * gets the same bits), then the replicated bias `<name>.bias` `[outDim]` is added once.
 *
 * Shard dims: weight 0 (fs2 layout `[in, out]`; PyTorch's dim 1); the bias is replicated.
 */
export class RowShardedLinear extends Module {
  /** The full input width, over every rank. */
  readonly fullInDim: number;
  readonly inDim: number;
  readonly outDim: number;
  readonly reduceOutput: boolean;
  private readonly linear: Linear;
  private readonly bias: Parameter | undefined;

  /**
   * @param inDim The full number of input features.
   * @throws TensorParallelSplitError when the gang's size does not divide `inDim`.
   */
  constructor(
    name: string,
    inDim: number,
    outDim: number,
    readonly gang: Gang,
    options: RowShardedLinearOptions = {},
  ) {
    super(name);
    checkTensorParallelSplit(`The projection \`${name}\``, gang.size, [{ label: 'its input width', value: inDim }]);
    this.fullInDim = inDim;
    this.inDim = inDim / gang.size;
    this.outDim = outDim;
    this.reduceOutput = options.reduceOutput ?? true;
    this.linear = new Linear(name, this.inDim, outDim);
    this.bias = options.bias === true ? new Parameter(`${name}.bias`, [outDim]) : undefined;
  }

  protected override ownSlots(): ParameterSlot[] {
    return this.bias === undefined ? [] : [this.bias];
  }

  protected override children(): readonly Module[] {
    return [this.linear];
  }

  protected override unloadOwn(): void {
    this.bias?.unload();
  }

  /** This rank's input columns `[n, inDim / size]` → the full output `[n, outDim]`. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let y = this.linear.apply(x);
      if (this.reduceOutput && this.gang.size > 1) {
        y = allReduceTensor(this.gang, y) as tf.Tensor2D;
      }
      return this.bias === undefined ? y : tf.add(y, this.bias.tensor());
    });
  }

  /** fs2 parameter name → shard dim. */
  shardDims(): Map<string, number> {
    return new Map([[`${this.name}.weight`, 0]]);
  }
}
