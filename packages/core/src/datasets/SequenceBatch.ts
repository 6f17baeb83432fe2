/**
 * A batch of token sequences for a causal language model (fairseq2's `SequenceBatch` with its
 * `target_mask`): `batchSize` rows of `seqLen` positions, row-major. At each position the model
 * reads `inputs` and is trained to predict `targets` (the next token); `targetMask` says which
 * positions count (1) and which do not (0: padding, prompt tokens of an instruction).
 */
export interface SequenceBatch {
  /** Rows. */
  readonly batchSize: number;
  /** Positions per row. */
  readonly seqLen: number;
  /** Input token ids, `[batchSize * seqLen]`. */
  readonly inputs: Int32Array;
  /** Target token ids (the inputs shifted by one), `[batchSize * seqLen]`. */
  readonly targets: Int32Array;
  /** 1 where the target counts toward the loss, 0 elsewhere, `[batchSize * seqLen]`. */
  readonly targetMask: Float32Array;
  /** The number of positions whose target counts (the sum of `targetMask`). */
  readonly numTargets: number;
  /** The number of input tokens that are not padding. */
  readonly numElements: number;
}

/** One tokenized example before batching: its tokens and which of them are targets. */
export interface TokenizedExample {
  /** The token ids, special tokens included. */
  readonly tokens: Int32Array;
  /**
   * 1 for tokens the model is trained to predict, 0 for the others (an instruction's prompt).
   * Default: every token but the first (which nothing predicts).
   */
  readonly targetMask?: Uint8Array;
}
