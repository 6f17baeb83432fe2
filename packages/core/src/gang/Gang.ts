import { InvalidArgumentError } from '../errors/Fs2Error.js';

/**
 * An element-wise reduction of {@link Gang.allReduce}, as fairseq2's `ReduceOperation`
 * (`SUM, MEAN, PRODUCT, MIN, MAX`).
 */
export type ReduceOperation = 'sum' | 'mean' | 'product' | 'min' | 'max';

/** The reduce operations, in the order of fairseq2's `ReduceOperation` enum. */
export const REDUCE_OPERATIONS: readonly ReduceOperation[] = ['sum', 'mean', 'product', 'min', 'max'];

/**
 * A set of ranks that work together through collectives: fairseq2's `Gang`, on `Float32Array`s.
 *
 * Collectives are **synchronous**: a rank blocks until every rank of the gang has arrived (a
 * {@link ThreadGang} waits with `Atomics.wait` inside its worker thread), so a tensor-parallel forward
 * pass can call them from inside synchronous TF.js code such as `tf.tidy()`. Every rank must call the
 * same collectives, with the same sizes, in the same order; a thread gang checks this and fails with
 * a `mismatch` {@link GangError} otherwise.
 *
 * Every rank of a gang computes a reduction in the same order, so all ranks get bit-identical results.
 */
export interface Gang {
  /** The rank of this process or thread in the gang, in `[0, size)`. */
  readonly rank: number;
  /** The number of ranks in the gang. */
  readonly size: number;

  /**
   * Creates a sub-gang of the ranks `ranks` (ranks of this gang; the new gang's rank `i` is
   * `ranks[i]`). As in fairseq2, this is a collective: every rank of this gang calls it with the same
   * `ranks`, and a rank that is not in `ranks` gets `undefined`.
   *
   * @throws InvalidArgumentError when `ranks` is empty, has duplicates, or names a rank outside
   *   `[0, size)`.
   */
  createGang(ranks: readonly number[]): Gang | undefined;

  /** Blocks until every rank of the gang has called `barrier()`. */
  barrier(): void;

  /**
   * Reduces `data` element-wise across the gang, **in place** (as fairseq2's `all_reduce`): on return,
   * `data` holds the reduction of every rank's `data` on every rank. Every rank passes the same length.
   */
  allReduce(data: Float32Array, op: ReduceOperation): void;

  /**
   * Gathers every rank's `data` (the same length `n` on every rank) into `output`, rank-major: rank
   * `r`'s values land at `[r * n, (r + 1) * n)`, as fairseq2's `all_gather` into a `[size, ...shape]`
   * tensor. `output` is allocated when omitted; when given, it must have `size * n` elements.
   *
   * @returns `output`.
   */
  allGather(data: Float32Array, output?: Float32Array): Float32Array;

  /**
   * Copies `data` of rank `sourceRank` (default 0) into `data` of every other rank, **in place** (as
   * fairseq2's `broadcast`). Every rank passes the same length.
   */
  broadcast(data: Float32Array, sourceRank?: number): void;
}

/** Checks the `ranks` argument of {@link Gang.createGang} against a gang of `size` ranks. */
export function checkSubGangRanks(ranks: readonly number[], size: number): void {
  if (ranks.length === 0) {
    throw new InvalidArgumentError('ranks', '`ranks` must name at least one rank, but is empty.');
  }
  ranks.forEach((rank, index) => {
    if (!Number.isInteger(rank) || rank < 0 || rank >= size) {
      throw new InvalidArgumentError(
        'ranks',
        `The rank at index ${index} of \`ranks\` must be an integer greater than or equal to 0 and less than the size of the gang (${size}), but is ${rank} instead.`,
      );
    }
  });
  if (new Set(ranks).size !== ranks.length) {
    throw new InvalidArgumentError('ranks', `The ranks in \`ranks\` must be unique, but are [${ranks.join(', ')}].`);
  }
}

/** Checks the `op` argument of {@link Gang.allReduce}; returns its index in {@link REDUCE_OPERATIONS}. */
export function checkReduceOperation(op: ReduceOperation): number {
  const index = REDUCE_OPERATIONS.indexOf(op);
  if (index < 0) {
    throw new InvalidArgumentError(
      'op',
      `\`op\` must be one of ${REDUCE_OPERATIONS.map((o) => `'${o}'`).join(', ')}, but is ${JSON.stringify(op)} instead.`,
    );
  }
  return index;
}

/** Checks the `sourceRank` argument of {@link Gang.broadcast} against a gang of `size` ranks. */
export function checkSourceRank(sourceRank: number, size: number): void {
  if (!Number.isInteger(sourceRank) || sourceRank < 0 || sourceRank >= size) {
    throw new InvalidArgumentError(
      'sourceRank',
      `\`sourceRank\` must be an integer greater than or equal to 0 and less than the size of the gang (${size}), but is ${sourceRank} instead.`,
    );
  }
}

/** Checks the `output` argument of {@link Gang.allGather}, or allocates it. */
export function allGatherOutput(data: Float32Array, size: number, output: Float32Array | undefined): Float32Array {
  const expected = data.length * size;
  if (output === undefined) {
    return new Float32Array(expected);
  }
  if (output.length !== expected) {
    throw new InvalidArgumentError(
      'output',
      `\`output\` must have ${expected} elements (the gang size ${size} times the ${data.length} elements of \`data\`), but has ${output.length} instead.`,
    );
  }
  return output;
}
