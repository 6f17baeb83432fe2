/** Where a {@link DataReader} is: enough to continue exactly there after a restart. */
export interface DataReaderState {
  /** The epoch (0-based): each epoch has its own shuffle. */
  readonly epoch: number;
  /** The number of batches of the epoch already read. */
  readonly position: number;
}

/**
 * Reads a split in batches, epoch after epoch (fairseq2's `DataReader`). Deterministic: the order
 * of an epoch depends only on the reader's seed and the epoch, so a training run resumed from
 * {@link DataReader.state} sees exactly the batches it would have seen.
 */
export interface DataReader<T> {
  /** The current epoch (0-based). */
  readonly epoch: number;
  /** The number of batches in one epoch. */
  readonly batchesPerEpoch: number;
  /** The next batch of the current epoch, or `undefined` at its end. */
  next(): T | undefined;
  /** Starts the next epoch (reshuffled when the reader shuffles). */
  nextEpoch(): void;
  /** Where the reader is. */
  state(): DataReaderState;
  /** Moves to a state {@link state} returned (from this reader or one built the same way). */
  restoreState(state: DataReaderState): void;
}
