import * as tf from '@tensorflow/tfjs';

import { InvalidArgumentError } from '../../errors/Fs2Error.js';
import type { Gang } from '../../gang/Gang.js';
import { allGatherTensor } from '../../gang/tensorCollectives.js';
import { Linear, type LinearOptions, type LinearOutput } from '../Linear.js';
import { checkTensorParallelSplit } from './errors.js';

/** Options of {@link ColumnShardedLinear}. */
export interface ColumnShardedLinearOptions extends LinearOptions {
  /**
   * All-gather the ranks' output columns, so that every rank gets the full `[n, outDim]` (fairseq2's
   * `gather_output`; what an output projection over the vocabulary needs). Only with a single output
   * block. Default: `true`.
   */
  readonly gatherOutput?: boolean;
}

/**
 * A column-parallel `y = x W (+ b)` (fairseq2's `ColumnShardedLinear`): the output features are
 * split among the ranks of `gang`, rank `r` holding the `r`-th equal part of every output block's
 * columns (`<name>.weight` `[inDim, outDim / size]`, `<name>.bias` `[outDim / size]`). Every rank
 * takes the whole input. With `gatherOutput` the parts are all-gathered into the full output;
 * without, each rank keeps its columns (the q/k/v or gate/inner projections feeding a row-parallel
 * one).
 *
 * Shard dims: weight 1 (fs2 layout `[in, out]`; PyTorch's dim 0), bias 0.
 */
export class ColumnShardedLinear extends Linear {
  /** The full output width, over every rank. */
  readonly fullOutDim: number;
  readonly gatherOutput: boolean;

  /**
   * @param outDim The full number of output features (the sum of `options.outputs`' full widths).
   * @throws TensorParallelSplitError when the gang's size does not divide an output block.
   */
  constructor(
    name: string,
    inDim: number,
    outDim: number,
    readonly gang: Gang,
    options: ColumnShardedLinearOptions = {},
  ) {
    const outputs: readonly LinearOutput[] = options.outputs ?? [{ name, dim: outDim }];
    checkTensorParallelSplit(
      `The projection \`${name}\``,
      gang.size,
      outputs.map((o) => ({ label: outputs.length === 1 ? 'its output width' : `the output width of \`${o.name}\``, value: o.dim })),
    );
    const gatherOutput = options.gatherOutput ?? true;
    if (gatherOutput && outputs.length > 1) {
      throw new InvalidArgumentError(
        'gatherOutput',
        `The column-sharded projection ${name} fuses ${outputs.length} outputs, so its output cannot be gathered: gather each output separately.`,
      );
    }
    const local = outputs.map((o) => ({ ...o, dim: o.dim / gang.size }));
    super(name, inDim, outDim / gang.size, {
      ...(options.bias === undefined ? {} : { bias: options.bias }),
      outputs: local,
    });
    this.fullOutDim = outDim;
    this.gatherOutput = gatherOutput;
  }

  /** `x` `[n, in]` → `[n, out]` with `gatherOutput`, else this rank's columns `[n, out / size]`. */
  override apply(x: tf.Tensor2D): tf.Tensor2D {
    if (!this.gatherOutput || this.gang.size === 1) {
      return super.apply(x);
    }
    return tf.tidy(() => allGatherTensor(this.gang, super.apply(x), -1) as tf.Tensor2D);
  }

  /** fs2 parameter name → shard dim. */
  shardDims(): Map<string, number> {
    return new Map(this.outputs.flatMap((o) => [[`${o.name}.weight`, 1] as const, ...(this.hasBias ? [[`${o.name}.bias`, 0] as const] : [])]));
  }
}
