import { InvalidArgumentError } from '../errors/Fs2Error.js';
import {
  allGatherOutput,
  checkReduceOperation,
  checkSubGangRanks,
  type Gang,
  type ReduceOperation,
} from './Gang.js';

/** Options of {@link FakeGang}. */
export interface FakeGangOptions {
  /** The simulated rank of this process. Default 0. */
  readonly rank?: number;
  /** The simulated number of ranks. Default 1. */
  readonly size?: number;
}

/**
 * A gang without peers: fairseq2's `FakeGang`. With `size` 1 (the default) every collective is the
 * identity; that is what a single-process model runs with.
 *
 * With a larger simulated `size`, it behaves as if `size` ranks each held this rank's data:
 * - `allReduce` `'sum'` multiplies by `size` and `'product'` raises to the power `size` (as
 *   fairseq2); `'mean'`, `'min'` and `'max'` leave the data unchanged (fairseq2 leaves these
 *   unchanged too, without documenting it);
 * - `allGather` copies the input into every rank's slot of the output;
 * - `broadcast` requires `sourceRank === rank` (fairseq2 raises otherwise) and changes nothing;
 * - `barrier` returns at once;
 * - `createGang(ranks)` returns a `FakeGang` whose rank is this rank's index in `ranks` and whose
 *   size is `ranks.length`, or `undefined` when this rank is not in `ranks`.
 */
export class FakeGang implements Gang {
  readonly rank: number;
  readonly size: number;

  constructor(options: FakeGangOptions = {}) {
    const size = options.size ?? 1;
    const rank = options.rank ?? 0;
    if (!Number.isInteger(size) || size < 1) {
      throw new InvalidArgumentError('size', `\`size\` must be an integer greater than 0, but is ${size} instead.`);
    }
    if (!Number.isInteger(rank) || rank < 0 || rank >= size) {
      throw new InvalidArgumentError(
        'rank',
        `\`rank\` must be an integer greater than or equal to 0 and less than \`size\` (${size}), but is ${rank} instead.`,
      );
    }
    this.rank = rank;
    this.size = size;
  }

  createGang(ranks: readonly number[]): FakeGang | undefined {
    checkSubGangRanks(ranks, this.size);
    const index = ranks.indexOf(this.rank);
    return index < 0 ? undefined : new FakeGang({ rank: index, size: ranks.length });
  }

  barrier(): void {}

  allReduce(data: Float32Array, op: ReduceOperation): void {
    checkReduceOperation(op);
    if (this.size === 1) {
      return;
    }
    if (op === 'sum') {
      for (let i = 0; i < data.length; i++) {
        data[i] = data[i]! * this.size;
      }
    } else if (op === 'product') {
      for (let i = 0; i < data.length; i++) {
        data[i] = data[i]! ** this.size;
      }
    }
  }

  allGather(data: Float32Array, output?: Float32Array): Float32Array {
    const out = allGatherOutput(data, this.size, output);
    for (let r = 0; r < this.size; r++) {
      out.set(data, r * data.length);
    }
    return out;
  }

  broadcast(data: Float32Array, sourceRank = 0): void {
    void data;
    if (sourceRank !== this.rank) {
      throw new InvalidArgumentError(
        'sourceRank',
        `\`sourceRank\` of a fake gang must be its own rank (${this.rank}), but is ${sourceRank} instead.`,
      );
    }
  }
}
