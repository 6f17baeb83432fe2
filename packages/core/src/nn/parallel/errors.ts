import { Fs2Error, type Fs2ErrorOptions } from '../../errors/Fs2Error.js';

/** One dimension of a model that a tensor-parallel split must divide evenly. */
export interface SplitProblem {
  /** What is split, as the message names it: a config field (`` `num_key_value_heads` ``) or a description. */
  readonly label: string;
  /** Its size. */
  readonly value: number;
}

/**
 * A model cannot be split over a tensor-parallel gang of the size asked for: some dimension that
 * the split divides among the ranks (heads, key/value heads, the feed-forward width, the vocabulary
 * or the model dim of a sharded embedding) is not a multiple of it. `problems` lists every such
 * dimension.
 */
export class TensorParallelSplitError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    /** What is split, as the message's subject: `The llama model`, ``The projection `final_proj` ``. */
    readonly subject: string,
    readonly tpSize: number,
    readonly problems: readonly SplitProblem[],
    options?: Fs2ErrorOptions,
  ) {
    super(
      `${subject} cannot be split over ${tpSize} tensor-parallel ranks: ${problems
        .map((p) => `${p.label} (${p.value}) is not a multiple of ${tpSize}`)
        .join('; ')}.`,
      options,
    );
  }
}

/**
 * Checks that `tpSize` divides every dimension of `dims`; throws one {@link TensorParallelSplitError}
 * naming all that it does not divide.
 */
export function checkTensorParallelSplit(subject: string, tpSize: number, dims: readonly SplitProblem[]): void {
  const problems = dims.filter((d) => d.value % tpSize !== 0);
  if (problems.length > 0) {
    throw new TensorParallelSplitError(subject, tpSize, problems);
  }
}
