import { Fs2Error, type Fs2ErrorOptions } from '../../errors/Fs2Error.js';

/**
 * The ranks of a tensor-parallel model chose different tokens at the same step of a generation: their
 * logits were not bit-identical (a backend whose kernels are not deterministic). The generation
 * cannot go on, since the ranks would feed different tokens into the same collectives.
 */
export class TensorParallelDivergenceError extends Fs2Error {
  override readonly category = 'internal' as const;

  constructor(
    readonly rank: number,
    readonly step: number,
    readonly token: number,
    readonly rank0Token: number,
    options?: Fs2ErrorOptions,
  ) {
    super(
      `Rank ${rank} of the tensor-parallel model chose token ${token} at step ${step} of a generation, but rank 0 chose ${rank0Token}: the ranks' logits differ.`,
      options,
    );
  }
}

/** A tensor-parallel worker cannot run the model it was asked for. */
export class TensorParallelWorkerError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly family: string,
    message: string,
    options?: Fs2ErrorOptions,
  ) {
    super(message, options);
  }
}
